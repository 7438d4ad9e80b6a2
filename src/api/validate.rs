//! Validation: turns a `CostPolicy` into a [`ValidatedPolicy`], the only input the
//! planning and acting steps accept, so invalid input cannot reach AWS. Every rule that
//! the CRD schema or CEL enforces is checked here too, for clusters that ignore CEL.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::policy::{AwsTarget, CostPolicySpec, DeletionPolicy, Mode, RouteTableScope, SnapshotRetentionSpec};
use super::services::GatewayService;

const MIN_RESYNC: Duration = Duration::from_secs(30);
const MAX_RESYNC: Duration = Duration::from_secs(24 * 3600);
const MAX_TAG_KEY_LEN: usize = 128;
const MAX_TAG_VALUE_LEN: usize = 256;
const MAX_GRACE_PERIOD: Duration = Duration::from_secs(365 * 86_400);
const MAX_DELETIONS_PER_RUN: u32 = 10_000;
/// As the CRD schema's maxItems.
const MAX_VPC_IDS: usize = 200;

mod backup;
pub mod cron;
mod ssm_access;
pub use backup::{BackupDesired, BackupRuleDesired, DEFAULT_SELECTION_NAME, SelectionDesired};
pub use ssm_access::{Cidr, DEFAULT_DHMC_ROLE, InstanceProfileDesired, SecurityGroupScope, SsmAccessDesired};

/// One reason a spec is invalid, naming the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `spec.aws.region`.
    pub field: String,
    pub message: String,
}

/// All the reasons a spec is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", listed(.0))]
pub struct InvalidSpec(pub Vec<FieldError>);

/// The first reasons shown in messages: a spec with thousands of bad entries must still fit
/// a condition message and an Event.
const MAX_LISTED_ERRORS: usize = 10;

fn listed(errors: &[FieldError]) -> String {
    let mut text = errors.iter().take(MAX_LISTED_ERRORS).map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
    if errors.len() > MAX_LISTED_ERRORS {
        text.push_str(&format!("; and {} more", errors.len() - MAX_LISTED_ERRORS));
    }
    text
}

impl InvalidSpec {
    /// The first field named, for short messages.
    pub fn first_field(&self) -> &str {
        self.0.first().map(|e| e.field.as_str()).unwrap_or("spec")
    }
}

/// A policy that passed validation: plain data, ready to plan with.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidatedPolicy {
    pub name: String,
    pub mode: Mode,
    pub aws: AwsTarget,
    pub resync_interval: Duration,
    pub deletion_policy: DeletionPolicy,
    pub gateway_endpoints: Option<GatewayEndpointsDesired>,
    pub snapshot_retention: Option<SnapshotRetentionDesired>,
    pub ssm_access: Option<SsmAccessDesired>,
    pub backup: Option<BackupDesired>,
}

/// The validated snapshotRetention section.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotRetentionDesired {
    pub max_age_days: Option<u32>,
    pub keep_latest_per_volume: Option<u32>,
    /// Tags a snapshot must carry to be in scope; empty: all the account owns.
    pub selector: BTreeMap<String, String>,
    /// Tags that exclude a snapshot; empty: nothing is excluded.
    pub exclude: BTreeMap<String, String>,
    /// The cap; in Audit mode without a cap nothing is deleted anyway.
    pub max_deletions_per_run: u32,
    pub grace_period: Duration,
}

impl ValidatedPolicy {
    /// True when no mutating AWS call may be made.
    pub fn is_audit(&self) -> bool {
        self.mode == Mode::Audit
    }
}

/// The validated gatewayEndpoints section.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayEndpointsDesired {
    /// Unique, sorted.
    pub services: Vec<GatewayService>,
    pub vpcs: VpcScope,
    pub route_tables: RouteTableScope,
}

/// Which VPCs are in scope.
#[derive(Clone, Debug, PartialEq)]
pub enum VpcScope {
    /// Exactly these VPCs (those that exist).
    Ids(BTreeSet<String>),
    /// VPCs carrying all these tags; empty: every VPC of the region.
    Tags(BTreeMap<String, String>),
}

impl VpcScope {
    pub fn includes(&self, vpc_id: &str, tags: &BTreeMap<String, String>) -> bool {
        match self {
            VpcScope::Ids(ids) => ids.contains(vpc_id),
            VpcScope::Tags(want) => super::carries_all(tags, want),
        }
    }
}

/// Validates a policy's name and spec.
pub fn validate(name: &str, spec: &CostPolicySpec) -> Result<ValidatedPolicy, InvalidSpec> {
    let mut errors = Errors::default();
    if name.is_empty() {
        errors.push("metadata.name", "must not be empty");
    } else if name.len() > MAX_TAG_VALUE_LEN {
        errors.push("metadata.name", "must be at most 256 characters: it becomes an AWS tag value");
    }
    check_aws(&spec.aws, &mut errors);
    let resync_interval = match parse_duration(&spec.resync_interval) {
        Ok(d) if d < MIN_RESYNC => {
            errors.push("spec.resyncInterval", format!("{:?} is shorter than the minimum of 30s", spec.resync_interval));
            MIN_RESYNC
        }
        Ok(d) if d > MAX_RESYNC => {
            errors.push("spec.resyncInterval", format!("{:?} is longer than the maximum of 24h", spec.resync_interval));
            MAX_RESYNC
        }
        Ok(d) => d,
        Err(message) => {
            errors.push("spec.resyncInterval", message);
            MIN_RESYNC
        }
    };
    let gateway_endpoints = spec.gateway_endpoints.as_ref().map(|ge| {
        let mut services: Vec<GatewayService> = ge.services.clone();
        if services.is_empty() {
            errors.push("spec.gatewayEndpoints.services", "must name at least one service (s3, dynamodb)");
        }
        let unique: BTreeSet<GatewayService> = services.iter().copied().collect();
        if unique.len() != services.len() {
            errors.push("spec.gatewayEndpoints.services", "must not name a service twice");
        }
        services = unique.into_iter().collect();
        let vpcs = match (&ge.vpc_ids, &ge.vpc_selector) {
            (Some(_), Some(_)) => {
                errors.push("spec.gatewayEndpoints.vpcIds", "set gatewayEndpoints.vpcIds or gatewayEndpoints.vpcSelector, not both");
                VpcScope::Ids(BTreeSet::new())
            }
            (Some(ids), None) => {
                if ids.is_empty() {
                    errors.push("spec.gatewayEndpoints.vpcIds", "must not be empty when set; omit it to select by tags");
                }
                if ids.len() > MAX_VPC_IDS {
                    errors.push("spec.gatewayEndpoints.vpcIds", format!("{} ids; at most {MAX_VPC_IDS} (use vpcSelector)", ids.len()));
                }
                let mut seen = BTreeSet::new();
                for (i, id) in ids.iter().enumerate() {
                    if !is_vpc_id(&id.0) {
                        errors.push(
                            format!("spec.gatewayEndpoints.vpcIds[{i}]"),
                            format!("{:?} is not a VPC id (vpc- and 8 or 17 hex digits)", id.0),
                        );
                    }
                    if !seen.insert(id.0.clone()) {
                        errors.push(format!("spec.gatewayEndpoints.vpcIds[{i}]"), format!("{:?} is listed twice", id.0));
                    }
                }
                VpcScope::Ids(seen)
            }
            (None, selector) => {
                let tags = selector.as_ref().map(|s| s.tags.clone()).unwrap_or_default();
                check_tags("spec.gatewayEndpoints.vpcSelector.tags", &tags, &mut errors);
                VpcScope::Tags(tags)
            }
        };
        GatewayEndpointsDesired { services, vpcs, route_tables: ge.route_tables }
    });
    let snapshot_retention = spec.snapshot_retention.as_ref().map(|sr| check_snapshot_retention(sr, spec.mode, &mut errors));
    let ssm_access = spec.ssm_access.as_ref().map(|ssm| ssm_access::check_ssm_access(ssm, &mut errors));
    let backup = spec.backup.as_ref().map(|b| backup::check_backup(b, &mut errors));
    if spec.gateway_endpoints.is_none() && spec.snapshot_retention.is_none() && spec.ssm_access.is_none() && spec.backup.is_none() {
        errors.push(
            "spec",
            "at least one area must be configured: spec.gatewayEndpoints, spec.snapshotRetention, spec.ssmAccess or spec.backup",
        );
    }
    errors.into_result(ValidatedPolicy {
        name: name.to_string(),
        mode: spec.mode,
        aws: spec.aws.clone(),
        resync_interval,
        deletion_policy: spec.deletion_policy,
        gateway_endpoints,
        snapshot_retention,
        ssm_access,
        backup,
    })
}

fn check_snapshot_retention(sr: &SnapshotRetentionSpec, mode: Mode, errors: &mut Errors) -> SnapshotRetentionDesired {
    const FIELD: &str = "spec.snapshotRetention";
    if sr.max_age_days.is_none() && sr.keep_latest_per_volume.is_none() {
        errors.push(FIELD, "set snapshotRetention.maxAgeDays, snapshotRetention.keepLatestPerVolume or both");
    }
    if let Some(days) = sr.max_age_days
        && !(1..=36_500).contains(&days)
    {
        errors.push(format!("{FIELD}.maxAgeDays"), format!("{days} is outside 1..36500"));
    }
    if let Some(keep) = sr.keep_latest_per_volume
        && keep > 1000
    {
        errors.push(format!("{FIELD}.keepLatestPerVolume"), format!("{keep} is above the maximum of 1000"));
    }
    let max_deletions_per_run = match (sr.max_deletions_per_run, mode) {
        (Some(cap), _) if cap == 0 || cap > MAX_DELETIONS_PER_RUN => {
            errors.push(format!("{FIELD}.maxDeletionsPerRun"), format!("{cap} is outside 1..{MAX_DELETIONS_PER_RUN}"));
            0
        }
        (Some(cap), _) => cap,
        (None, Mode::Enforce) => {
            errors.push(format!("{FIELD}.maxDeletionsPerRun"), "is required in Enforce mode (the most snapshots one run may delete)");
            0
        }
        (None, Mode::Audit) => MAX_DELETIONS_PER_RUN,
    };
    let grace_period = match parse_duration(&sr.grace_period) {
        Ok(d) if d > MAX_GRACE_PERIOD => {
            errors.push(format!("{FIELD}.gracePeriod"), format!("{:?} is longer than the maximum of 8760h (365 days)", sr.grace_period));
            d
        }
        Ok(d) => d,
        Err(message) => {
            errors.push(format!("{FIELD}.gracePeriod"), message);
            Duration::ZERO
        }
    };
    let selector = sr.selector.as_ref().map(|s| s.tags.clone()).unwrap_or_default();
    check_tags(&format!("{FIELD}.selector.tags"), &selector, errors);
    let exclude = sr.exclude.as_ref().map(|s| s.tags.clone()).unwrap_or_default();
    check_tags(&format!("{FIELD}.exclude.tags"), &exclude, errors);
    SnapshotRetentionDesired {
        max_age_days: sr.max_age_days,
        keep_latest_per_volume: sr.keep_latest_per_volume,
        selector,
        exclude,
        max_deletions_per_run,
        grace_period,
    }
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    fn into_result<T>(self, value: T) -> Result<T, InvalidSpec> {
        if self.0.is_empty() { Ok(value) } else { Err(InvalidSpec(self.0)) }
    }
}

fn check_aws(aws: &AwsTarget, errors: &mut Errors) {
    if !is_region(&aws.region) {
        errors.push("spec.aws.region", format!("{:?} is not an AWS region name such as eu-west-1", aws.region));
    }
    if let Some(arn) = &aws.role_arn
        && !is_role_arn(arn)
    {
        errors.push("spec.aws.roleArn", format!("{arn:?} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"));
    }
    if let Some(external_id) = &aws.external_id {
        if aws.role_arn.is_none() {
            errors.push("spec.aws.externalId", "aws.externalId requires aws.roleArn");
        }
        let valid_chars = external_id.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c));
        if !(2..=1224).contains(&external_id.len()) || !valid_chars {
            errors.push("spec.aws.externalId", "must be 2 to 1224 characters of letters, digits and +=,.@:/-_");
        }
    }
}

fn check_tags(field: &str, tags: &BTreeMap<String, String>, errors: &mut Errors) {
    if tags.len() > 50 {
        errors.push(field, "at most 50 tags");
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > MAX_TAG_KEY_LEN {
            errors.push(format!("{field}[{key:?}]"), "tag keys are 1 to 128 characters");
        }
        if value.chars().count() > MAX_TAG_VALUE_LEN {
            errors.push(format!("{field}[{key:?}]"), "tag values are at most 256 characters");
        }
    }
}

fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    region.len() <= 32
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts.last().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else { return false };
    let mut parts = rest.splitn(5, ':');
    let (Some(partition), Some(service), Some(region), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(role_name) = resource.strip_prefix("role/") else { return false };
    partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && !role_name.is_empty()
        && role_name.len() <= 512
        && role_name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@/-_".contains(c))
}

fn is_vpc_id(id: &str) -> bool {
    id.strip_prefix("vpc-")
        .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

/// Parses a Go-style duration ("90s", "10m", "1h30m", "0s").
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration such as 30s, 10m or 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(invalid)?;
        if number_len == 0 {
            return Err(invalid());
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    if !total.is_finite() || total > 1e12 {
        return Err(invalid());
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{GatewayEndpointsSpec, TagSelector, VpcId};

    fn spec() -> CostPolicySpec {
        serde_yaml::from_str("aws: {region: eu-west-1}\ngatewayEndpoints: {services: [s3, dynamodb]}\n").expect("fixture parses")
    }

    fn fields(result: Result<ValidatedPolicy, InvalidSpec>) -> Vec<String> {
        result.expect_err("must be invalid").0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_make_a_valid_audit_policy() {
        let policy = validate("p", &spec()).expect("valid");
        assert_eq!(policy.mode, Mode::Audit);
        assert_eq!(policy.resync_interval, Duration::from_secs(600));
        assert_eq!(policy.deletion_policy, DeletionPolicy::Retain);
        let ge = policy.gateway_endpoints.expect("section");
        assert_eq!(ge.route_tables, RouteTableScope::Private);
        assert_eq!(ge.vpcs, VpcScope::Tags(BTreeMap::new()));
    }

    #[test]
    fn bad_region_names_the_field() {
        let mut s = spec();
        s.aws.region = "Europe".into();
        assert_eq!(fields(validate("p", &s)), ["spec.aws.region"]);
    }

    #[test]
    fn external_id_without_role_is_rejected() {
        let mut s = spec();
        s.aws.external_id = Some("abc".into());
        assert_eq!(fields(validate("p", &s)), ["spec.aws.externalId"]);
    }

    #[test]
    fn role_arn_must_be_an_iam_role() {
        for bad in ["arn:aws:iam::12345:role/x", "arn:aws:s3:::bucket", "role/x", "arn:aws:iam::123456789012:user/x"] {
            let mut s = spec();
            s.aws.role_arn = Some(bad.into());
            assert_eq!(fields(validate("p", &s)), ["spec.aws.roleArn"], "{bad}");
        }
        let mut s = spec();
        s.aws.role_arn = Some("arn:aws:iam::123456789012:role/path/frugal-target".into());
        assert!(validate("p", &s).is_ok());
    }

    #[test]
    fn resync_interval_bounds_and_syntax() {
        for (text, ok) in [
            ("10m", true),
            ("1h30m", true),
            ("30s", true),
            ("29s", false),
            ("25h", false),
            ("ten minutes", false),
            ("", false),
            ("5", false),
        ] {
            let mut s = spec();
            s.resync_interval = text.into();
            assert_eq!(validate("p", &s).is_ok(), ok, "{text}");
        }
    }

    #[test]
    fn vpc_ids_and_selector_conflict() {
        let mut s = spec();
        s.gateway_endpoints = Some(GatewayEndpointsSpec {
            services: vec![GatewayService::S3],
            vpc_selector: Some(TagSelector::default()),
            vpc_ids: Some(vec![VpcId("vpc-12345678".into())]),
            route_tables: RouteTableScope::All,
        });
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.vpcIds"]);
    }

    #[test]
    fn malformed_and_duplicate_vpc_ids_name_their_index() {
        let mut s = spec();
        let ge = s.gateway_endpoints.as_mut().expect("section");
        ge.vpc_ids = Some(vec![VpcId("vpc-12345678".into()), VpcId("subnet-1".into()), VpcId("vpc-12345678".into())]);
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.vpcIds[1]", "spec.gatewayEndpoints.vpcIds[2]"]);
    }

    #[test]
    fn duplicate_or_empty_services_are_rejected() {
        let mut s = spec();
        s.gateway_endpoints.as_mut().expect("section").services = vec![GatewayService::S3, GatewayService::S3];
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.services"]);
        s.gateway_endpoints.as_mut().expect("section").services = vec![];
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.services"]);
    }

    fn snapshot_spec(extra: &str) -> CostPolicySpec {
        serde_yaml::from_str(&format!("aws: {{region: eu-west-1}}\nsnapshotRetention: {{{extra}}}\n")).expect("fixture parses")
    }

    #[test]
    fn snapshot_retention_defaults_to_a_day_of_grace() {
        let policy = validate("p", &snapshot_spec("maxAgeDays: 30")).expect("valid");
        let sr = policy.snapshot_retention.expect("section");
        assert_eq!(sr.grace_period, Duration::from_secs(86_400));
        assert_eq!(sr.max_age_days, Some(30));
    }

    #[test]
    fn snapshot_retention_needs_a_rule() {
        assert_eq!(fields(validate("p", &snapshot_spec("maxDeletionsPerRun: 5"))), ["spec.snapshotRetention"]);
    }

    #[test]
    fn enforce_mode_requires_a_deletion_cap() {
        let mut s = snapshot_spec("maxAgeDays: 30");
        s.mode = Mode::Enforce;
        assert_eq!(fields(validate("p", &s)), ["spec.snapshotRetention.maxDeletionsPerRun"]);
        let mut s = snapshot_spec("maxAgeDays: 30, maxDeletionsPerRun: 0");
        s.mode = Mode::Enforce;
        assert_eq!(fields(validate("p", &s)), ["spec.snapshotRetention.maxDeletionsPerRun"]);
    }

    #[test]
    fn absurd_snapshot_numbers_name_their_field() {
        for (extra, field) in [
            ("maxAgeDays: 0", "spec.snapshotRetention.maxAgeDays"),
            ("keepLatestPerVolume: 5000", "spec.snapshotRetention.keepLatestPerVolume"),
            ("maxAgeDays: 3, gracePeriod: forever", "spec.snapshotRetention.gracePeriod"),
            ("maxAgeDays: 3, gracePeriod: 9000h", "spec.snapshotRetention.gracePeriod"),
            ("maxAgeDays: 3, maxDeletionsPerRun: 20000", "spec.snapshotRetention.maxDeletionsPerRun"),
        ] {
            assert_eq!(fields(validate("p", &snapshot_spec(extra))), [field], "{extra}");
        }
    }

    #[test]
    fn a_policy_without_any_area_is_rejected() {
        let mut s = spec();
        s.gateway_endpoints = None;
        s.snapshot_retention = None;
        assert_eq!(fields(validate("p", &s)), ["spec"]);
    }

    #[test]
    fn error_message_lists_every_field() {
        let mut s = spec();
        s.aws.region = "x".into();
        s.resync_interval = "1d".into();
        let message = validate("p", &s).expect_err("invalid").to_string();
        assert!(message.contains("spec.aws.region") && message.contains("spec.resyncInterval"), "{message}");
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("m").is_err());
    }
}
