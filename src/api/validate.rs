//! Validation: turns a `CostPolicy` into a [`ValidatedPolicy`], the only input the
//! planning and acting steps accept, so invalid input cannot reach AWS. Every rule that
//! the CRD schema or CEL enforces is checked here too, for clusters that ignore CEL.

use std::collections::BTreeMap;
use std::time::Duration;

use super::policy::{AwsTarget, CostPolicySpec, DeletionPolicy, Mode};

const MIN_RESYNC: Duration = Duration::from_secs(30);
const MAX_RESYNC: Duration = Duration::from_secs(24 * 3600);
const MAX_TAG_KEY_LEN: usize = 128;
const MAX_TAG_VALUE_LEN: usize = 256;

mod access_keys;
mod backup;
mod cloud_watch;
pub mod cron;
mod gateway_endpoints;
mod policy_set;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;
pub use access_keys::AccessKeysDesired;
pub use backup::{BackupDesired, BackupRuleDesired, DEFAULT_SELECTION_NAME, SelectionDesired};
pub use cloud_watch::{CloudWatchDesired, InstanceAlarmsDesired, LogRetentionDesired, RETENTION_DAYS};
pub use gateway_endpoints::{GatewayEndpointsDesired, VpcScope};
pub use policy_set::{OrganizationScope, SetAccounts, ValidatedSet, partition, role_arn, validate_set};
pub use right_sizing::RightSizingDesired;
pub use snapshot_retention::SnapshotRetentionDesired;
pub use ssm_access::{Cidr, DEFAULT_DHMC_ROLE, InstanceProfileDesired, InstanceScope, SecurityGroupScope, SsmAccessDesired};

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
    /// `spec.pricing.discountPercent`, 0 to 100.
    pub discount_percent: u8,
    /// `spec.pricing.costExplorer`.
    pub cost_explorer: bool,
    pub gateway_endpoints: Option<GatewayEndpointsDesired>,
    pub snapshot_retention: Option<SnapshotRetentionDesired>,
    pub ssm_access: Option<SsmAccessDesired>,
    pub backup: Option<BackupDesired>,
    pub access_keys: Option<AccessKeysDesired>,
    pub right_sizing: Option<RightSizingDesired>,
    pub cloud_watch: Option<CloudWatchDesired>,
}

impl ValidatedPolicy {
    /// True when no mutating AWS call may be made.
    pub fn is_audit(&self) -> bool {
        self.mode == Mode::Audit
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
    let discount = spec.pricing.as_ref().map_or(0, |p| p.discount_percent);
    if discount > 100 {
        errors.push("spec.pricing.discountPercent", format!("{discount} is out of range: from 0 to 100"));
    }
    let gateway_endpoints = spec.gateway_endpoints.as_ref().map(|ge| gateway_endpoints::check_gateway_endpoints(ge, &mut errors));
    let snapshot_retention =
        spec.snapshot_retention.as_ref().map(|sr| snapshot_retention::check_snapshot_retention(sr, spec.mode, &mut errors));
    let ssm_access = spec.ssm_access.as_ref().map(|ssm| ssm_access::check_ssm_access(ssm, &mut errors));
    let backup = spec.backup.as_ref().map(|b| backup::check_backup(b, &mut errors));
    let access_keys = spec.access_keys.as_ref().map(|ak| access_keys::check_access_keys(ak, &mut errors));
    let right_sizing = spec.right_sizing.as_ref().map(|rs| right_sizing::check_right_sizing(rs, &mut errors));
    let cloud_watch = spec.cloud_watch.as_ref().map(|cw| cloud_watch::check_cloud_watch(cw, &mut errors));
    if !spec.has_area() {
        errors.push(
            "spec",
            "at least one area must be configured: spec.gatewayEndpoints, spec.snapshotRetention, spec.ssmAccess, spec.backup, spec.accessKeys, spec.rightSizing or spec.cloudWatch",
        );
    }
    errors.into_result(ValidatedPolicy {
        name: name.to_string(),
        mode: spec.mode,
        aws: spec.aws.clone(),
        resync_interval,
        deletion_policy: spec.deletion_policy,
        discount_percent: u8::try_from(discount.min(100)).unwrap_or(100),
        cost_explorer: spec.pricing.as_ref().is_some_and(|p| p.cost_explorer),
        gateway_endpoints,
        snapshot_retention,
        ssm_access,
        backup,
        access_keys,
        right_sizing,
        cloud_watch,
    })
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

/// The longest grace period: a year.
const MAX_GRACE_PERIOD: Duration = Duration::from_secs(365 * 86_400);

/// A grace period (0s to 8760h, i.e. 365d).
fn check_grace_period(field: &str, text: &str, errors: &mut Errors) -> Duration {
    match parse_duration(text) {
        Ok(d) if d > MAX_GRACE_PERIOD => {
            errors.push(field, format!("{text:?} is longer than the maximum of 365d (8760h)"));
            d
        }
        Ok(d) => d,
        Err(message) => {
            errors.push(field, message);
            Duration::ZERO
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

/// Parses a Go duration ("90s", "10m", "1h30m", "0s"), plus days ("7d" is 168h): grace
/// periods are thought of in days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is not a duration such as 30s, 10m, 1h30m or 7d");
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
            "d" => 86_400.0,
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
    use crate::api::RouteTableScope;

    // The smallest valid spec and the fields an invalid one names; the area modules' tests
    // use them too.
    pub(super) fn spec() -> CostPolicySpec {
        serde_yaml::from_str("aws: {region: eu-west-1}\ngatewayEndpoints: {services: [s3, dynamodb]}\n").expect("fixture parses")
    }

    pub(super) fn fields(result: Result<ValidatedPolicy, InvalidSpec>) -> Vec<String> {
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
        s.resync_interval = "2d".into();
        let message = validate("p", &s).expect_err("invalid").to_string();
        assert!(message.contains("spec.aws.region") && message.contains("spec.resyncInterval"), "{message}");
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("1d12h"), Ok(Duration::from_secs(36 * 3600)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("m").is_err());
    }
}
