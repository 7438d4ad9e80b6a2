//! Bad input: invalid CostPolicies are rejected with a message naming the field, never a
//! panic, never an AWS call (validation runs before any client exists).

use frugal_operator::api::CostPolicy;
use frugal_operator::api::validate::validate;
use proptest::prelude::*;

const BASE: &str = "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {name: bad}\nspec:\n";

/// Parses and validates `spec_yaml` (the lines under `spec:`); Err carries the message.
fn check(spec_yaml: &str) -> Result<(), String> {
    let text = format!("{BASE}{spec_yaml}");
    let policy: CostPolicy = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    validate(policy.metadata.name.as_deref().unwrap_or_default(), &policy.spec).map(|_| ()).map_err(|e| e.to_string())
}

const GOOD_AWS: &str = "  aws: {region: eu-west-1}\n";

/// `n` distinct, well-formed VPC ids.
fn vpc_ids(n: usize) -> String {
    (0..n).map(|i| format!("vpc-{i:08x}")).collect::<Vec<_>>().join(", ")
}

#[test]
fn forty_and_more_invalid_policies_are_rejected_naming_the_field() {
    let cases: Vec<(String, &str)> = vec![
        // wrong types and unknown enums (the CRD schema rejects these at admission too)
        (format!("{GOOD_AWS}  mode: Sometimes\n  gatewayEndpoints: {{services: [s3]}}\n"), "mode"),
        (format!("{GOOD_AWS}  mode: 3\n  gatewayEndpoints: {{services: [s3]}}\n"), "mode"),
        (format!("{GOOD_AWS}  deletionPolicy: Shred\n  gatewayEndpoints: {{services: [s3]}}\n"), "deletionPolicy"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s4]}}\n"), "services"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: s3}}\n"), "services"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], routeTables: Some}}\n"), "routeTables"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: thirty}}\n"), "maxAgeDays"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: -5}}\n"), "maxAgeDays"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 30, keepLatestPerVolume: -1}}\n"), "keepLatestPerVolume"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 30, maxDeletionsPerRun: 1.5}}\n"), "maxDeletionsPerRun"),
        (format!("{GOOD_AWS}  ssmAccess: {{revokeWorldSsh: maybe}}\n"), "revokeWorldSsh"),
        (format!("{GOOD_AWS}  ssmAccess: {{keyPairs: DeleteAll}}\n"), "keyPairs"),
        ("  aws: {region: 7}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "region"),
        ("  gatewayEndpoints: {services: [s3]}\n".to_string(), "aws"),
        // values the operator rejects after parsing
        ("  aws: {region: Europe}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.region"),
        ("  aws: {region: eu-west-1x}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.region"),
        ("  aws: {region: \"eu-wést-1\"}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.region"),
        ("  aws: {region: eu-west-1, roleArn: arn:aws:s3:::bucket}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.roleArn"),
        ("  aws: {region: eu-west-1, roleArn: \"arn:aws:iam::12:role/x\"}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.roleArn"),
        ("  aws: {region: eu-west-1, roleArn: \"arn:aws:iam::123456789012:role/\u{202e}evil\"}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.roleArn"),
        ("  aws: {region: eu-west-1, externalId: abc}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.externalId"),
        ("  aws: {region: eu-west-1, roleArn: \"arn:aws:iam::123456789012:role/x\", externalId: \"a\"}\n  gatewayEndpoints: {services: [s3]}\n".to_string(), "spec.aws.externalId"),
        (format!("{GOOD_AWS}  resyncInterval: 10s\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (format!("{GOOD_AWS}  resyncInterval: 48h\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (format!("{GOOD_AWS}  resyncInterval: 1d\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (format!("{GOOD_AWS}  resyncInterval: \"\"\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (format!("{GOOD_AWS}  resyncInterval: \"99999999999999999999h\"\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (GOOD_AWS.to_string(), "spec"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: []}}\n"), "spec.gatewayEndpoints.services"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3, s3]}}\n"), "spec.gatewayEndpoints.services"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcIds: [vpc-12345678], vpcSelector: {{tags: {{}}}}}}\n"), "spec.gatewayEndpoints.vpcIds"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcIds: []}}\n"), "spec.gatewayEndpoints.vpcIds"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcIds: [subnet-12345678]}}\n"), "spec.gatewayEndpoints.vpcIds[0]"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcSelector: {{tags: {{\"\": x}}}}}}\n"), "spec.gatewayEndpoints.vpcSelector.tags"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcSelector: {{tags: {{k: {}}}}}}}\n", "v".repeat(300)), "spec.gatewayEndpoints.vpcSelector.tags"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxDeletionsPerRun: 5}}\n"), "spec.snapshotRetention"),
        (format!("{GOOD_AWS}  mode: Enforce\n  snapshotRetention: {{maxAgeDays: 30}}\n"), "spec.snapshotRetention.maxDeletionsPerRun"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 0}}\n"), "spec.snapshotRetention.maxAgeDays"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 4000000}}\n"), "spec.snapshotRetention.maxAgeDays"),
        (format!("{GOOD_AWS}  snapshotRetention: {{keepLatestPerVolume: 100000}}\n"), "spec.snapshotRetention.keepLatestPerVolume"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 30, maxDeletionsPerRun: 0}}\n"), "spec.snapshotRetention.maxDeletionsPerRun"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 30, maxDeletionsPerRun: 99999999}}\n"), "spec.snapshotRetention.maxDeletionsPerRun"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 30, gracePeriod: soon}}\n"), "spec.snapshotRetention.gracePeriod"),
        (format!("{GOOD_AWS}  snapshotRetention: {{maxAgeDays: 30, gracePeriod: 100000h}}\n"), "spec.snapshotRetention.gracePeriod"),
        (format!("{GOOD_AWS}  ssmAccess: {{revokeWorldSsh: true, allowedSshCidrs: [\"10.0.0.0/33\"]}}\n"), "spec.ssmAccess.allowedSshCidrs"),
        (format!("{GOOD_AWS}  ssmAccess: {{revokeWorldSsh: true, allowedSshCidrs: [\"not-a-cidr\"]}}\n"), "spec.ssmAccess.allowedSshCidrs"),
        (format!("{GOOD_AWS}  ssmAccess: {{revokeWorldSsh: true, allowedSshCidrs: [\"0.0.0.0/0\"]}}\n"), "spec.ssmAccess.allowedSshCidrs"),
        (format!("{GOOD_AWS}  backup: {{vault: {{name: v}}, plan: {{name: p, rules: [{{name: r, schedule: \"cron(0 5 * * *)\", deleteAfterDays: 35}}]}}, selection: {{iamRoleArn: \"arn:aws:iam::123456789012:role/b\", tags: {{a: b}}}}}}\n"), "schedule"),
        (format!("{GOOD_AWS}  backup: {{vault: {{name: v}}, plan: {{name: p, rules: [{{name: r, schedule: \"cron(0 5 ? * * *)\", deleteAfterDays: 35, startWindowMinutes: 10}}]}}, selection: {{iamRoleArn: \"arn:aws:iam::123456789012:role/b\", tags: {{a: b}}}}}}\n"), "startWindowMinutes"),
        (format!("{GOOD_AWS}  backup: {{vault: {{name: v}}, plan: {{name: p, rules: [{{name: r, schedule: \"cron(0 5 ? * * *)\", deleteAfterDays: 100, moveToColdStorageAfterDays: 30}}]}}, selection: {{iamRoleArn: \"arn:aws:iam::123456789012:role/b\", tags: {{a: b}}}}}}\n"), "deleteAfterDays"),
        (format!("{GOOD_AWS}  backup: {{vault: {{name: v}}, plan: {{name: p, rules: [{{name: r, schedule: \"cron(0 5 ? * * *)\", deleteAfterDays: 35}}]}}, selection: {{iamRoleArn: \"not-an-arn\", tags: {{a: b}}}}}}\n"), "iamRoleArn"),
        // huge lists
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcIds: [{}]}}\n", vpc_ids(201)), "spec.gatewayEndpoints.vpcIds"),
        (format!("{GOOD_AWS}  ssmAccess: {{securityGroupIds: [{}]}}\n", (0..501).map(|i| format!("sg-{i:08x}")).collect::<Vec<_>>().join(", ")), "spec.ssmAccess.securityGroupIds"),
        (format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcSelector: {{tags: {{{}}}}}}}\n", (0..51).map(|i| format!("k{i}: v")).collect::<Vec<_>>().join(", ")), "spec.gatewayEndpoints.vpcSelector.tags"),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (spec, field) in &cases {
        match check(spec) {
            Ok(()) => panic!("accepted an invalid policy (expected an error naming {field}):\n{spec}"),
            Err(message) => assert!(message.contains(field), "the error for\n{spec}\nmust name {field:?}: {message}"),
        }
    }
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9:/.\\-]{0,40}",
        "\\PC{0,20}",
        Just("arn:aws:iam::123456789012:role/x".to_string()),
        Just("eu-west-1".to_string()),
        Just("10m".to_string()),
    ]
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        arb_text().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("mode".to_string()),
                    Just("aws".to_string()),
                    Just("region".to_string()),
                    Just("roleArn".to_string()),
                    Just("gatewayEndpoints".to_string()),
                    Just("services".to_string()),
                    Just("snapshotRetention".to_string()),
                    Just("maxAgeDays".to_string()),
                    Just("ssmAccess".to_string()),
                    Just("backup".to_string()),
                    "[a-zA-Z]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Fuzzing spec parsing and validation: any input is either a validated policy or an
    /// error that names a field; nothing panics.
    #[test]
    fn arbitrary_specs_never_panic_and_errors_name_a_field(spec in arb_json()) {
        let object = serde_json::json!({"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicy", "metadata": {"name": "fuzz"}, "spec": spec});
        if let Ok(policy) = serde_json::from_value::<CostPolicy>(object)
            && let Err(error) = validate("fuzz", &policy.spec)
        {
            prop_assert!(!error.0.is_empty());
            for field in &error.0 {
                prop_assert!(field.field.starts_with("spec") || field.field.starts_with("metadata"), "{:?}", field);
            }
        }
    }
}

#[test]
fn ten_thousand_bad_entries_give_a_short_message_that_fits_a_condition() {
    let ids = (0..10_000).map(|i| format!("subnet-{i}")).collect::<Vec<_>>().join(", ");
    // Too many ids, and each of the 10,000 malformed: 10,001 reasons.
    let message = check(&format!("{GOOD_AWS}  gatewayEndpoints: {{services: [s3], vpcIds: [{ids}]}}\n")).expect_err("invalid");
    assert!(message.starts_with("spec.gatewayEndpoints.vpcIds"), "{}", &message[..200]);
    assert!(message.ends_with("and 9991 more"), "the first ten reasons, then a count: {}", &message[message.len() - 200..]);
    assert!(message.len() < 2_000, "{} characters", message.len());
}
