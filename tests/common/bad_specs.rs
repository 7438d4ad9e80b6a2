//! Invalid CostPolicy specs, each with the field its error must name: shared by the
//! operator's validation tests (tests/bad_input.rs) and the API server's schema check
//! (tests/e2e.rs).

/// The lines under `spec:` of an invalid policy, and the field its error names.
pub type BadSpec = (String, &'static str);

pub const GOOD_AWS: &str = "  aws: {region: eu-west-1}\n";

/// `n` distinct, well-formed VPC ids.
pub fn vpc_ids(n: usize) -> String {
    (0..n).map(|i| format!("vpc-{i:08x}")).collect::<Vec<_>>().join(", ")
}

/// At least forty invalid specs: wrong types, unknown enums, negative and absurd numbers, bad
/// cron, CIDRs and ARNs, conflicting fields, huge lists, unicode oddities.
#[rustfmt::skip]
pub fn invalid_specs() -> Vec<BadSpec> {
    vec![
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
        (format!("{GOOD_AWS}  resyncInterval: 2d\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (format!("{GOOD_AWS}  resyncInterval: \"\"\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (format!("{GOOD_AWS}  resyncInterval: \"99999999999999999999h\"\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.resyncInterval"),
        (format!("{GOOD_AWS}  pricing: {{discountPercent: 101}}\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.pricing.discountPercent"),
        (format!("{GOOD_AWS}  pricing: {{discountPercent: -5}}\n  gatewayEndpoints: {{services: [s3]}}\n"), "spec.pricing.discountPercent"),
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
    ]
}
