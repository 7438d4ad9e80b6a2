//! A real Kubernetes API server for CustomResourceDefinitions (tests/api_server/: etcd and
//! apiextensions-apiserver, built from Debian's sources), started once per test binary.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

use super::cluster::{self, Operator};

/// A running API server and the admin kubeconfig that reaches it.
pub struct ApiServer {
    pub kubeconfig: PathBuf,
    /// The operator's credentials (user `frugal-operator`): the server audits its requests.
    pub operator_kubeconfig: PathBuf,
    /// The requests of `operator_kubeconfig`'s user, one JSON audit event per line.
    pub audit_log: PathBuf,
    launcher: Mutex<Child>,
}

static API_SERVER: OnceLock<ApiServer> = OnceLock::new();

/// The shared API server: built on first use (a no-op once built), then started for this
/// test binary; it stops when the binary exits.
pub fn api_server() -> &'static ApiServer {
    API_SERVER.get_or_init(|| {
        let root = super::repo_root();
        let build = Command::new("python3").arg(root.join("tests/api_server/build.py")).status().expect("run tests/api_server/build.py");
        assert!(build.success(), "tests/api_server/build.py failed");
        let mut command = Command::new("python3");
        command.arg(root.join("tests/api_server/launcher.py")).args(["--parent-pid", &std::process::id().to_string()]);
        let (launcher, kubeconfig) = super::start_launcher(&mut command, "the API server launcher");
        let kubeconfig = PathBuf::from(kubeconfig);
        let directory = kubeconfig.parent().expect("the kubeconfig's directory").to_path_buf();
        ApiServer {
            kubeconfig,
            operator_kubeconfig: directory.join("operator.kubeconfig"),
            audit_log: directory.join("audit.log"),
            launcher: Mutex::new(launcher),
        }
    })
}

impl ApiServer {
    /// An outage of the API server (launcher.py's SIGUSR1: down for 10 s, etcd compacted
    /// meanwhile); returns once it stopped answering and serves every custom resource again.
    /// Every test of the binary sees it: only for a test binary of its own.
    pub async fn outage(&self) {
        let pid = self.launcher.lock().expect("the launcher's lock").id();
        let signal = Command::new("kill").args(["-USR1", &pid.to_string()]).status().expect("run kill");
        assert!(signal.success(), "kill -USR1 {pid} (the API server launcher)");
        let client = cluster::client_from(&self.kubeconfig).await;
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for (answering, within) in [(false, Duration::from_secs(30)), (true, Duration::from_secs(150))] {
            let deadline = Instant::now() + within;
            while crds.list(&ListParams::default().limit(1)).await.is_ok() != answering {
                assert!(
                    Instant::now() < deadline,
                    "the API server did not {} within {within:?}",
                    if answering { "come back" } else { "stop" }
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        // A restarted server answers 404 for a custom resource until its informer of CRDs
        // has synced; kube-apiserver is not ready until then (its readyz check
        // crd-informer-synced), which keeps it out of a load balancer. Wait as one would.
        let deadline = Instant::now() + Duration::from_secs(60);
        for crd in crds.list(&ListParams::default()).await.expect("list CRDs").items {
            let spec = &crd.spec;
            for version in spec.versions.iter().filter(|v| v.served) {
                let gvk = GroupVersionKind::gvk(&spec.group, &version.name, &spec.names.kind);
                let resources: Api<DynamicObject> =
                    Api::all_with(client.clone(), &ApiResource::from_gvk_with_plural(&gvk, &spec.names.plural));
                while let Err(error) = resources.list(&ListParams::default().limit(1)).await {
                    assert!(Instant::now() < deadline, "{} not served 60s after the API server came back: {error}", spec.names.plural);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// A client with admin rights, once the CRD (crds/) and the stand-ins for Leases and
    /// Events (tests/api_server/core-stand-ins.yaml) are installed.
    pub async fn client(&self, field_manager: &str) -> Client {
        let client = cluster::client_from(&self.kubeconfig).await;
        cluster::install_crd(&client, field_manager).await;
        let stand_ins = super::repo_root().join("tests/api_server/core-stand-ins.yaml");
        cluster::apply_crds(&client, &stand_ins, field_manager).await;
        client
    }

    /// `frugal run` as user `frugal-operator` (this server has no ServiceAccounts; the
    /// user's group is system:masters, and `rbac::check_operator_requests` holds what it did
    /// against deploy/'s RBAC) for the policies labelled with `shard`, without leader
    /// election.
    pub async fn operator(&self, test_name: &str, shard: &str) -> Operator {
        self.operator_with(test_name, shard, &["--leader-election=false".to_string()], &[]).await
    }

    /// The same with extra flags and environment variables.
    pub async fn operator_with(&self, test_name: &str, shard: &str, args: &[String], envs: &[(&str, &str)]) -> Operator {
        Operator::spawn(test_name, &self.operator_kubeconfig, shard, args, envs).await
    }
}
