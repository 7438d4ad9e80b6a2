//! A real Kubernetes API server for CustomResourceDefinitions (tests/api_server/: etcd and
//! apiextensions-apiserver, built from Debian's sources), started once per test binary.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A running API server and the admin kubeconfig that reaches it.
pub struct ApiServer {
    pub kubeconfig: PathBuf,
    _launcher: Mutex<Child>,
}

static API_SERVER: OnceLock<ApiServer> = OnceLock::new();

/// The shared API server: built on first use (a no-op once built), then started for this
/// test binary; it stops when the binary exits.
pub fn api_server() -> &'static ApiServer {
    API_SERVER.get_or_init(|| {
        let root = super::repo_root();
        let build = Command::new("python3").arg(root.join("tests/api_server/build.py")).status().expect("run tests/api_server/build.py");
        assert!(build.success(), "tests/api_server/build.py failed");
        let mut launcher = Command::new("python3")
            .arg(root.join("tests/api_server/launcher.py"))
            .args(["--parent-pid", &std::process::id().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/api_server/launcher.py");
        let stdout = launcher.stdout.take().expect("launcher stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the launcher's READY line");
        let kubeconfig = line.trim().strip_prefix("READY ").unwrap_or_else(|| panic!("the API server launcher said {line:?}"));
        ApiServer { kubeconfig: PathBuf::from(kubeconfig), _launcher: Mutex::new(launcher) }
    })
}
