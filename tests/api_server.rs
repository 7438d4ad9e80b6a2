//! The CRD and the operator against a real Kubernetes API server for custom resources:
//! apiextensions-apiserver (the code kube-apiserver serves CRDs with) on etcd, built from
//! Debian's sources by tests/api_server/. What only a real server checks runs here on every
//! `make test`: the CRD's structural schema and its CEL rules compile within their cost
//! budget, the schema's defaults, admission of invalid specs, pruning of status fields the
//! schema lacks, printer columns, the status subresource, finalizers and watches; the
//! operator's Events (through the stand-ins of tests/api_server/core-stand-ins.yaml, which
//! are checked here too); and every request the operator makes, from the server's audit
//! log, against deploy/'s RBAC. The end-to-end suite (tests/e2e.rs) also runs on this
//! server in `make test`, leader election included.
//!
//! The server has no namespaces, ServiceAccounts or RBAC, so the operator runs here as a
//! user of the group system:masters; on a full cluster the end-to-end suite runs it with
//! deploy/'s ServiceAccount token.

mod common;

use std::collections::BTreeMap;

use common::api_server::api_server;
use common::cluster::{self, Cleanup, SHARD_LABEL, condition, condition_is, is_current, is_true};
use common::messy;
use common::rbac::{self, DeployRbac, Request};
use frugal_operator::api::conditions::{self, reason};
use frugal_operator::api::names::{CONTROLLER_NAME, FINALIZER, TAG_POLICY};
use frugal_operator::api::{CostPolicy, CostPolicySet, CostPolicyStatus, DeletionPolicy};
use frugal_operator::controller::status;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

const FIELD_MANAGER: &str = "frugal-api-server-test";

/// A client of the shared API server, with the CRD and the stand-ins for Leases and Events.
async fn client() -> Client {
    api_server().client(FIELD_MANAGER).await
}

/// Admits the policy `yaml` (a dry run) and checks that what `kubectl get -o yaml` would show
/// (the schema's defaults) is what the operator acts on (the Rust types' defaults): every
/// field the operator fills in, the server fills in with the same value.
async fn assert_admitted_with_the_operators_defaults(api: &Api<DynamicObject>, yaml: &str, what: &str) {
    let object: DynamicObject = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{what}: {e}"));
    let admitted = api
        .create(&PostParams { dry_run: true, ..PostParams::default() }, &object)
        .await
        .unwrap_or_else(|e| panic!("the API server refuses {what}: {e}"));
    let policy: CostPolicy = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{what} is a CostPolicy: {e}"));
    let read = serde_json::to_value(&policy.spec).expect("spec to JSON");
    assert_eq!(admitted.data["spec"], read, "{what}: the schema's defaults differ from the operator's");
}

#[tokio::test]
async fn every_example_is_admitted_with_the_defaults_the_operator_reads() {
    let client = client().await;
    let api = cluster::dynamic_api(&client);
    let dir = common::repo_root().join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/") {
        let path = entry.expect("examples/ entry").path();
        if path.extension().and_then(|e| e.to_str()) == Some("yaml") {
            let text = std::fs::read_to_string(&path).expect("read example");
            if text.lines().any(|l| l == "kind: CostPolicySet") {
                continue; // a_set_is_admitted_…
            }
            if text.lines().any(|l| l.trim() == "kind: Notifier") {
                assert_notifiers_admitted_with_the_operators_defaults(&client, &text, &path.display().to_string()).await;
            } else {
                assert_admitted_with_the_operators_defaults(&api, &text, &path.display().to_string()).await;
            }
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} examples found in {}", dir.display());
}

/// The same for each Notifier of a multi-document file.
async fn assert_notifiers_admitted_with_the_operators_defaults(client: &Client, yaml: &str, what: &str) {
    use serde::Deserialize;
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &kube::api::ApiResource::erase::<frugal_operator::api::Notifier>(&()));
    let mut admitted_any = false;
    for document in serde_yaml::Deserializer::from_str(yaml) {
        let object = DynamicObject::deserialize(document).unwrap_or_else(|e| panic!("{what}: {e}"));
        let admitted = api
            .create(&PostParams { dry_run: true, ..PostParams::default() }, &object)
            .await
            .unwrap_or_else(|e| panic!("the API server refuses {what}: {e}"));
        let notifier: frugal_operator::api::Notifier =
            serde_json::from_value(serde_json::to_value(&object).expect("JSON")).unwrap_or_else(|e| panic!("{what} is a Notifier: {e}"));
        let read = serde_json::to_value(&notifier.spec).expect("spec to JSON");
        assert_eq!(admitted.data["spec"], read, "{what}: the schema's defaults differ from the operator's");
        admitted_any = true;
    }
    assert!(admitted_any, "{what} holds no Notifier");
}

/// The set's example is admitted with the defaults the operator reads (the template's are the
/// policy spec's), and what the schema can check of a set it refuses, naming the field.
#[tokio::test]
async fn a_set_is_admitted_with_the_operators_defaults_and_a_bad_one_refused_naming_the_field() {
    let client = client().await;
    let api: Api<DynamicObject> = Api::all_with(client, &ApiResource::erase::<CostPolicySet>(&()));
    let text = std::fs::read_to_string(common::repo_root().join("examples/costpolicyset.yaml")).expect("the set example");
    let object: DynamicObject = serde_yaml::from_str(&text).expect("the example parses");
    let dry_run = PostParams { dry_run: true, ..PostParams::default() };
    let admitted = api.create(&dry_run, &object).await.unwrap_or_else(|e| panic!("the API server refuses the set example: {e}"));
    let set: CostPolicySet = serde_yaml::from_str(&text).expect("the example is a CostPolicySet");
    assert_eq!(
        admitted.data["spec"],
        serde_json::to_value(&set.spec).expect("spec to JSON"),
        "the schema's defaults differ from the operator's"
    );

    let refused: [(&str, Value, &str); 5] = [
        ("/accounts/ids", json!(["12345"]), "spec.accounts.ids[0]"),
        ("/regions", json!([]), "spec.regions"),
        ("/regions", json!(["us-east-1", "us-east-1"]), "spec.regions[1]"),
        ("/template", json!({"mode": "Audit"}), "spec.template"),
        ("/template", json!({"mode": "Enforce", "snapshotRetention": {"maxAgeDays": 30}}), "maxDeletionsPerRun is required"),
    ];
    for (pointer, value, field) in refused {
        let mut bad = object.clone();
        *bad.data["spec"].pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} in the example")) = value.clone();
        match api.create(&dry_run, &bad).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{status:?}");
                assert!(status.message.contains(field), "{pointer} = {value}: {}", status.message);
            }
            other => panic!("{pointer} = {value} was not refused: {other:?}"),
        }
    }

    // Over an organization: admitted as the operator reads it; exactly one of ids and
    // organization, unit ids and the reader role checked.
    let text = std::fs::read_to_string(common::repo_root().join("examples/costpolicyset-organization.yaml")).expect("the example");
    let object: DynamicObject = serde_yaml::from_str(&text).expect("the example parses");
    let admitted = api.create(&dry_run, &object).await.unwrap_or_else(|e| panic!("the API server refuses the organization example: {e}"));
    let set: CostPolicySet = serde_yaml::from_str(&text).expect("the example is a CostPolicySet");
    assert_eq!(admitted.data["spec"], serde_json::to_value(&set.spec).expect("spec to JSON"), "defaults differ");
    let exactly_one = "spec.accounts: give exactly one of ids or organization";
    let refused: [(&str, Value, &str); 4] = [
        ("/accounts/ids", json!(["111122223333"]), exactly_one),
        ("/accounts/organization", Value::Null, exactly_one),
        ("/accounts/organization/organizationalUnitIds", json!(["ou-x"]), "organizationalUnitIds[0]"),
        ("/accounts/organization/roleArn", json!("arn:aws:iam::1:user/x"), "roleArn"),
    ];
    for (pointer, value, field) in refused {
        let mut bad = object.clone();
        let spec = &mut bad.data["spec"];
        match (value.is_null(), pointer.rsplit_once('/')) {
            (true, Some((parent, key))) => {
                spec.pointer_mut(parent).and_then(Value::as_object_mut).map(|o| o.remove(key)).expect("the field in the example");
            }
            _ => match spec.pointer_mut(pointer) {
                Some(slot) => *slot = value.clone(),
                None => {
                    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
                    spec.pointer_mut(parent).and_then(Value::as_object_mut).expect("the parent").insert(key.to_string(), value.clone());
                }
            },
        }
        match api.create(&dry_run, &bad).await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422, "{status:?}");
                assert!(status.message.contains(field), "{pointer} = {value}: {}", status.message);
            }
            other => panic!("{pointer} = {value} was not refused: {other:?}"),
        }
    }
}

#[tokio::test]
async fn each_minimal_section_is_admitted_with_the_defaults_the_operator_reads() {
    let client = client().await;
    let api = cluster::dynamic_api(&client);
    // Every area with only its required fields, so that each default of the schema is used.
    let sections = [
        "gatewayEndpoints: {services: [s3]}",
        "snapshotRetention: {maxAgeDays: 30}",
        "ssmAccess: {}",
        "backup: {vault: {name: vault}, plan: {name: plan, rules: [{name: daily, schedule: 'cron(0 5 ? * * *)', deleteAfterDays: 35}]}, selection: {iamRoleArn: 'arn:aws:iam::111122223333:role/backup', tags: {backup: daily}}}",
    ];
    for section in sections {
        let yaml = format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: minimal}}\nspec:\n  mode: Audit\n  aws: {{region: eu-west-1}}\n  {section}\n"
        );
        assert_admitted_with_the_operators_defaults(&api, &yaml, section).await;
    }
}

#[tokio::test]
async fn invalid_specs_are_refused_by_the_schema_naming_the_field_or_stalled_by_the_operator() {
    let client = client().await;
    let shard = common::random_account_id();
    let operator = api_server().operator("api-server-bad-input", &shard).await;
    let names: Vec<String> = (0..common::bad_specs::invalid_specs().len()).map(|i| format!("bad-input-{shard}-{i}")).collect();
    let _cleanup = Cleanup::new(&api_server().kubeconfig, names.clone());
    // The schema refuses what it can express; the rest is the operator's validation.
    let refused = cluster::check_invalid_specs(&client, &names, &shard).await;
    assert!(refused >= 30 && refused < names.len(), "the schema refused {refused} of {} invalid specs", names.len());
    let aws = operator.aws_requests().await;
    assert!(aws.is_empty(), "no invalid policy may reach AWS: {aws:#?}");
    rbac::check_operator_requests(&api_server().audit_log, &["patch frugal.dev/costpolicies/status", "create events.k8s.io/events"]);
}

#[tokio::test]
async fn the_status_of_every_area_is_stored_whole() {
    let client = client().await;
    let api = cluster::dynamic_api(&client);
    let messy = messy::seed().await;
    // The status the operator would write for an Audit run over the messy account: every
    // area reports findings, lists and costs.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, messy::policy_yaml(&messy.account, "Audit")).expect("write the policy");
    let output =
        common::frugal_command().args(["plan", "-o", "json", "-f"]).arg(&file).env("RUST_LOG", "warn").output().expect("run frugal plan");
    assert_eq!(output.status.code(), Some(2), "frugal plan finds drift: {}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).expect("frugal plan -o json prints JSON");
    let status = report[0]["status"].clone();
    for area in ["gatewayEndpoints", "snapshotRetention", "ssmAccess", "backup", "cost", "conditions"] {
        assert!(!status[area].is_null(), "the plan's status lacks {area}: {status:#}");
    }

    // Stored on a policy no operator serves, through the status subresource, then read back.
    let name = format!("status-{}", messy.account.id);
    let _cleanup = Cleanup::new(&api_server().kubeconfig, vec![name.clone()]);
    let mut object: Value = serde_yaml::from_str(&messy::policy_yaml(&messy.account, "Audit")).expect("policy YAML");
    object["metadata"] = json!({ "name": name, "labels": { SHARD_LABEL: "nobody" } });
    let object: DynamicObject = serde_json::from_value(object).expect("a DynamicObject");
    api.create(&PostParams::default(), &object).await.expect("create the policy");
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({ "status": status })))
        .await
        .unwrap_or_else(|e| panic!("the API server refuses the status: {e}"));
    let stored = api.get(&name).await.expect("get the policy").data["status"].clone();
    assert_eq!(stored, status, "the API server dropped or changed status fields (pruned by the CRD's schema?)");
}

#[tokio::test]
async fn the_operator_reconciles_a_policy_from_creation_to_deletion() {
    let client = client().await;
    let policies: Api<CostPolicy> = Api::all(client.clone());
    let messy = messy::seed().await;
    let shard = messy.account.id.clone();
    let _operator = api_server().operator("api-server-lifecycle", &shard).await;
    // Named as the messy account expects: its hand-made S3 endpoint carries this policy's tag.
    let name = messy::POLICY_NAME.to_string();
    let _cleanup = Cleanup::new(&api_server().kubeconfig, vec![name.clone()]);
    let mut policy = messy::policy(&messy.account, "Enforce");
    policy.metadata.labels = Some(BTreeMap::from([(SHARD_LABEL.to_string(), shard.clone())]));
    policy.spec.deletion_policy = DeletionPolicy::Delete;
    policies.create(&PostParams::default(), &policy).await.expect("create the policy");

    let reconciled = cluster::wait_for(&policies, &name, "every area but snapshots in sync", |p| {
        is_current(p)
            && [conditions::GATEWAY_ENDPOINTS_IN_SYNC, conditions::SSM_ACCESS_IN_SYNC, conditions::BACKUP_IN_SYNC]
                .iter()
                .all(|area| is_true(p, area))
    })
    .await;
    assert!(reconciled.finalizers().iter().any(|f| f == FINALIZER), "finalizer {FINALIZER} missing: {:?}", reconciled.finalizers());
    // The expired snapshots are tagged and wait for their grace period.
    assert!(
        condition_is(&reconciled, conditions::SNAPSHOTS_IN_SYNC, conditions::FALSE, reason::DELETION_PENDING),
        "{:#?}",
        condition(&reconciled, conditions::SNAPSHOTS_IN_SYNC)
    );
    messy::assert_endpoints_converged(&messy).await;
    // Each kind of AWS change is an Event about the policy, accepted by the Event API's
    // validation, in "default": where kube-apiserver keeps the Events of cluster-scoped
    // objects (the one rule the stand-in cannot check itself).
    let changes = [
        "EndpointCreated",
        "RouteTablesAssociated",
        "SnapshotsExpiring",
        "WorldSshRevoked",
        "WorldSshSplit",
        "BackupVaultCreated",
        "BackupPlanCreated",
        "BackupSelectionCreated",
    ]
    .map(|reason| ("Normal", reason));
    let events = cluster::wait_for_events(&client, &name, &changes).await;
    for event in &events {
        assert_eq!(event.metadata.namespace.as_deref(), Some("default"), "{event:#?}");
        assert_eq!(event.reporting_controller.as_deref(), Some(CONTROLLER_NAME), "{event:#?}");
        assert_eq!(event.regarding.as_ref().and_then(|r| r.uid.clone()), reconciled.metadata.uid, "{event:#?}");
    }

    // `kubectl get costpolicies`: each printer column finds its value in the stored object.
    let table = printer_table(&client, &name).await;
    let columns: Vec<&str> =
        table["columnDefinitions"].as_array().expect("columnDefinitions").iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(columns, ["Name", "Mode", "Ready", "Findings", "Savings/mo", "Age"]);
    let cells = table["rows"][0]["cells"].as_array().expect("one row of cells").clone();
    let ready = condition(&reconciled, conditions::READY).expect("Ready").status.clone();
    let status = reconciled.status.as_ref().expect("status");
    assert_eq!(cells[1], json!("Enforce"), "Mode column: {cells:?}");
    assert_eq!(cells[2], json!(ready), "Ready column: {cells:?}");
    assert_eq!(cells[3], json!(status.findings), "Findings column: {cells:?}");
    let savings = status.cost.as_ref().map(|c| c.monthly_savings_usd.clone());
    assert_eq!(cells[4].as_str().map(str::to_string), savings, "Savings/mo column: {cells:?}");

    // A spec edit is observed: a new generation, reconciled.
    let edit = json!({ "spec": { "resyncInterval": "15m" } });
    let edited = policies.patch(&name, &PatchParams::default(), &Patch::Merge(&edit)).await.expect("edit the policy");
    let generation = edited.metadata.generation;
    assert_eq!(generation, reconciled.metadata.generation.map(|g| g + 1), "the edit makes a new generation");
    cluster::wait_for(&policies, &name, "the edited generation observed", |p| {
        is_current(p) && p.metadata.generation == generation && is_true(p, conditions::GATEWAY_ENDPOINTS_IN_SYNC)
    })
    .await;

    // deletionPolicy: Delete: the finalizer removes what the policy made, then lets go.
    policies.delete(&name, &Default::default()).await.expect("delete the policy");
    cluster::wait_gone(&policies, &name).await;
    for vpc in messy.prod_vpcs.iter().chain([&messy.dev_vpc]) {
        for endpoint in messy.account.endpoints(&vpc.vpc_id).await {
            let ours = endpoint.tags().iter().any(|t| t.key() == Some(TAG_POLICY) && t.value() == Some(name.as_str()));
            assert!(!ours, "the finalizer left {:?} of policy {name} in {}", endpoint.vpc_endpoint_id(), vpc.vpc_id);
        }
    }
    // The hand-made DynamoDB endpoint (no frugal tags) is not the operator's to delete.
    let legacy = &messy.prod_vpcs[2];
    assert_eq!(messy.account.endpoints(&legacy.vpc_id).await.len(), 1, "the hand-made endpoint of {} stays", legacy.vpc_id);
    let lifecycle = [
        "list frugal.dev/costpolicies",
        "watch frugal.dev/costpolicies",
        "patch frugal.dev/costpolicies",
        "patch frugal.dev/costpolicies/status",
        "create events.k8s.io/events",
    ];
    rbac::check_operator_requests(&api_server().audit_log, &lifecycle);
}

/// GET of the policy as a meta.k8s.io Table, the way kubectl asks for it.
async fn printer_table(client: &Client, name: &str) -> Value {
    let request = http::Request::get(format!("/apis/frugal.dev/v1alpha1/costpolicies/{name}"))
        .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
        .body(Vec::new())
        .expect("a Table request");
    client.request::<Value>(request).await.unwrap_or_else(|e| panic!("GET {name} as a Table: {e}"))
}

#[tokio::test]
async fn a_status_computed_for_a_deleted_policy_never_lands_on_its_namesake() {
    let client = client().await;
    let policies: Api<CostPolicy> = Api::all(client.clone());
    let name = format!("namesake-{}", common::random_account_id());
    let _cleanup = Cleanup::new(&api_server().kubeconfig, vec![name.clone()]);
    // No operator serves this shard: the test writes status itself, as a reconcile would.
    let yaml = format!(
        "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: {name}, labels: {{{SHARD_LABEL}: nobody}}}}\nspec:\n  aws: {{region: eu-west-1}}\n  gatewayEndpoints: {{services: [s3]}}\n"
    );
    let policy: CostPolicy = serde_yaml::from_str(&yaml).expect("policy YAML");
    let old = policies.create(&PostParams::default(), &policy).await.expect("create the policy");
    policies.delete(&name, &Default::default()).await.expect("delete the policy");
    cluster::wait_gone(&policies, &name).await;
    let namesake = policies.create(&PostParams::default(), &policy).await.expect("create it again under the same name");
    assert_ne!(old.metadata.uid, namesake.metadata.uid);

    // Written with the operator's credentials, so its requests (the refused patch, then the
    // read that tells a namesake from an invalid status) are held against deploy/'s RBAC.
    let as_operator: Api<CostPolicy> = Api::all(cluster::client_from(&api_server().operator_kubeconfig).await);
    let stale = CostPolicyStatus { observed_generation: old.metadata.generation, findings: 42, ..CostPolicyStatus::default() };
    let refused = status::write(&as_operator, &old, &stale).await.expect_err("the old policy's status is refused");
    assert!(matches!(refused, status::StatusWriteError::Replaced { .. }), "{refused:?}");
    let stored = policies.get(&name).await.expect("get the namesake");
    assert!(stored.status.as_ref().is_none_or(|s| s.findings != 42), "the namesake got the old status: {:?}", stored.status);

    let own = CostPolicyStatus { observed_generation: namesake.metadata.generation, findings: 7, ..CostPolicyStatus::default() };
    status::write(&as_operator, &namesake, &own).await.expect("the namesake's own status is written");
    let stored = policies.get(&name).await.expect("get the namesake");
    assert_eq!(stored.status.map(|s| s.findings), Some(7));
    rbac::check_operator_requests(&api_server().audit_log, &["patch frugal.dev/costpolicies/status", "get frugal.dev/costpolicies"]);
}

/// The matching behind `rbac::check_operator_requests` refuses what deploy/ does not grant.
#[test]
fn deploy_rbac_allows_only_what_it_grants() {
    let deploy = DeployRbac::load();
    let (namespace, lease) = (deploy.namespace.as_str(), deploy.lease_name());
    let request = |verb: &str, group: &str, resource: &str, namespace: &str, name: &str| Request {
        verb: verb.to_string(),
        group: group.to_string(),
        resource: resource.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        path: format!("/apis/{group}/v1/{resource}"),
    };
    let allowed = [
        request("get", "frugal.dev", "costpolicies", "", "any"),
        request("watch", "frugal.dev", "costpolicies", "", ""),
        request("patch", "frugal.dev", "costpolicies/status", "", "any"),
        request("delete", "frugal.dev", "costpolicies", "", "any"),
        request("watch", "frugal.dev", "costpolicysets", "", ""),
        request("patch", "frugal.dev", "costpolicysets/status", "", "any"),
        request("create", "events.k8s.io", "events", "default", ""),
        request("create", "coordination.k8s.io", "leases", namespace, ""),
        request("update", "coordination.k8s.io", "leases", namespace, &lease),
        request("watch", "frugal.dev", "notifiers", "", ""),
        request("patch", "frugal.dev", "notifiers/status", "", "any"),
        // A Notifier's Secret, in the operator's namespace only.
        request("get", "", "secrets", namespace, "slack-webhook"),
        Request { path: "/apis/frugal.dev/v1alpha1".to_string(), ..request("get", "", "", "", "") },
    ];
    for request in &allowed {
        assert!(deploy.allows(request), "deploy/ grants {request}");
    }
    let refused = [
        request("delete", "frugal.dev", "costpolicysets", "", "any"),
        request("patch", "frugal.dev", "costpolicysets", "", "any"),
        request("update", "frugal.dev", "costpolicies/status", "", "any"),
        request("patch", "frugal.dev", "costpolicies/finalize", "", "any"),
        request("update", "coordination.k8s.io", "leases", namespace, "someone-else"),
        request("update", "coordination.k8s.io", "leases", "default", &lease),
        request("list", "coordination.k8s.io", "leases", namespace, ""),
        request("delete", "coordination.k8s.io", "leases", namespace, &lease),
        request("get", "", "secrets", "default", "aws"),
        request("list", "", "secrets", namespace, ""),
        request("watch", "", "secrets", namespace, ""),
        request("patch", "frugal.dev", "notifiers", "", "any"),
        Request { path: "/metrics".to_string(), ..request("get", "", "", "", "") },
    ];
    for request in &refused {
        assert!(!deploy.allows(request), "deploy/ does not grant {request}");
    }
}

/// The stand-ins hold the operator's Leases and Events to kube-apiserver's validation of
/// those types; here is what they refuse, so a test that passes on them means something.
#[tokio::test]
async fn the_lease_and_event_stand_ins_refuse_what_kube_apiserver_refuses() {
    let client = client().await;
    let valid = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": { "generateName": "stand-in-" },
        "eventTime": "2026-12-01T10:00:00.123456Z",
        "reportingController": CONTROLLER_NAME, "reportingInstance": "frugal-0",
        "action": "Reconcile", "reason": "Checked", "type": "Normal", "note": "fine",
        "regarding": { "apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicy", "name": "stand-in" },
    });
    // Each field set to a value kube-apiserver refuses; null removes the field.
    let invalid_events = [
        ("eventTime", Value::Null),
        ("reportingController", Value::Null),
        ("reportingController", json!("not a qualified name")),
        ("reportingInstance", json!("")),
        ("action", json!("a".repeat(129))),
        ("reason", Value::Null),
        ("type", json!("Info")),
        ("note", json!("n".repeat(1025))),
        ("series", json!({ "count": 1, "lastObservedTime": "2026-12-01T10:00:00Z" })),
        ("deprecatedCount", json!(3)),
    ];
    let events = typeless_api(&client, "events.k8s.io", "Event", "events");
    create_typeless(&events, valid.clone()).await.expect("a valid Event is admitted");
    for (field, value) in invalid_events {
        let mut event = valid.clone();
        if value.is_null() {
            event.as_object_mut().expect("an Event object").remove(field);
        } else {
            event[field] = value;
        }
        let refused = create_typeless(&events, event).await.expect_err(&format!("an Event with a bad {field} is refused"));
        assert!(matches!(&refused, kube::Error::Api(s) if s.code == 422 && s.message.contains(field)), "{field}: {refused}");
    }
    let leases = typeless_api(&client, "coordination.k8s.io", "Lease", "leases");
    let lease = |spec: Value| json!({ "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": { "generateName": "stand-in-" }, "spec": spec });
    create_typeless(&leases, lease(json!({ "holderIdentity": "a", "leaseDurationSeconds": 15 }))).await.expect("a valid Lease is admitted");
    for (field, spec) in
        [("leaseDurationSeconds", json!({ "leaseDurationSeconds": 0 })), ("leaseTransitions", json!({ "leaseTransitions": -1 }))]
    {
        let refused = create_typeless(&leases, lease(spec)).await.expect_err(&format!("a Lease with a bad {field} is refused"));
        assert!(matches!(&refused, kube::Error::Api(s) if s.code == 422 && s.message.contains(field)), "{field}: {refused}");
    }
}

fn typeless_api(client: &Client, group: &str, kind: &str, plural: &str) -> Api<DynamicObject> {
    let gvk = kube::api::GroupVersionKind::gvk(group, "v1", kind);
    Api::namespaced_with(client.clone(), "stand-in-checks", &kube::api::ApiResource::from_gvk_with_plural(&gvk, plural))
}

async fn create_typeless(api: &Api<DynamicObject>, object: Value) -> Result<DynamicObject, kube::Error> {
    let object: DynamicObject = serde_json::from_value(object).expect("a DynamicObject");
    api.create(&PostParams { dry_run: true, ..PostParams::default() }, &object).await
}
