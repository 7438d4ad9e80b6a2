//! `frugal plan|apply -f set.yaml`: a CostPolicySet run once over its accounts and regions,
//! as a user runs it: one summary line per account-region, totals, exit codes, JSON, and
//! AWS state, against the emulator.

mod common;

use std::io::{Read, Write};
use std::process::Output;

use aws_config::Region;
use common::{REGION, TestAccount};

/// The second region of the sets here (the emulator serves any region).
const OTHER_REGION: &str = "us-west-2";

/// The same emulator account, with test clients in `region`.
fn in_region(account: &TestAccount, region: &str) -> TestAccount {
    let config = account.config.to_builder().region(Region::new(region.to_string())).build();
    TestAccount {
        id: account.id.clone(),
        role_arn: account.role_arn.clone(),
        ec2: aws_sdk_ec2::Client::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        config,
    }
}

/// A set over `accounts` × [REGION, OTHER_REGION]: an s3 gateway endpoint in every VPC
/// tagged env=prod. TestAccount's roles are all named frugal-test.
fn set_yaml(accounts: &[&TestAccount], mode: &str) -> String {
    let ids: Vec<String> = accounts.iter().map(|a| format!("'{}'", a.id)).collect();
    format!(
        r#"apiVersion: frugal.dev/v1alpha1
kind: CostPolicySet
metadata: {{name: fleet}}
spec:
  accounts:
    ids: [{}]
    roleName: frugal-test
  regions: [{REGION}, {OTHER_REGION}]
  template:
    mode: {mode}
    gatewayEndpoints:
      services: [s3]
      vpcSelector: {{tags: {{env: prod}}}}
"#,
        ids.join(", ")
    )
}

fn frugal_with(args: &[&str], file_content: &str, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("set.yaml");
    std::fs::write(&path, file_content).expect("write set");
    let path_text = path.to_str().expect("utf-8 path").to_string();
    let mut command = common::frugal_command();
    command.args(args).args(["-f", &path_text, "--vpc-endpoint-pacing", "100/100"]).env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run frugal")
}

fn frugal(args: &[&str], file_content: &str) -> Output {
    frugal_with(args, file_content, &[])
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The summary line of an account-region: `ACCOUNT  REGION  POLICY  DRIFT  FINDINGS ...`.
fn line_of<'a>(text: &'a str, account: &str, region: &str) -> Vec<&'a str> {
    let found: Vec<&str> = text.lines().filter(|l| l.starts_with(&format!("{account}  {region} "))).collect();
    assert_eq!(found.len(), 1, "one line for {account} {region}:\n{text}");
    found[0].split_whitespace().collect()
}

/// (drift, findings) of an account-region's line.
fn drift_and_findings(text: &str, account: &str, region: &str) -> (String, String) {
    let cells = line_of(text, account, region);
    (cells[3].to_string(), cells[4].to_string())
}

#[tokio::test]
async fn a_set_over_three_accounts_and_two_regions_plans_applies_and_plans_clean() {
    let accounts = [TestAccount::new().await, TestAccount::new().await, TestAccount::new().await];
    let mut vpcs = Vec::new();
    for account in &accounts {
        vpcs.push((account, REGION, account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await));
    }
    let elsewhere = in_region(&accounts[0], OTHER_REGION);
    vpcs.push((&elsewhere, OTHER_REGION, elsewhere.seed_vpc("10.2.0.0/16", &[("env", "prod")], 1).await));
    let yaml = set_yaml(&accounts.iter().collect::<Vec<_>>(), "Enforce");

    let plan = frugal(&["plan"], &yaml);
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(2), "drift: exit 2\n{text}\n{}", stderr(&plan));
    assert!(text.starts_with("ACCOUNT  "), "the summary alone without -v:\n{text}");
    assert_eq!(text.lines().count(), 1 + 6 + 1, "header, one line per account-region, totals:\n{text}");
    for account in &accounts {
        assert_eq!(drift_and_findings(&text, &account.id, REGION), ("1".into(), "1".into()), "{text}");
        let expected = if account.id == accounts[0].id { "1" } else { "0" };
        assert_eq!(drift_and_findings(&text, &account.id, OTHER_REGION).0, expected, "{text}");
    }
    let totals = text.lines().last().unwrap_or_default();
    assert!(totals.starts_with("Total: 6 account-regions, 4 with drift, 0 failed; drift 4, findings 4, waste $"), "{totals}");
    // Account ids are random: the lines are sorted by account, then region.
    let order: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .take(6)
        .map(|l| l.split_whitespace().take(2).map(str::to_string).collect::<Vec<_>>())
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    for (account, _, vpc) in &vpcs {
        assert!(account.endpoints(&vpc.vpc_id).await.is_empty(), "plan changes nothing");
    }
    assert!(!stderr(&plan).contains('\r'), "no progress line off a terminal: {:?}", stderr(&plan));

    let apply = frugal(&["apply", "-v"], &yaml);
    let applied = stdout(&apply);
    assert_eq!(apply.status.code(), Some(0), "{applied}\n{}", stderr(&apply));
    assert_eq!(applied.matches("Apply complete: 1 changes made, 0 skipped, 0 failed.").count(), 4, "-v shows each run:\n{applied}");
    assert!(applied.lines().last().unwrap_or_default().starts_with("Total: 6 account-regions, 4 with drift, 0 failed;"), "{applied}");
    for (account, region, vpc) in &vpcs {
        assert_eq!(account.endpoints(&vpc.vpc_id).await.len(), 1, "{} {region}", account.id);
    }

    let again = frugal(&["plan"], &yaml);
    assert_eq!(again.status.code(), Some(0), "{}\n{}", stdout(&again), stderr(&again));
    assert!(
        stdout(&again)
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("Total: 6 account-regions, 0 with drift, 0 failed; drift 0, findings 0,"),
        "{}",
        stdout(&again)
    );
}

/// A proxy for STS in front of the emulator that refuses AssumeRole into one account, as
/// a role whose trust policy does not name the CLI's credentials does. On its own threads:
/// the test's runtime is blocked while the CLI runs.
fn sts_denying(account: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let upstream = common::emulator().url.trim_start_matches("http://").to_string();
    let denied = format!("arn%3Aaws%3Aiam%3A%3A{account}%3A");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (upstream, denied) = (upstream.clone(), denied.clone());
            std::thread::spawn(move || {
                let request = read_request(&mut stream);
                let text = String::from_utf8_lossy(&request);
                if text.contains("Action=AssumeRole") && text.contains(&denied) {
                    let body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole</Message></Error><RequestId>1</RequestId></ErrorResponse>";
                    let _ = write!(
                        stream,
                        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    return;
                }
                let mut emulator = std::net::TcpStream::connect(&upstream).expect("connect to emulator");
                emulator.write_all(&request).expect("forward");
                let mut answer = Vec::new();
                let _ = emulator.read_to_end(&mut answer);
                let _ = stream.write_all(&answer);
            });
        }
    });
    url
}

/// One HTTP request, its headers rewritten to close the connection after the answer.
fn read_request(stream: &mut std::net::TcpStream) -> Vec<u8> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buffer).expect("read request");
        assert!(n > 0, "connection closed mid-request");
        data.extend_from_slice(&buffer[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while data.len() < head_end + 4 + length {
        let n = stream.read(&mut buffer).expect("read body");
        assert!(n > 0, "connection closed mid-body");
        data.extend_from_slice(&buffer[..n]);
    }
    let headers: Vec<&str> = head.lines().filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
    let mut request = format!("{}\r\nConnection: close\r\n\r\n", headers.join("\r\n")).into_bytes();
    request.extend_from_slice(&data[head_end + 4..]);
    request
}

#[tokio::test]
async fn an_account_whose_role_cannot_be_assumed_fails_alone_and_exits_1() {
    let accounts = [TestAccount::new().await, TestAccount::new().await, TestAccount::new().await];
    for account in &accounts {
        account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    }
    let proxy = sts_denying(&accounts[1].id);
    let yaml = set_yaml(&accounts.iter().collect::<Vec<_>>(), "Audit");

    let plan = frugal_with(&["plan"], &yaml, &[("AWS_ENDPOINT_URL_STS", &proxy)]);
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(1), "a failure wins over drift\n{text}\n{}", stderr(&plan));
    for region in [REGION, OTHER_REGION] {
        let denied = line_of(&text, &accounts[1].id, region).join(" ");
        // STS's own answer, not the credential chain's hint: the chain found credentials.
        assert!(
            denied.contains("failed (access_denied): the role could not be assumed: sts:AssumeRole answered AccessDenied: not authorized to perform sts:AssumeRole"),
            "the error shows on the line: {denied}"
        );
    }
    for account in [&accounts[0], &accounts[2]] {
        assert_eq!(drift_and_findings(&text, &account.id, REGION), ("1".into(), "1".into()), "the others still ran:\n{text}");
        assert_eq!(line_of(&text, &account.id, REGION).last().copied(), Some("-"), "{text}");
    }
    assert!(text.lines().last().unwrap_or_default().starts_with("Total: 6 account-regions, 2 with drift, 2 failed;"), "{text}");
    assert_eq!(stderr(&plan).lines().filter(|l| l.starts_with(&format!("error: {} ", accounts[1].id))).count(), 2, "{}", stderr(&plan));
}

#[tokio::test]
async fn json_output_is_one_object_per_account_region() {
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    let yaml = set_yaml(&[&account], "Audit");

    let plan = frugal(&["plan", "-o", "json"], &yaml);
    assert_eq!(plan.status.code(), Some(2), "{}", stderr(&plan));
    let reports: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("JSON on stdout");
    let reports = reports.as_array().expect("an array");
    let places: Vec<(&str, &str, &str)> = reports
        .iter()
        .map(|r| (r["account"].as_str().unwrap_or(""), r["region"].as_str().unwrap_or(""), r["policy"].as_str().unwrap_or("")))
        .collect();
    let (first, second) = (format!("fleet-{}-{REGION}", account.id), format!("fleet-{}-{OTHER_REGION}", account.id));
    assert_eq!(places, [(account.id.as_str(), REGION, first.as_str()), (account.id.as_str(), OTHER_REGION, second.as_str())]);
    assert_eq!(reports[0]["set"], "fleet");
    assert_eq!(reports[0]["gatewayEndpoints"]["drift"][0]["action"], "createEndpoint");
    assert_eq!(reports[0]["status"]["findings"], 1);
    assert!(reports[0].get("error").is_none(), "{}", reports[0]);
    assert!(reports[0]["awsRequests"].is_null(), "account-regions running at once cannot tell their requests apart");

    let one_at_a_time = frugal(&["plan", "-o", "json", "--parallel", "1"], &yaml);
    let reports: serde_json::Value = serde_json::from_slice(&one_at_a_time.stdout).expect("JSON on stdout");
    assert!(reports[0]["awsRequests"].as_array().is_some_and(|r| !r.is_empty()), "{}", reports[0]);
}

#[tokio::test]
async fn a_bad_template_field_is_refused_with_its_place_and_nothing_in_aws_is_touched() {
    let account = TestAccount::new().await;
    let valid = set_yaml(&[&account], "Enforce");
    // The reader refuses a value out of the schema's range; the validation, an Enforce
    // template that does not bound its deletions.
    let out_of_range =
        valid.replace("    gatewayEndpoints:", "    snapshotRetention: {maxAgeDays: -5, maxDeletionsPerRun: 5}\n    gatewayEndpoints:");
    let unbounded = valid.replace("    gatewayEndpoints:", "    snapshotRetention: {maxAgeDays: 30}\n    gatewayEndpoints:");
    for command in ["plan", "apply"] {
        let output = frugal(&[command], &out_of_range);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let errors = stderr(&output);
        assert!(
            errors.contains("set.yaml:11:37: spec.template.snapshotRetention.maxAgeDays: -5 is out of range: from 1 to 36500"),
            "{errors}"
        );
        let output = frugal(&[command], &unbounded);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert_eq!(stdout(&output), "", "no account-region ran");
        let errors: Vec<String> = stderr(&output).lines().map(|l| l.rsplit("set.yaml:").next().unwrap_or(l).to_string()).collect();
        assert_eq!(
            errors,
            [
                "11:5: spec.template.snapshotRetention.maxDeletionsPerRun: is required in Enforce mode (the most snapshots one run may delete)",
                "error: set \"fleet\" is invalid, nothing in AWS was touched"
            ]
        );
    }
    let typo = frugal(&["plan"], &valid.replace("services:", "servces:"));
    assert_eq!(typo.status.code(), Some(1));
    assert!(stderr(&typo).contains("set.yaml:12:7: spec.template.gatewayEndpoints.servces: unknown field"), "{}", stderr(&typo));
    let json = frugal(&["plan", "-o", "json"], &unbounded);
    let entries: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
    assert_eq!(entries[0]["set"], "fleet");
    assert_eq!(entries[0]["error"]["stage"], "validate");
    assert_eq!(entries[0]["error"]["field"], "spec.template.snapshotRetention.maxDeletionsPerRun");
    assert_eq!(entries[0]["error"]["line"], 11);
    assert!(account.requests().await.is_empty(), "no AWS request: {:?}", account.requests().await);
}

#[tokio::test]
async fn a_policy_and_a_set_in_one_file_see_each_others_conflicts() {
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    let policy = format!(
        r#"apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {{name: by-hand}}
spec:
  mode: Audit
  aws: {{region: {REGION}, roleArn: "{}"}}
  gatewayEndpoints:
    services: [s3]
    vpcSelector: {{tags: {{env: prod}}}}
"#,
        account.role_arn
    );
    let plan = frugal(&["plan", "-v"], &format!("{policy}---\n{}", set_yaml(&[&account], "Audit")));
    let text = stdout(&plan);
    assert_eq!(plan.status.code(), Some(2), "{text}\n{}", stderr(&plan));
    let generated = format!("fleet-{}-{REGION}", account.id);
    assert!(text.contains(&format!("Conflict: gatewayEndpoints governs what CostPolicy {generated} also governs")), "{text}");
    assert!(text.contains("Conflict: gatewayEndpoints governs what CostPolicy by-hand also governs"), "{text}");
    assert_eq!(line_of(&text, &account.id, OTHER_REGION)[2], format!("fleet-{}-{OTHER_REGION}", account.id));
    assert!(text.lines().last().unwrap_or_default().starts_with("Total: 3 account-regions,"), "{text}");
}

#[test]
fn parallel_below_one_is_a_usage_error() {
    let output = common::frugal_command().args(["plan", "--parallel", "0", "-f", "set.yaml"]).output().expect("run frugal");
    assert_eq!(output.status.code(), Some(64), "{}", stderr(&output));
    assert!(stderr(&output).contains("--parallel"), "{}", stderr(&output));
}
