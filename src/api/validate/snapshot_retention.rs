//! Validation of the `snapshotRetention` section.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Errors, check_grace_period, check_tags};
use crate::api::{Mode, SnapshotRetentionSpec};

const MAX_DELETIONS_PER_RUN: u32 = 10_000;

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

pub(super) fn check_snapshot_retention(sr: &SnapshotRetentionSpec, mode: Mode, errors: &mut Errors) -> SnapshotRetentionDesired {
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
    let grace_period = check_grace_period(&format!("{FIELD}.gracePeriod"), &sr.grace_period, errors);
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

#[cfg(test)]
mod tests {
    use super::super::tests::fields;
    use super::super::validate;
    use super::*;
    use crate::api::CostPolicySpec;

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
}
