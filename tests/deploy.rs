//! What ships beside the binary stays true to it: the Argo CD health check, the Dockerfile,
//! the kustomize base, and the metric names the dashboard and alerts use.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use frugal_operator::metrics::Metrics;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn argocd_health(object: serde_json::Value) -> (String, String) {
    use mlua::LuaSerdeExt;
    let lua = mlua::Lua::new();
    let value = lua.to_value(&object).expect("object converts to Lua");
    lua.globals().set("obj", value).expect("set obj");
    let result: mlua::Table = lua.load(read("deploy/argocd/health.lua")).eval().expect("the health script runs");
    (result.get("status").expect("status"), result.get("message").unwrap_or_default())
}

fn policy(generation: i64, observed: Option<i64>, conditions: &[(&str, &str, &str)]) -> serde_json::Value {
    let conditions: Vec<serde_json::Value> = conditions
        .iter()
        .map(|(t, s, r)| serde_json::json!({"type": t, "status": s, "reason": r, "message": format!("{t} is {s}")}))
        .collect();
    let mut status = serde_json::json!({ "conditions": conditions });
    if let Some(observed) = observed {
        status["observedGeneration"] = observed.into();
    }
    serde_json::json!({"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicy", "metadata": {"name": "p", "generation": generation}, "status": status})
}

#[test]
fn argocd_health_follows_kstatus() {
    let no_status = serde_json::json!({"metadata": {"name": "p", "generation": 1}});
    assert_eq!(argocd_health(no_status).0, "Progressing");
    let ready = [("Ready", "True", "InSync"), ("Reconciling", "False", "Idle"), ("Stalled", "False", "Idle")];
    assert_eq!(argocd_health(policy(2, Some(2), &ready)).0, "Healthy");
    assert_eq!(argocd_health(policy(3, Some(2), &ready)).0, "Progressing", "an old generation is not healthy yet");
    let (health, message) = argocd_health(policy(1, Some(1), &[("Ready", "False", "InvalidSpec"), ("Stalled", "True", "InvalidSpec")]));
    assert_eq!(health, "Degraded");
    assert!(message.contains("InvalidSpec"), "{message}");
    let retrying = [("Ready", "False", "AreasNotInSync"), ("Reconciling", "True", "Retrying"), ("Stalled", "False", "Idle")];
    assert_eq!(argocd_health(policy(1, Some(1), &retrying)).0, "Progressing");
    let failed = [("Ready", "False", "AreasNotInSync"), ("Reconciling", "False", "Idle"), ("Stalled", "False", "Idle")];
    assert_eq!(argocd_health(policy(1, Some(1), &failed)).0, "Degraded");
    let audit = [("Ready", "True", "DriftFound"), ("GatewayEndpointsInSync", "False", "DriftFound")];
    assert_eq!(argocd_health(policy(1, Some(1), &audit)).0, "Healthy", "an Audit policy that reports findings works as intended");

    // The same script serves Notifiers (README: install it for frugal.dev_Notifier too).
    let notifier = |conditions: &[(&str, &str, &str)]| {
        let mut object = policy(1, Some(1), conditions);
        object["kind"] = "Notifier".into();
        object
    };
    assert_eq!(argocd_health(notifier(&[("Ready", "True", "Ready")])).0, "Healthy");
    let (health, message) = argocd_health(notifier(&[("Ready", "False", "SecretNotFound")]));
    assert_eq!(health, "Degraded");
    assert!(message.contains("SecretNotFound"), "{message}");
}

/// The same script serves CostPolicySet: the set's status, as the set controller computes it,
/// maps to the health Argo CD should show.
#[test]
fn argocd_health_of_a_set_follows_its_policies() {
    use frugal_operator::api::{CostPolicy, CostPolicyStatus};
    use frugal_operator::set::status::{Observed, status};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    let now = Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).expect("timestamp"));
    let generated = |ready: &str| {
        let mut policy = CostPolicy::new(
            "prod-111122223333-eu-west-1",
            serde_yaml::from_str("aws: {region: eu-west-1}\ngatewayEndpoints: {services: [s3]}\n").expect("spec"),
        );
        policy.metadata.generation = Some(1);
        let condition = Condition {
            type_: "Ready".into(),
            status: ready.into(),
            reason: "InSync".into(),
            message: String::new(),
            observed_generation: Some(1),
            last_transition_time: now.clone(),
        };
        policy.status = Some(CostPolicyStatus { observed_generation: Some(1), conditions: vec![condition], ..CostPolicyStatus::default() });
        policy
    };
    for (ready, health) in [("True", "Healthy"), ("False", "Progressing")] {
        let policies = [std::sync::Arc::new(generated(ready))];
        let observed =
            Observed { policies: &policies, invalid: None, names_taken: &[], organizations_error: None, accounts: 1, regions: 1 };
        let set_status = status(None, Some(4), &observed, &now);
        let object = serde_json::json!({"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicySet", "metadata": {"name": "prod", "generation": 4}, "status": set_status});
        assert_eq!(argocd_health(object).0, health, "policy Ready={ready}");
    }
}

/// The instructions of the final stage of a multi-stage Dockerfile.
fn final_stage(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let lines: Vec<String> = joined.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect();
    let last_from = lines.iter().rposition(|l| l.to_ascii_uppercase().starts_with("FROM ")).expect("a FROM");
    lines[last_from..].to_vec()
}

#[test]
fn dockerfile_ships_a_static_binary_on_a_minimal_base_as_non_root_matching_the_deployment() {
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2, "multi-stage");
    assert!(dockerfile.contains("--locked"), "reproducible: the build uses Cargo.lock");
    let stage = final_stage(&dockerfile);
    assert!(stage[0].contains("distroless/static") || stage[0] == "FROM scratch", "minimal base without a libc: {}", stage[0]);
    let builds: Vec<&str> = dockerfile.lines().filter(|l| l.contains("cargo build")).collect();
    assert!(
        !builds.is_empty() && builds.iter().all(|b| b.contains("--target") && b.contains("-unknown-linux-musl")),
        "the binary is static (a musl target), as a base without a libc needs: {builds:?}"
    );
    assert!(
        builds.iter().all(|b| b.contains("--features mimalloc")),
        "the image's binary allocates with mimalloc, as docs/BENCHMARKS.md measured it: {builds:?}"
    );
    let env: Vec<&str> = stage.iter().filter_map(|l| l.strip_prefix("ENV ")).flat_map(str::split_whitespace).collect();
    assert!(
        env.contains(&"MIMALLOC_ARENA_EAGER_COMMIT=0"),
        "mimalloc's lazy commit, without which it costs more CPU than musl's allocator: {env:?}"
    );
    // The benches measure the binary with the image's options, not a copy that drifted.
    let image_options: std::collections::BTreeSet<&str> = env.iter().copied().filter(|e| e.starts_with("MIMALLOC_")).collect();
    let makefile = read("Makefile");
    let benched: std::collections::BTreeSet<&str> = makefile
        .lines()
        .find_map(|l| l.strip_prefix("MIMALLOC_OPTIONS = "))
        .expect("MIMALLOC_OPTIONS in the Makefile")
        .split_whitespace()
        .collect();
    assert_eq!(benched, image_options, "Makefile's MIMALLOC_OPTIONS against the image's ENV");
    assert!(!stage.iter().any(|l| l.to_ascii_uppercase().starts_with("RUN ")), "no shell in the final stage: {stage:?}");
    let user = stage.iter().find_map(|l| l.strip_prefix("USER ")).expect("a USER in the final stage");
    let uid = user.split(':').next().unwrap_or_default();
    assert!(uid != "0" && uid != "root" && uid.parse::<u32>().is_ok_and(|u| u > 0), "non-root numeric user: {user}");
    assert!(stage.iter().any(|l| l.starts_with("LABEL ") && l.contains("org.opencontainers.image.source")), "OCI labels");
    let entrypoint = stage.iter().find_map(|l| l.strip_prefix("ENTRYPOINT ")).expect("ENTRYPOINT");
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint).expect("exec-form ENTRYPOINT");

    let deployment: serde_yaml::Value = serde_yaml::from_str(&read("deploy/deployment.yaml")).expect("deployment YAML");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let command: Vec<String> = serde_yaml::from_value(container["command"].clone()).expect("command list");
    assert_eq!(command[0], entrypoint[0], "the Deployment runs the binary the image ships");
    assert_eq!(command.get(1).map(String::as_str), Some("run"));
    let run_as: u64 = serde_yaml::from_value(container["securityContext"]["runAsUser"].clone()).expect("runAsUser");
    assert_eq!(run_as.to_string(), uid, "the Deployment runs as the image's user");
}

#[test]
fn deployment_is_hardened() {
    let deployment: serde_yaml::Value = serde_yaml::from_str(&read("deploy/deployment.yaml")).expect("deployment YAML");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], serde_yaml::Value::Bool(true));
    assert_eq!(security["allowPrivilegeEscalation"], serde_yaml::Value::Bool(false));
    assert_eq!(security["runAsNonRoot"], serde_yaml::Value::Bool(true));
    assert_eq!(security["capabilities"]["drop"][0], serde_yaml::Value::String("ALL".into()));
    assert_eq!(security["seccompProfile"]["type"], serde_yaml::Value::String("RuntimeDefault".into()));
    assert!(container["resources"]["limits"]["memory"].is_string() && container["resources"]["requests"]["cpu"].is_string());
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], serde_yaml::Value::String("/healthz".into()));
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], serde_yaml::Value::String("/readyz".into()));
}

/// `group/resource:verb` for each grant of a Role or ClusterRole, with `[name,...]` after the
/// resource when the rule is limited to resourceNames.
fn grants(path: &str) -> BTreeSet<String> {
    let role: serde_yaml::Value = serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_sequence().expect("rules") {
        let names: Vec<&str> =
            rule["resourceNames"].as_sequence().map(|n| n.iter().filter_map(|n| n.as_str()).collect()).unwrap_or_default();
        let names = if names.is_empty() { String::new() } else { format!("[{}]", names.join(",")) };
        for group in rule["apiGroups"].as_sequence().expect("apiGroups") {
            for resource in rule["resources"].as_sequence().expect("resources") {
                for verb in rule["verbs"].as_sequence().expect("verbs") {
                    granted.insert(format!(
                        "{}/{}{names}:{}",
                        group.as_str().unwrap_or_default(),
                        resource.as_str().unwrap_or_default(),
                        verb.as_str().unwrap_or_default()
                    ));
                }
            }
        }
    }
    granted
}

#[test]
fn cluster_role_grants_exactly_what_the_controller_uses() {
    let granted = grants("deploy/clusterrole.yaml");
    // list + watch: the Controller; patch: the finalizer helper's JSON patch; get: the
    // read after a refused status patch; status patch: the uid-guarded JSON patch; events
    // create/patch: the event Recorder; notifiers get/list/watch: the Notifier controller,
    // and status patch its uid-guarded JSON patch. No Secret, anywhere: those are granted in
    // the operator's namespace only. The e2e suite runs the operator with this role's
    // ServiceAccount token, which proves it is enough.
    let expected: BTreeSet<String> = [
        "frugal.dev/costpolicies:get",
        "frugal.dev/costpolicies:list",
        "frugal.dev/costpolicies:watch",
        "frugal.dev/costpolicies:patch",
        "frugal.dev/costpolicies/status:patch",
        "frugal.dev/notifiers:get",
        "frugal.dev/notifiers:list",
        "frugal.dev/notifiers:watch",
        "frugal.dev/notifiers/status:patch",
        // The set controller: apply (create or patch) and delete generated policies; read
        // sets and write their status; blockOwnerDeletion in the generated policies'
        // ownerReferences needs update on the set's finalizers.
        "frugal.dev/costpolicies:create",
        "frugal.dev/costpolicies:delete",
        "frugal.dev/costpolicysets:get",
        "frugal.dev/costpolicysets:list",
        "frugal.dev/costpolicysets:watch",
        "frugal.dev/costpolicysets/status:patch",
        "frugal.dev/costpolicysets/finalizers:update",
        "events.k8s.io/events:create",
        "events.k8s.io/events:patch",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(granted, expected);
}

fn yaml(path: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn str_of(value: &serde_yaml::Value) -> &str {
    value.as_str().unwrap_or_default()
}

#[test]
fn leader_election_role_grants_exactly_the_lease_in_the_operators_namespace() {
    use clap::Parser;
    use frugal_operator::cli::{Cli, Command};

    let role = yaml("deploy/role.yaml");
    assert_eq!(str_of(&role["kind"]), "Role", "leases are granted in the operator's namespace only, not cluster-wide");
    // create: the first replica creates the Lease; get/update: read, renew and take over
    // with a resourceVersion-guarded replace. No list, watch, patch or delete.
    let cli = Cli::try_parse_from(["frugal", "run"]).expect("`frugal run` parses");
    let Command::Run(run) = cli.command else { panic!("not the run command") };
    let lease = run.leader_election_lease_name;
    let expected: BTreeSet<String> = [
        "coordination.k8s.io/leases:create".to_string(),
        format!("coordination.k8s.io/leases[{lease}]:get"),
        format!("coordination.k8s.io/leases[{lease}]:update"),
    ]
    .into_iter()
    .collect();
    assert_eq!(grants("deploy/role.yaml"), expected, "the Role names the operator's default lease");
    assert!(run.leader_election, "leader election is on by default");

    let binding = yaml("deploy/rolebinding.yaml");
    assert_eq!(str_of(&binding["kind"]), "RoleBinding");
    assert_eq!((str_of(&binding["roleRef"]["kind"]), str_of(&binding["roleRef"]["name"])), ("Role", str_of(&role["metadata"]["name"])));
    let subject = &binding["subjects"][0];
    assert_eq!((str_of(&subject["kind"]), str_of(&subject["name"])), ("ServiceAccount", "frugal-operator"));

    let kustomization = yaml("deploy/kustomization.yaml");
    assert_eq!(str_of(&subject["namespace"]), str_of(&kustomization["namespace"]), "the binding names the operator's service account");
    let resources: Vec<&str> = kustomization["resources"].as_sequence().expect("resources").iter().map(str_of).collect();
    for file in ["role.yaml", "rolebinding.yaml", "poddisruptionbudget.yaml"] {
        assert!(resources.contains(&file), "{file} is not in the kustomize base: {resources:?}");
    }
}

#[test]
fn notifier_secrets_are_read_with_get_in_the_operators_namespace_only() {
    let role = yaml("deploy/notifier-secret-role.yaml");
    assert_eq!(str_of(&role["kind"]), "Role", "Secrets are granted in the operator's namespace, never cluster-wide");
    // get only: no list or watch, which would hand over every Secret of the namespace.
    assert_eq!(grants("deploy/notifier-secret-role.yaml"), BTreeSet::from(["/secrets:get".to_string()]));
    assert!(!grants("deploy/clusterrole.yaml").iter().any(|g| g.contains("secrets")), "no Secret in the ClusterRole");

    let binding = yaml("deploy/notifier-secret-rolebinding.yaml");
    assert_eq!((str_of(&binding["roleRef"]["kind"]), str_of(&binding["roleRef"]["name"])), ("Role", str_of(&role["metadata"]["name"])));
    let subject = &binding["subjects"][0];
    assert_eq!((str_of(&subject["kind"]), str_of(&subject["name"])), ("ServiceAccount", "frugal-operator"));
    let kustomization = yaml("deploy/kustomization.yaml");
    assert_eq!(str_of(&subject["namespace"]), str_of(&kustomization["namespace"]));
    let resources: Vec<&str> = kustomization["resources"].as_sequence().expect("resources").iter().map(str_of).collect();
    for file in ["notifier-secret-role.yaml", "notifier-secret-rolebinding.yaml"] {
        assert!(resources.contains(&file), "{file} is not in the kustomize base: {resources:?}");
    }

    // The namespace the operator reads Secrets in is the pod's own (POD_NAMESPACE), where the
    // Role is bound.
    use clap::Parser;
    use frugal_operator::cli::{Cli, Command};
    let cli = Cli::try_parse_from(["frugal", "run", "--notifier-secret-namespace=frugal-system"]).expect("parses");
    let Command::Run(run) = cli.command else { panic!("not the run command") };
    assert_eq!(run.config().secret_namespace.as_deref(), Some("frugal-system"));
}

#[test]
fn deployment_runs_two_replicas_with_leader_election_and_a_disruption_budget() {
    let deployment = yaml("deploy/deployment.yaml");
    let replicas = deployment["spec"]["replicas"].as_u64().expect("spec.replicas");
    assert!(replicas >= 2, "a standby is ready to take over: {replicas} replicas");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_sequence().map(|a| a.iter().map(str_of).collect()).unwrap_or_default();
    assert!(!args.iter().any(|a| a.starts_with("--leader-election=false")), "leader election must stay on: {args:?}");
    let env = container["env"].as_sequence().expect("env");
    for (name, field) in [("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")] {
        let var = env.iter().find(|v| str_of(&v["name"]) == name).unwrap_or_else(|| panic!("no {name} in the container's env"));
        assert_eq!(str_of(&var["valueFrom"]["fieldRef"]["fieldPath"]), field, "{name} comes from the downward API");
    }

    let pdb = yaml("deploy/poddisruptionbudget.yaml");
    assert_eq!(str_of(&pdb["kind"]), "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"].as_u64(), Some(1));
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selector = pdb["spec"]["selector"]["matchLabels"].as_mapping().expect("selector.matchLabels");
    assert!(!selector.is_empty());
    for (key, value) in selector {
        assert_eq!(&pod_labels[key], value, "the budget selects the operator's pods");
    }
}

/// Sample names the operator exports, from the registry's TYPE lines.
fn exported_metric_names() -> BTreeSet<String> {
    use frugal_operator::metrics::{ActionLabels, AreaLabels, ErrorLabels, NotificationLabels, PolicyLabels, ReconcileLabels};
    // Families without samples print nothing: give each one sample, as a running operator does.
    let metrics = Metrics::new();
    metrics.reconciles.get_or_create(&ReconcileLabels { result: "success".into() }).inc();
    metrics.reconcile_errors.get_or_create(&ErrorLabels { category: "aws".into() }).inc();
    metrics.set_reconciles.get_or_create(&ReconcileLabels { result: "success".into() }).inc();
    metrics.set_reconcile_errors.get_or_create(&ErrorLabels { category: "organizations".into() }).inc();
    metrics.record_set("s", &frugal_operator::api::CostPolicySetStatus::default());
    metrics.count_aws_request("ec2", "DescribeVpcs", "success");
    let area = AreaLabels { policy: "p".into(), area: "snapshotRetention".into() };
    metrics.findings.get_or_create(&area).set(1);
    metrics.monthly_savings_usd.get_or_create(&area).set(1.0);
    metrics.monthly_waste_usd.get_or_create(&area).set(1.0);
    metrics.monthly_cost_usd.get_or_create(&area).set(1.0);
    metrics
        .actions
        .get_or_create(&ActionLabels { policy: "p".into(), area: "a".into(), action: "x".into(), outcome: "success".into() })
        .inc();
    metrics.record_snapshots("p", &Default::default());
    metrics.last_reconcile.get_or_create(&PolicyLabels { policy: "p".into() }).set(1);
    metrics.resync_interval.get_or_create(&PolicyLabels { policy: "p".into() }).set(600);
    metrics.notifications.get_or_create(&NotificationLabels { notifier: "n".into(), outcome: "delivered".into() }).inc();
    let text = metrics.encode();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
        match kind {
            "counter" => drop(names.insert(format!("{name}_total"))),
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            _ => drop(names.insert(name.to_string())),
        }
    }
    names
}

fn metric_names_in(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("frugal_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        if start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            names.insert(text[start..end].to_string());
        }
        i = end;
    }
    names
}

#[test]
fn dashboard_and_alerts_use_only_exported_metrics() {
    let exported = exported_metric_names();
    assert!(
        exported.contains("frugal_aws_requests_total") && exported.contains("frugal_reconcile_duration_seconds_bucket"),
        "{exported:?}"
    );
    for path in ["deploy/grafana/frugal-dashboard.json", "deploy/components/monitoring/prometheusrule.yaml"] {
        let used = metric_names_in(&read(path));
        assert!(!used.is_empty(), "{path} uses no frugal metric");
        let unknown: Vec<&String> = used.difference(&exported).collect();
        assert!(unknown.is_empty(), "{path} uses metrics the operator does not export: {unknown:?} (exported: {exported:?})");
    }
    let dashboard: serde_json::Value = serde_json::from_str(&read("deploy/grafana/frugal-dashboard.json")).expect("dashboard JSON");
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 8));
}

#[test]
fn crds_are_in_one_place_only() {
    let mut copies = Vec::new();
    let mut stack = vec![root().join("deploy"), root().join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read_to_string(&path).is_ok_and(|t| t.contains("kind: CustomResourceDefinition")) {
                copies.push(path);
            }
        }
    }
    assert!(copies.is_empty(), "the CRD lives in crds/ only: {copies:?}");
    assert!(Path::new(&root().join("crds/costpolicy.yaml")).exists());
    assert!(Path::new(&root().join("crds/notifier.yaml")).exists());
    assert!(Path::new(&root().join("crds/costpolicyset.yaml")).exists());
}

#[test]
fn monitoring_resources_land_in_the_namespace_of_the_service_they_select() {
    // A component's resources keep their own namespace in an overlay: they must name it.
    let base_namespace = str_of(&yaml("deploy/kustomization.yaml")["namespace"]).to_string();
    let component = yaml("deploy/components/monitoring/kustomization.yaml");
    for file in component["resources"].as_sequence().expect("resources") {
        let path = format!("deploy/components/monitoring/{}", str_of(file));
        assert_eq!(str_of(&yaml(&path)["metadata"]["namespace"]), base_namespace, "{path}");
    }
}
