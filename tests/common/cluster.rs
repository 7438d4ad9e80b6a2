//! The operator against a Kubernetes API server: the CRD from crds/, `frugal run` as a child
//! process, cleanup of the test's policies, and status helpers. Shared by the end-to-end
//! suite (tests/e2e.rs, a real cluster) and tests/api_server.rs (the CRD API server of
//! tests/api_server/).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use frugal_operator::api::CostPolicy;
use frugal_operator::api::conditions;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions as wait_conditions};
use kube::{Client, Config};
use serde::Deserialize;
use serde_json::json;

/// How long an operator gets to converge a policy.
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(120);
pub const POLL: Duration = Duration::from_secs(1);
/// Label that shards policies between the operators of concurrently running tests.
pub const SHARD_LABEL: &str = "e2e.frugal.dev/shard";

/// A client for the cluster of the kubeconfig file at `path` (its current context).
pub async fn client_from(path: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("read kubeconfig {}: {e}", path.display()));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("load kubeconfig {}: {e}", path.display()));
    Client::try_from(config).expect("build a Kubernetes client")
}

/// Server-side applies every CRD of crds/ (`<singular>.yaml` each) as `field_manager` and
/// waits until each is Established.
pub async fn install_crd(client: &Client, field_manager: &str) {
    for crd in frugal_operator::api::crds() {
        let singular = crd.spec.names.singular.clone().unwrap_or_default();
        let path = super::repo_root().join(format!("crds/{singular}.yaml"));
        let names = apply_crds(client, &path, field_manager).await;
        let expected = crd.metadata.name.clone().unwrap_or_default();
        assert_eq!(names, [expected], "{} defines the wrong CRDs (it is the committed output of `frugal crd`)", path.display());
    }
}

/// Server-side applies every CustomResourceDefinition of the YAML file at `path` as
/// `field_manager`, waits until each is Established, and returns their names.
pub async fn apply_crds(client: &Client, path: &Path, field_manager: &str) -> Vec<String> {
    let yaml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let definitions: Vec<CustomResourceDefinition> = serde_yaml::Deserializer::from_str(&yaml)
        .filter_map(|doc| {
            Option::<CustomResourceDefinition>::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} holds CustomResourceDefinitions: {e}", path.display()))
        })
        .collect();
    assert!(!definitions.is_empty(), "{} is empty", path.display());
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for crd in definitions {
        let name = crd.metadata.name.clone().unwrap_or_else(|| panic!("a CRD of {} has no name", path.display()));
        crds.patch(&name, &PatchParams::apply(field_manager).force(), &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("server-side apply CRD {name}: {e}"));
        tokio::time::timeout(Duration::from_secs(60), await_condition(crds.clone(), &name, wait_conditions::is_crd_established()))
            .await
            .unwrap_or_else(|_| panic!("CRD {name} not Established within 60s"))
            .unwrap_or_else(|e| panic!("watch CRD {name}: {e}"));
        names.push(name);
    }
    names
}

/// CostPolicies as untyped objects: for what the Rust types cannot hold (invalid specs, the
/// status as the server stores it).
pub fn dynamic_api(client: &Client) -> Api<DynamicObject> {
    Api::all_with(client.clone(), &ApiResource::erase::<CostPolicy>(&()))
}

/// Polls policy `name` until `done` holds; panics with the last status after the timeout.
pub async fn wait_for(api: &Api<CostPolicy>, name: &str, what: &str, done: impl Fn(&CostPolicy) -> bool) -> CostPolicy {
    let deadline = Instant::now() + CONVERGE_TIMEOUT;
    loop {
        let policy = api.get(name).await.unwrap_or_else(|e| panic!("get CostPolicy {name}: {e}"));
        if done(&policy) {
            return policy;
        }
        if Instant::now() >= deadline {
            let status = serde_json::to_string_pretty(&policy.status).unwrap_or_default();
            panic!(
                "CostPolicy {name}: no {what} within {CONVERGE_TIMEOUT:?} (generation {:?}); status: {status}",
                policy.metadata.generation
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the API server no longer has policy `name`.
pub async fn wait_gone(api: &Api<CostPolicy>, name: &str) {
    let deadline = Instant::now() + CONVERGE_TIMEOUT;
    loop {
        let Some(policy) = api.get_opt(name).await.unwrap_or_else(|e| panic!("get CostPolicy {name}: {e}")) else {
            return;
        };
        if Instant::now() >= deadline {
            let status = serde_json::to_string_pretty(&policy.status).unwrap_or_default();
            panic!(
                "CostPolicy {name} still exists {CONVERGE_TIMEOUT:?} after its deletion (finalizers {:?}); status: {status}",
                policy.metadata.finalizers
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until CostPolicy `name` has an Event of each `(type, reason)` of `expected`
/// (events.k8s.io/v1, selected by `regarding.name` as `kubectl events --for` does); returns
/// all of the policy's Events.
pub async fn wait_for_events(client: &Client, name: &str, expected: &[(&str, &str)]) -> Vec<Event> {
    let events: Api<Event> = Api::all(client.clone());
    let selector = format!("regarding.name={name}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = events.list(&ListParams::default().fields(&selector)).await.expect("list events.k8s.io/v1 Events");
        let policy_events: Vec<Event> =
            list.items.into_iter().filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("CostPolicy")).collect();
        let missing: Vec<&(&str, &str)> = expected
            .iter()
            .filter(|(type_, reason)| {
                !policy_events.iter().any(|e| e.type_.as_deref() == Some(*type_) && e.reason.as_deref() == Some(*reason))
            })
            .collect();
        if missing.is_empty() {
            return policy_events;
        }
        assert!(Instant::now() < deadline, "no Event {missing:?} for CostPolicy {name} within 60s; its Events: {policy_events:#?}");
        tokio::time::sleep(POLL).await;
    }
}

pub fn condition<'a>(policy: &'a CostPolicy, type_: &str) -> Option<&'a Condition> {
    policy.status.as_ref().and_then(|s| conditions::find(&s.conditions, type_))
}

pub fn is_true(policy: &CostPolicy, type_: &str) -> bool {
    condition(policy, type_).is_some_and(|c| c.status == conditions::TRUE)
}

pub fn condition_is(policy: &CostPolicy, type_: &str, status: &str, reason: &str) -> bool {
    condition(policy, type_).is_some_and(|c| c.status == status && c.reason == reason)
}

/// The status describes the current spec.
pub fn is_current(policy: &CostPolicy) -> bool {
    policy.metadata.generation.is_some() && policy.status.as_ref().and_then(|s| s.observed_generation) == policy.metadata.generation
}

/// `frugal run` as a child process, stopped on drop. Its output goes to a log file whose
/// tail is printed when the test fails.
pub struct Operator {
    child: Child,
    log: PathBuf,
    port: u16,
}

impl Operator {
    /// Starts `frugal run` with `kubeconfig` for the policies labelled `SHARD_LABEL=<shard>`,
    /// with extra flags and environment variables, and waits until /readyz answers 200.
    pub async fn spawn(test_name: &str, kubeconfig: &Path, shard: &str, args: &[String], envs: &[(&str, &str)]) -> Self {
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{test_name}.operator.log"));
        let out = File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone the log file handle");
        let port = free_port();
        let child = super::frugal_command()
            .args(["run", "--metrics-addr", &format!("127.0.0.1:{port}"), "--vpc-endpoint-pacing", "100/100"])
            .args(["--policy-selector", &format!("{SHARD_LABEL}={shard}")])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            // Last, so a test can override any of the above.
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start the frugal binary");
        let mut operator = Operator { child, log, port };
        operator.wait_ready().await;
        operator
    }

    /// GET `path` on the operator's HTTP port: status code and body.
    pub async fn get(&self, path: &'static str) -> Option<(u16, String)> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        tokio::task::spawn_blocking(move || http_get(addr, path)).await.expect("join")
    }

    /// The AWS request counters of /metrics that are not zero.
    pub async fn aws_requests(&self) -> Vec<String> {
        let metrics = self.get("/metrics").await.map(|(_, body)| body).unwrap_or_default();
        metrics.lines().filter(|l| l.starts_with("frugal_aws_requests_total{") && !l.ends_with(" 0")).map(str::to_string).collect()
    }

    /// How many reconciles have ended (the count of the reconcile duration histogram,
    /// recorded as each reconcile ends).
    pub async fn reconciles_ended(&self) -> u64 {
        let body = self.get("/metrics").await.map(|(_, body)| body).unwrap_or_default();
        body.lines().find_map(|l| l.strip_prefix("frugal_reconcile_duration_seconds_count ")).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// Waits until at least `count` reconciles have ended.
    pub async fn wait_for_reconciles(&self, count: u64) {
        let deadline = Instant::now() + CONVERGE_TIMEOUT;
        loop {
            let ended = self.reconciles_ended().await;
            if ended >= count {
                return;
            }
            assert!(Instant::now() < deadline, "{ended} reconciles ended, not {count}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until no reconcile has ended for `quiet` (the count of the reconcile duration
    /// histogram, recorded as each reconcile ends, holds still).
    pub async fn wait_idle(&self, quiet: Duration) {
        let count =
            |body: String| body.lines().find_map(|l| l.strip_prefix("frugal_reconcile_duration_seconds_count ").map(str::to_string));
        let deadline = Instant::now() + CONVERGE_TIMEOUT;
        let (mut last, mut since) = (None, Instant::now());
        loop {
            let now = self.get("/metrics").await.and_then(|(_, body)| count(body));
            if now != last {
                (last, since) = (now, Instant::now());
            } else if since.elapsed() >= quiet {
                return;
            }
            assert!(Instant::now() < deadline, "the operator never stopped reconciling for {quiet:?} (reconciles: {last:?})");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// SIGKILL: the process dies without releasing anything, as on a node failure.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as the kubelet stops a pod; waits up to 30 s for the process to exit and
    /// returns its exit status.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let signal = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(signal.success(), "kill -TERM {pid} (the operator)");
        self.wait_exit(Duration::from_secs(30)).await
    }

    /// Waits up to `within` for the process to exit and returns its exit status.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(exit) = self.child.try_wait().expect("poll the operator process") {
                return exit;
            }
            assert!(
                Instant::now() < deadline,
                "the operator did not exit within {within:?}; log {}:\n{}",
                self.log.display(),
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Everything the operator logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(exit) = self.child.try_wait().expect("poll the operator process") {
                panic!("the operator exited before it was ready ({exit}); log {}:\n{}", self.log.display(), self.log_tail());
            }
            let status = tokio::task::spawn_blocking(move || http_get(addr, "/readyz").map(|(code, _)| code)).await.expect("join");
            if status == Some(200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "GET /readyz on {addr} never answered 200 within 60s (last: {status:?}); log {}:\n{}",
                self.log.display(),
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(80)..].join("\n")
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- operator log {} (last 80 lines) ---\n{}", self.log.display(), self.log_tail());
        }
    }
}

/// `GET path` over HTTP/1.0: status code and body, or None when nothing answers yet.
fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let code = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
    Some((code, body))
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// Best-effort removal of the test's policies, even when the test fails: delete, give the
/// operator's finalizer a moment, then strip the finalizer (the emulator account is
/// throwaway) so no policy is left stuck in the cluster.
pub struct Cleanup {
    kubeconfig: PathBuf,
    names: Vec<String>,
}

impl Cleanup {
    pub fn new(kubeconfig: &Path, names: Vec<String>) -> Self {
        Self { kubeconfig: kubeconfig.to_path_buf(), names }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.names);
        let kubeconfig = self.kubeconfig.clone();
        // A fresh thread and runtime: drop may run inside the test's runtime, which cannot
        // be blocked on, or while unwinding out of it.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("cleanup runtime");
            runtime.block_on(async move {
                let api: Api<CostPolicy> = Api::all(client_from(&kubeconfig).await);
                for name in names {
                    if !matches!(api.get_opt(&name).await, Ok(Some(_))) {
                        continue;
                    }
                    let _ = api.delete(&name, &DeleteParams::default()).await;
                    let deadline = Instant::now() + Duration::from_secs(20);
                    while Instant::now() < deadline && matches!(api.get_opt(&name).await, Ok(Some(_))) {
                        tokio::time::sleep(POLL).await;
                    }
                    if matches!(api.get_opt(&name).await, Ok(Some(_))) {
                        let strip = json!({ "metadata": { "finalizers": null } });
                        let _ = api.patch(&name, &PatchParams::default(), &Patch::Merge(&strip)).await;
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Creates every invalid spec of tests/common/bad_specs.rs as policy `names[i]`, labelled
/// for `shard`'s operator. Each is refused by the schema (422, naming the field) or admitted
/// and then stalled by the operator (Stalled=True/InvalidSpec, naming the field, not
/// Ready). Returns how many the schema refused.
pub async fn check_invalid_specs(client: &Client, names: &[String], shard: &str) -> usize {
    let api = dynamic_api(client);
    let cases = super::bad_specs::invalid_specs();
    assert_eq!(names.len(), cases.len(), "one name per invalid spec");
    let mut admitted = Vec::new();
    for ((spec, field), name) in cases.iter().zip(names) {
        let yaml = format!("apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}");
        let mut object: serde_json::Value = serde_yaml::from_str(&yaml).unwrap_or_else(|e| panic!("case for {field} is YAML: {e}"));
        object["metadata"]["labels"] = json!({ SHARD_LABEL: shard });
        let object: DynamicObject = serde_json::from_value(object).expect("a DynamicObject");
        match api.create(&PostParams::default(), &object).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{field}: expected 422 Unprocessable Entity: {status:?}");
                // The schema names the field by its own path; its last segment is what both share.
                let last = field.rsplit('.').next().unwrap_or(field).split('[').next().unwrap_or(field);
                assert!(status.message.contains(last), "the schema's refusal must name {last}:\n{spec}\n{}", status.message);
            }
            Err(other) => panic!("{field}: expected a 422 or an admitted object, got {other}"),
            Ok(_) => admitted.push((name, *field, spec)),
        }
    }
    let refused = cases.len() - admitted.len();
    println!("{} invalid specs: {refused} refused by the CRD schema, {} left to the operator", cases.len(), admitted.len());

    let policies: Api<CostPolicy> = Api::all(client.clone());
    for (name, field, spec) in admitted {
        let policy = wait_for(&policies, name, "Stalled=True/InvalidSpec", |p| {
            is_current(p) && condition_is(p, conditions::STALLED, conditions::TRUE, conditions::reason::INVALID_SPEC)
        })
        .await;
        let stalled = condition(&policy, conditions::STALLED).expect("Stalled");
        assert!(stalled.message.contains(field), "the Stalled message of {name} must name {field}:\n{spec}\n{}", stalled.message);
        assert!(!is_true(&policy, conditions::READY), "an invalid policy is not Ready");
        let events = wait_for_events(client, name, &[("Warning", conditions::reason::INVALID_SPEC)]).await;
        let warned = events
            .iter()
            .any(|e| e.reason.as_deref() == Some(conditions::reason::INVALID_SPEC) && e.note.as_deref().is_some_and(|n| n.contains(field)));
        assert!(warned, "the InvalidSpec Event of {name} must name {field}:\n{spec}\n{events:#?}");
    }
    refused
}
