//! No credential, token or signed header value ever reaches the operator's output: logs at
//! the most verbose level (text and JSON), the printed plan and status, error messages. The
//! test injects marker credentials and greps everything the process wrote for them.

mod common;

use std::process::{Command, Output};

use common::{REGION, TestAccount, emulator};

const ACCESS_KEY_ID: &str = "AKIAFRUGALLEAKCHECK7";
const SECRET_ACCESS_KEY: &str = "frugal+secret/key+that+must+never+be+logged";
const SESSION_TOKEN: &str = "frugal-session-token-that-must-never-be-logged";
/// Parts of a SigV4-signed request and of STS answers that carry secrets.
const SECRET_SHAPES: [&str; 6] =
    ["Signature=", "Credential=", "X-Amz-Security-Token", "SecretAccessKey", "<SessionToken>", "aws_session_token"];

fn policy(account: &TestAccount) -> String {
    format!(
        "apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {{name: secrets}}
spec:
  mode: Enforce
  aws: {{region: {REGION}, roleArn: '{}'}}
  gatewayEndpoints: {{services: [s3], vpcSelector: {{tags: {{env: prod}}}}}}
  snapshotRetention: {{maxAgeDays: 30, maxDeletionsPerRun: 5, gracePeriod: 0s}}
  ssmAccess: {{revokeWorldSsh: true}}
",
        account.role_arn
    )
}

fn frugal(args: &[&str], policy: &str, endpoint: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, policy).expect("write policy");
    Command::new(env!("CARGO_BIN_EXE_frugal"))
        .args(args)
        .arg("-f")
        .arg(&path)
        .args(["--vpc-endpoint-pacing", "100/100"])
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "trace")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run frugal")
}

fn assert_no_secret(what: &str, output: &Output) {
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(text.len() > 200, "{what}: the run printed almost nothing, so the check would prove nothing:\n{text}");
    for secret in [ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN].iter().chain(&SECRET_SHAPES) {
        if let Some(at) = text.find(secret) {
            let context = &text[at.saturating_sub(300)..(at + secret.len() + 100).min(text.len())];
            panic!("{what}: the output contains {secret:?}:\n...{context}...");
        }
    }
}

#[tokio::test]
async fn trace_logs_plans_and_status_never_show_credentials() {
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    let (_, old) = account.snapshots_of_new_volume(2, 10).await;
    account.age_snapshots(&old, 40).await;
    let group = account.security_group("open").await;
    account.allow_tcp(&group, 22, 22, "0.0.0.0/0", None).await;
    let yaml = policy(&account);

    let plan = frugal(&["plan", "-o", "json"], &yaml, &emulator().url);
    assert_eq!(plan.status.code(), Some(2), "{}", String::from_utf8_lossy(&plan.stderr));
    assert_no_secret("frugal plan -o json", &plan);
    let apply = frugal(&["--log-format", "json", "apply", "-o", "json"], &yaml, &emulator().url);
    assert_eq!(apply.status.code(), Some(0), "{}", String::from_utf8_lossy(&apply.stderr));
    assert_no_secret("frugal apply -o json with JSON logs", &apply);
    assert!(account.snapshot_ids().await.is_empty(), "the apply really ran");
}

#[tokio::test]
async fn errors_never_show_credentials() {
    let account = TestAccount::new().await;
    // Nothing listens there: every call fails after its retries, and the errors are printed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let failed = frugal(&["plan"], &policy(&account), &format!("http://{closed}"));
    assert_eq!(failed.status.code(), Some(1), "{}", String::from_utf8_lossy(&failed.stdout));
    assert_no_secret("frugal plan against an endpoint that refuses connections", &failed);
}
