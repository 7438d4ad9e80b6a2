//! The one-shot CLI (`frugal plan`, `frugal apply`) as a user runs it: exit codes, output
//! and AWS state, against the emulator.

mod common;

use std::process::{Command, Output};

use common::{REGION, TestAccount};

fn policy_yaml(account: &TestAccount, mode: &str) -> String {
    format!(
        r#"apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {{name: cli-test}}
spec:
  mode: {mode}
  aws: {{region: {REGION}, roleArn: "{}"}}
  gatewayEndpoints:
    services: [s3, dynamodb]
    vpcSelector: {{tags: {{env: prod}}}}
"#,
        account.role_arn
    )
}

fn frugal(args: &[&str], file_content: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, file_content).expect("write policy");
    let mut full: Vec<&str> = args.to_vec();
    let path_text = path.to_str().expect("utf-8 path").to_string();
    full.extend(["-f", &path_text, "--vpc-endpoint-pacing", "100/100"]);
    common::frugal_command().args(&full).env("RUST_LOG", "warn").output().expect("run frugal")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn plan_exits_2_on_drift_apply_fixes_it_and_plan_then_exits_0() {
    let account = TestAccount::new().await;
    let vpc = account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 2).await;
    let yaml = policy_yaml(&account, "Enforce");

    let plan = frugal(&["plan"], &yaml);
    assert_eq!(plan.status.code(), Some(2), "{}\n{}", stdout(&plan), stderr(&plan));
    let text = stdout(&plan);
    assert!(
        text.contains(&vpc.vpc_id) && text.contains("+ s3") && text.contains("Plan: 2 to create, 0 to change, 0 to destroy."),
        "{text}"
    );
    assert!(account.endpoints(&vpc.vpc_id).await.is_empty(), "plan changes nothing");
    assert!(!text.contains("Ready="), "the status a plan computes assumes its changes were made: not the account's verdict\n{text}");

    let apply = frugal(&["apply"], &yaml);
    assert_eq!(apply.status.code(), Some(0), "{}\n{}", stdout(&apply), stderr(&apply));
    assert!(
        stdout(&apply)
            .contains("Apply complete: 2 changes made, 0 skipped, 0 failed.\nReady=True (Reconciled): every planned change succeeded"),
        "{}",
        stdout(&apply)
    );
    assert_eq!(account.endpoints(&vpc.vpc_id).await.len(), 2);

    let again = frugal(&["plan"], &yaml);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert!(stdout(&again).contains("No changes.\nReady=True (InSync): the account matches the policy"), "{}", stdout(&again));
}

#[tokio::test]
async fn apply_of_an_audit_policy_changes_nothing() {
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    account.clear_requests().await;
    let apply = frugal(&["apply"], &policy_yaml(&account, "Audit"));
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    assert!(stdout(&apply).contains("Audit mode"), "{}", stdout(&apply));
    let mutating = account.mutating_requests().await;
    assert!(mutating.is_empty(), "{mutating:?}");
}

#[tokio::test]
async fn invalid_policy_exits_1_naming_the_field_without_any_aws_call() {
    let account = TestAccount::new().await;
    let yaml = policy_yaml(&account, "Enforce").replace("region: eu-west-1", "region: Europe");
    let plan = frugal(&["apply"], &yaml);
    assert_eq!(plan.status.code(), Some(1));
    assert!(stderr(&plan).contains("spec.aws.region"), "{}", stderr(&plan));
    assert!(account.requests().await.is_empty(), "no AWS call for an invalid spec");
}

#[tokio::test]
async fn a_file_that_is_not_a_cost_policy_is_an_error_not_a_panic() {
    for content in ["kind: ConfigMap\nmetadata: {name: x}\n", "{{{", "", "spec: {mode: Sometimes}\n"] {
        let output = frugal(&["plan"], content);
        assert_eq!(output.status.code(), Some(1), "{content:?}: {}", stderr(&output));
        assert!(stderr(&output).starts_with("error: "), "{content:?}: {}", stderr(&output));
        assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
    }
}

#[tokio::test]
async fn json_output_carries_the_drift_and_the_status() {
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    let plan = frugal(&["plan", "-o", "json"], &policy_yaml(&account, "Audit"));
    assert_eq!(plan.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("JSON output");
    let first = &report[0];
    assert_eq!(first["policy"], "cli-test");
    assert_eq!(first["gatewayEndpoints"]["drift"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["gatewayEndpoints"]["drift"][0]["action"], "createEndpoint");
    assert_eq!(first["status"]["findings"], 2);
}

/// `frugal plan -f examples/audit-all-vpcs.yaml` with an endpoint where nothing listens.
fn plan_an_example_against_a_closed_port(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_frugal"))
        .args(["plan", "-f", "examples/audit-all-vpcs.yaml"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("RUST_LOG", "off")
        .output()
        .expect("run frugal")
}

#[tokio::test]
async fn unreachable_account_is_an_error_naming_the_operation() {
    let output = plan_an_example_against_a_closed_port(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: policy \"audit-euw1-s3\": cannot reach AWS: GetCallerIdentity failed (network): cannot connect to \
         http://127.0.0.1:9: connection refused\n"
    );
}

#[test]
fn no_credentials_is_one_plain_line_saying_where_the_chain_looked() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = Command::new(env!("CARGO_BIN_EXE_frugal"))
        .args(["plan", "-f", "examples/audit-all-vpcs.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("run frugal");
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "one line, no provider warnings: {text}");
    assert!(
        text.starts_with(
            "error: policy \"audit-euw1-s3\": cannot reach AWS: GetCallerIdentity failed (credentials): no AWS credentials found; looked in"
        ),
        "{text}"
    );
    assert!(text.contains("looked in the environment (AWS_ACCESS_KEY_ID)"), "{text}");
    assert!(!text.contains('\u{1b}'), "no colour codes off a terminal: {text:?}");
}

#[test]
fn run_without_a_cluster_says_so_once_without_colour() {
    let output = common::frugal_command()
        .args(["run", "--leader-election=false", "--metrics-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("run frugal");
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert_eq!(text.matches("cannot build a Kubernetes client").count(), 1, "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
}

#[test]
fn iam_policy_of_a_file_never_tells_the_user_to_use_the_file_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_frugal"))
        .args(["iam-policy", "-f", "examples/demo.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run frugal");
    assert!(output.status.success(), "{}", stderr(&output));
    let notes = stderr(&output);
    assert!(notes.contains("a managed policy holds at most 6144"), "the demo's document is large: {notes}");
    assert!(!notes.contains("-f"), "{notes}");
}

/// `frugal crd | head -1`: the reader goes away; frugal neither panics nor fails.
#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    for args in [&["crd"][..], &["iam-policy"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_frugal"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run frugal");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        assert!(!stderr(&output).contains("panicked"), "{args:?}: {}", stderr(&output));
        assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn iam_policy_is_valid_json_with_the_actions_used() {
    let output = Command::new(env!("CARGO_BIN_EXE_frugal")).arg("iam-policy").output().expect("run frugal");
    assert!(output.status.success());
    let policy: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let actions: Vec<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    for needed in
        ["ec2:DescribeVpcEndpoints", "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints", "cloudwatch:GetMetricData"]
    {
        assert!(actions.iter().any(|a| a == needed), "{needed} missing from {actions:?}");
    }
}

#[tokio::test]
async fn two_policies_of_one_file_governing_the_same_snapshots_delete_only_what_both_expire() {
    let account = TestAccount::new().await;
    let (_, snapshots) = account.snapshots_of_new_volume(2, 8).await;
    account.age_snapshots(&snapshots[..1], 400).await;
    account.age_snapshots(&snapshots[1..], 40).await;
    let policy = |name: &str, max_age_days: u32| {
        format!(
            r#"apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {{name: {name}}}
spec:
  mode: Enforce
  aws: {{region: {REGION}, roleArn: "{}"}}
  snapshotRetention: {{maxAgeDays: {max_age_days}, gracePeriod: 0s, maxDeletionsPerRun: 10}}
"#,
            account.role_arn
        )
    };
    let yaml = format!("{}---\n{}", policy("short", 30), policy("long", 365));

    let apply = frugal(&["apply"], &yaml);
    let text = stdout(&apply);
    assert_eq!(apply.status.code(), Some(0), "{text}\n{}", stderr(&apply));
    assert!(text.contains("Conflict: snapshotRetention governs what CostPolicy long also governs"), "{text}");
    assert!(text.contains("Conflict: snapshotRetention governs what CostPolicy short also governs"), "{text}");
    let left = account.snapshot_ids().await;
    assert!(!left.contains(&snapshots[0]), "400 days old: both policies expire it");
    assert!(left.contains(&snapshots[1]), "40 days old: the 365-day policy keeps it, and the stricter safety wins");
}

#[tokio::test]
async fn a_plan_with_snapshots_waiting_for_their_grace_period_says_so_and_exits_2() {
    let account = TestAccount::new().await;
    let (_, snapshots) = account.snapshots_of_new_volume(2, 8).await;
    account.age_snapshots(&snapshots, 40).await;
    let yaml = format!(
        r#"apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {{name: grace}}
spec:
  mode: Enforce
  aws: {{region: {REGION}, roleArn: "{}"}}
  snapshotRetention: {{maxAgeDays: 30, gracePeriod: 24h, maxDeletionsPerRun: 10}}
"#,
        account.role_arn
    );
    let apply = frugal(&["apply"], &yaml);
    assert_eq!(apply.status.code(), Some(0), "{}\n{}", stdout(&apply), stderr(&apply));
    // One CreateTags call for two snapshots: counted as two in the plan and in the apply.
    let applied = stdout(&apply);
    assert!(applied.contains("Plan: 0 to create, 2 to change, 0 to destroy."), "{applied}");
    assert!(applied.contains("Apply complete: 2 changes made, 0 skipped, 0 failed."), "{applied}");

    let plan = frugal(&["plan"], &yaml);
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(2), "expired snapshots are still there: drift\n{text}");
    assert!(
        text.contains("No changes.\nReady=True (DeletionPending): SnapshotsInSync: deleted 0; 2 expiring within the grace period"),
        "{text}"
    );
    assert!(text.contains("  SnapshotsInSync=False (DeletionPending)"), "{text}");
    assert_eq!(account.snapshot_ids().await.len(), 2, "nothing deleted before the grace period");
}

/// The operator's own request counts by operation, service sts excluded (AssumeRole is
/// made with the base credentials, so the emulator records it under another account).
fn counted(report: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for r in report["awsRequests"].as_array().expect("awsRequests is a list") {
        assert_eq!(r["outcome"], "success", "{r}");
        // The SDK's service name (STS), not the signing name (sts) the emulator records.
        if r["service"] != "STS" {
            *counts.entry(r["operation"].as_str().expect("operation").to_string()).or_default() += r["count"].as_u64().expect("count");
        }
    }
    counts
}

#[tokio::test]
async fn json_output_counts_the_aws_requests_as_the_emulator_records_them() {
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    account.clear_requests().await;
    let audit = policy_yaml(&account, "Audit");
    let two = format!("{audit}---\n{}", audit.replace("name: cli-test", "name: cli-test-2"));
    let plan = frugal(&["plan", "-o", "json"], &two);
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    let reports: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("JSON output");

    let first = counted(&reports[0]);
    assert!(first.get("DescribeVpcs").is_some_and(|n| *n >= 1), "{first:?}");
    assert!(counted(&reports[1]).is_empty(), "the second policy of the account shares the first one's reads: {}", reports[1]);
    let mut recorded = std::collections::BTreeMap::new();
    for r in account.requests().await.into_iter().filter(|r| r.service != "sts") {
        *recorded.entry(r.operation).or_insert(0u64) += 1;
    }
    assert_eq!(first, recorded, "the operator's count matches the emulator's request log");
}

/// The issue's typos: each dropped a safety rule silently (the keep tag, keep-newest). Now
/// the file is refused naming the field and the field meant, and AWS is never asked.
#[tokio::test]
async fn a_typo_in_a_spec_is_refused_naming_the_field_meant_without_any_aws_call() {
    let account = TestAccount::new().await;
    let yaml = format!(
        "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: typo}}\nspec:\n  mode: Enforce\n  aws: {{region: {REGION}, roleArn: \"{}\"}}\n  snapshotRetention:\n    maxAgeDays: 30\n    exlude: {{tags: {{frugal.dev/keep: \"true\"}}}}\n    keepLatestPerVolum: 3\n    maxDeletionsPerRun: 10\n",
        account.role_arn
    );
    for command in ["plan", "apply"] {
        let output = frugal(&[command], &yaml);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let lines: Vec<String> = stderr(&output).lines().map(|l| l.rsplit("policy.yaml:").next().unwrap_or(l).to_string()).collect();
        assert_eq!(
            lines,
            [
                "9:5: spec.snapshotRetention.exlude: unknown field; did you mean exclude?",
                "10:5: spec.snapshotRetention.keepLatestPerVolum: unknown field; did you mean keepLatestPerVolume?",
                "error: nothing was observed or changed",
            ],
            "{}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    }
    let kind = frugal(
        &["plan"],
        &yaml.replace("kind: CostPolicy", "kind: CostPolicies").replace("exlude", "exclude").replace("Volum:", "Volume:"),
    );
    assert_eq!(kind.status.code(), Some(1));
    assert!(stderr(&kind).contains("policy.yaml:2:7: kind: \"CostPolicies\" is not \"CostPolicy\""), "{}", stderr(&kind));
    assert!(account.requests().await.is_empty(), "nothing observed: {:?}", account.requests().await);
}

#[tokio::test]
async fn a_type_error_names_the_file_line_column_and_field() {
    let account = TestAccount::new().await;
    let yaml = policy_yaml(&account, "Audit") + "  snapshotRetention: {maxAgeDays: -5}\n";
    let output = frugal(&["plan"], &yaml);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("policy.yaml:10:35: spec.snapshotRetention.maxAgeDays: -5 is out of range: from 1 to 36500"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_64_never_the_drift_code() {
    for args in [&[][..], &["plan"], &["plan", "-f", "x.yaml", "-o", "xml"], &["plan", "--bogus", "-f", "x.yaml"], &["nonsense"]] {
        let output = common::frugal_command().args(args).output().expect("run frugal");
        assert_eq!(output.status.code(), Some(64), "{args:?}: {}", stderr(&output));
        assert!(!stderr(&output).is_empty(), "{args:?} says what is wrong");
    }
    let help = common::frugal_command().arg("--help").output().expect("run frugal");
    assert_eq!(help.status.code(), Some(0));
    assert!(
        stdout(&help).contains("Exit codes: 0 in sync (plan) or done, 1 an error in a spec or in AWS, 2 drift (plan), 64 a usage error.")
    );
}

#[tokio::test]
async fn json_output_of_a_refused_file_is_an_error_object_naming_the_field() {
    let account = TestAccount::new().await;
    let yaml = policy_yaml(&account, "Audit").replace("services:", "servces:");
    let output = frugal(&["plan", "-o", "json"], &yaml);
    assert_eq!(output.status.code(), Some(1));
    let entries: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let error = &entries[0]["error"];
    assert_eq!(error["stage"], "read");
    assert_eq!(error["field"], "spec.gatewayEndpoints.servces");
    assert_eq!(error["line"], 8);
    assert_eq!(error["message"], "unknown field; did you mean services?");

    let invalid = frugal(&["plan", "-o", "json"], &policy_yaml(&account, "Audit").replace(REGION, "Europe"));
    assert_eq!(invalid.status.code(), Some(1));
    let entries: serde_json::Value = serde_json::from_slice(&invalid.stdout).expect("JSON on stdout");
    assert_eq!(entries[0]["policy"], "cli-test");
    assert_eq!(entries[0]["error"]["stage"], "validate");
    assert_eq!(entries[0]["error"]["field"], "spec.aws.region");
    assert!(account.requests().await.is_empty());
}

#[test]
fn json_output_of_an_unreachable_account_names_the_operation() {
    let output = plan_an_example_against_a_closed_port(&["-o", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let entries: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_eq!(entries[0]["error"]["stage"], "connect");
    assert_eq!(entries[0]["error"]["operation"], "GetCallerIdentity");
}

#[tokio::test]
async fn a_directory_and_standard_input_are_read_like_kubectl_reads_them() {
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.yaml"), policy_yaml(&account, "Audit")).expect("write");
    std::fs::write(dir.path().join("b.yml"), policy_yaml(&account, "Audit").replace("name: cli-test", "name: second")).expect("write");
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").expect("write");
    let output = common::frugal_command().args(["plan", "-o", "json", "-f"]).arg(dir.path()).output().expect("run frugal");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let reports: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let names: Vec<&str> = reports.as_array().expect("array").iter().filter_map(|r| r["policy"].as_str()).collect();
    assert_eq!(names, ["cli-test", "second"]);

    let mut child = common::frugal_command()
        .args(["plan", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run frugal");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), policy_yaml(&account, "Audit").replace(REGION, "Europe").as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("<stdin>:6:"), "{}", stderr(&output));
}

#[tokio::test]
async fn a_policy_with_a_role_into_the_operators_own_account_and_one_without_are_one_account_for_access_keys() {
    // The CLI's own credentials are the emulator's default account; a role into that account
    // reaches the same IAM users, so only one of the two policies may act on their keys.
    let policy = |name: &str, aws: &str| {
        format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: {name}}}\nspec:\n  mode: Audit\n  aws: {aws}\n  accessKeys: {{deactivateUnused: true}}\n"
        )
    };
    let own = policy("keys-own", &format!("{{region: {REGION}}}"));
    // 123456789012: the account moto maps unknown static credentials to.
    let role = policy("keys-role", "{region: us-east-1, roleArn: 'arn:aws:iam::123456789012:role/frugal'}");
    let plan = frugal(&["plan", "-o", "json"], &format!("{own}---\n{role}"));
    let reports: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("JSON");
    let condition =
        |i: usize| reports[i]["status"]["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "AccessKeysInSync")).cloned();
    let (first, second) = (condition(0).expect("keys-own's condition"), condition(1).expect("keys-role's condition"));
    assert_eq!(first["reason"], "Conflict", "{first:#}");
    assert_eq!(second["reason"], "Conflict", "{second:#}");
    let message = second["message"].as_str().unwrap_or_default();
    assert!(message.contains("only keys-own (the smallest name) acts"), "{message}");
}
