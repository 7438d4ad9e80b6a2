//! Prometheus metrics. Labels are bounded sets (categories, operation names), never
//! error strings.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

mod per_policy;
use per_policy::PolicySeries;
pub use per_policy::{PerPolicy, PolicyLabel};

type GaugeUsd = Gauge<f64, std::sync::atomic::AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// success, error, invalid_spec, gone (the policy was deleted while it was reconciled)
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AwsRequestLabels {
    pub service: String,
    pub operation: String,
    /// success, throttled, access_denied, client_error, server_error, network_error
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// aws, kubernetes, finalizer
    pub category: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AreaLabels {
    pub policy: String,
    pub area: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub policy: String,
    pub area: String,
    pub action: String,
    /// success or failure
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SnapshotLabels {
    pub policy: String,
    /// evaluated, retained, expiring, pending, deleted_total, skipped
    pub state: String,
    /// For state=skipped: the protection; empty otherwise.
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RightSizingLabels {
    pub policy: String,
    /// Compute Optimizer's finding: overprovisioned, underprovisioned, optimized, not_optimized
    pub finding: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PricesLabels {
    pub policy: String,
    pub region: String,
    /// aws-price-list, built-in, built-in-us-east-1 or mixed.
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MeasuredLabels {
    pub policy: String,
    pub area: String,
    /// last_month or month_to_date.
    pub period: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    /// The Notifier's name.
    pub notifier: String,
    /// delivered, failed (refused, or given up after the retry bound), dropped (queue full)
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PolicyLabels {
    /// The CostPolicy's name.
    pub policy: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SetLabels {
    /// The CostPolicySet's name.
    pub set: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SetPolicyLabels {
    pub set: String,
    /// ready, not_ready, stalled
    pub state: String,
}

/// The `state` values of `frugal_set_policies`.
pub const SET_POLICY_STATES: [&str; 3] = ["ready", "not_ready", "stalled"];

macro_rules! policy_label {
    ($($labels:ty),*) => {$(
        impl PolicyLabel for $labels {
            fn policy(&self) -> &str {
                &self.policy
            }
        }
    )*};
}
policy_label!(PolicyLabels, AreaLabels, ActionLabels, SnapshotLabels, RightSizingLabels, PricesLabels, MeasuredLabels);

/// Every metric the operator exports.
pub struct Metrics {
    registry: Registry,
    pub reconciles: Family<ReconcileLabels, Counter>,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Histogram,
    /// When a reconcile of each policy last finished (Unix seconds), whatever its result: the
    /// status is written only when it changes, so freshness is read here.
    pub last_reconcile: PerPolicy<PolicyLabels, Gauge>,
    /// A policy's spec.resyncInterval, while it is reconciled on it (a Stalled policy, which
    /// waits for its spec to change, has none): the freshness alert's yardstick.
    pub resync_interval: PerPolicy<PolicyLabels, Gauge>,
    pub aws_requests: Family<AwsRequestLabels, Counter>,
    pub findings: PerPolicy<AreaLabels, Gauge>,
    pub monthly_savings_usd: PerPolicy<AreaLabels, GaugeUsd>,
    pub monthly_waste_usd: PerPolicy<AreaLabels, GaugeUsd>,
    pub monthly_cost_usd: PerPolicy<AreaLabels, GaugeUsd>,
    pub actions: PerPolicy<ActionLabels, Counter>,
    pub snapshots: PerPolicy<SnapshotLabels, Gauge>,
    pub snapshot_gib: PerPolicy<SnapshotLabels, Gauge>,
    pub right_sizing_resources: PerPolicy<RightSizingLabels, Gauge>,
    /// 1 for where a policy's prices come from (the basis of its USD gauges).
    pub prices_info: PerPolicy<PricesLabels, Gauge>,
    /// What the account paid, by AWS Cost Explorer (spec.pricing.costExplorer).
    pub measured_spend_usd: PerPolicy<MeasuredLabels, GaugeUsd>,
    pub notifications: Family<NotificationLabels, Counter>,
    /// 1 while this replica runs the controller (holds the lease, or runs without election).
    pub leader: Gauge,
    /// CostPolicySet reconciles by result, and failed ones by category.
    pub set_reconciles: Family<ReconcileLabels, Counter>,
    pub set_reconcile_errors: Family<ErrorLabels, Counter>,
    /// The accounts a set covers (its ids, or those read from Organizations).
    pub set_accounts: Family<SetLabels, Gauge>,
    /// A set's generated policies by state.
    pub set_policies: Family<SetPolicyLabels, Gauge>,
    /// The sets with gauges (a Family cannot be listed), so a deleted set's can be dropped.
    set_names: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// The aws_requests counters again, readable (a Family cannot be listed): the one-shot
    /// CLI reports them so benchmarks can check them against the emulator's request log.
    aws_request_totals: std::sync::Mutex<AwsRequestCounts>,
}

/// AWS request attempts by (service, operation, outcome).
pub type AwsRequestCounts = std::collections::BTreeMap<(String, String, String), u64>;

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("frugal");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register("reconcile_errors", "Failed reconciles by error category", reconcile_errors.clone());
        let reconcile_duration = Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0]);
        registry.register("reconcile_duration_seconds", "Duration of one reconcile", reconcile_duration.clone());
        let last_reconcile = PerPolicy::<PolicyLabels, Gauge>::default();
        registry.register(
            "last_reconcile_timestamp_seconds",
            "When a reconcile of the policy last finished, whatever its result (Unix time)",
            last_reconcile.family(),
        );
        let resync_interval = PerPolicy::<PolicyLabels, Gauge>::default();
        registry.register(
            "resync_interval_seconds",
            "The policy's spec.resyncInterval while it is reconciled on it; absent for a policy Stalled until its spec changes",
            resync_interval.family(),
        );
        let aws_requests = Family::<AwsRequestLabels, Counter>::default();
        registry.register("aws_requests", "AWS API requests (attempts) by service, operation and outcome", aws_requests.clone());
        let findings = PerPolicy::<AreaLabels, Gauge>::default();
        registry.register("findings", "Open findings by policy and area", findings.family());
        let monthly_savings_usd = PerPolicy::<_, GaugeUsd>::default();
        registry.register("monthly_savings_usd", "Estimated monthly savings of the operator's changes, USD", monthly_savings_usd.family());
        let monthly_waste_usd = PerPolicy::<_, GaugeUsd>::default();
        registry.register("monthly_waste_usd", "Estimated monthly cost of open findings, USD", monthly_waste_usd.family());
        let monthly_cost_usd = PerPolicy::<_, GaugeUsd>::default();
        registry.register(
            "monthly_cost_usd",
            "Estimated monthly cost of what the spec keeps running (backup storage, upper bound), USD",
            monthly_cost_usd.family(),
        );
        let actions = PerPolicy::<ActionLabels, Counter>::default();
        registry.register("actions", "Changes made in AWS by policy, area, action and outcome", actions.family());
        let snapshots = PerPolicy::<SnapshotLabels, Gauge>::default();
        registry.register(
            "snapshots",
            "Snapshots by retention state (and protection reason for state=skipped) after the last run",
            snapshots.family(),
        );
        let snapshot_gib = PerPolicy::<SnapshotLabels, Gauge>::default();
        registry.register(
            "snapshot_gib",
            "GiB of volume size of expired snapshots still there (state=expired) and of those deleted since the policy was created (state=deleted_total)",
            snapshot_gib.family(),
        );
        let right_sizing_resources = PerPolicy::<RightSizingLabels, Gauge>::default();
        registry.register(
            "right_sizing_resources",
            "Resources in a rightSizing scope by Compute Optimizer's finding after the last run",
            right_sizing_resources.family(),
        );
        let prices_info = PerPolicy::<PricesLabels, Gauge>::default();
        registry.register(
            "prices_info",
            "1 for the source of the prices behind a policy's USD gauges: aws-price-list, built-in (the region's list price), \
             built-in-us-east-1 (no figure for the region) or mixed; the policy's status.cost.prices says more",
            prices_info.family(),
        );
        let measured_spend_usd = PerPolicy::<_, GaugeUsd>::default();
        registry.register(
            "measured_spend_usd",
            "What the account paid for the usage types an area changes, in the policy's region (AWS Cost Explorer, unblended), \
             period last_month or month_to_date, USD",
            measured_spend_usd.family(),
        );
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register("notifications", "Notification messages by Notifier and outcome", notifications.clone());
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica runs the controller (holds the leader lease, or runs without leader election), else 0",
            leader.clone(),
        );
        let set_reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register(
            "set_reconciles",
            "CostPolicySet reconciles by result: success, error, invalid_spec, organizations_unavailable",
            set_reconciles.clone(),
        );
        let set_reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "set_reconcile_errors",
            "Failed CostPolicySet reconciles by error category: kubernetes, status, organizations",
            set_reconcile_errors.clone(),
        );
        let set_accounts = Family::<SetLabels, Gauge>::default();
        registry.register(
            "set_accounts",
            "Accounts a CostPolicySet covers after its last reconcile (listed ids, or read from AWS Organizations)",
            set_accounts.clone(),
        );
        let set_policies = Family::<SetPolicyLabels, Gauge>::default();
        registry.register("set_policies", "A CostPolicySet's generated policies by state: ready, not_ready, stalled", set_policies.clone());
        Arc::new(Self {
            registry,
            leader,
            set_reconciles,
            set_reconcile_errors,
            set_accounts,
            set_policies,
            set_names: std::sync::Mutex::default(),
            reconcile_errors,
            reconciles,
            reconcile_duration,
            last_reconcile,
            resync_interval,
            aws_requests,
            findings,
            monthly_savings_usd,
            monthly_waste_usd,
            monthly_cost_usd,
            actions,
            snapshots,
            snapshot_gib,
            right_sizing_resources,
            prices_info,
            measured_spend_usd,
            notifications,
            aws_request_totals: std::sync::Mutex::default(),
        })
    }

    /// AWS request attempts counted so far.
    pub fn aws_request_counts(&self) -> AwsRequestCounts {
        self.aws_request_totals.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("failed to encode metrics");
        }
        out
    }

    /// Publishes a policy's snapshot figures.
    pub fn record_snapshots(&self, policy: &str, status: &crate::api::SnapshotRetentionStatus) {
        let set = |state: &str, reason: &str, value: u64| {
            let labels = SnapshotLabels { policy: policy.to_string(), state: state.to_string(), reason: reason.to_string() };
            self.snapshots.get_or_create(&labels).set(i64::try_from(value).unwrap_or(i64::MAX));
        };
        set("evaluated", "", u64::from(status.evaluated));
        set("retained", "", u64::from(status.retained));
        set("expiring", "", u64::from(status.expiring));
        set("pending", "", u64::from(status.pending));
        set("deleted_total", "", status.deleted_total);
        let gib = |state: &str, value: u64| {
            let labels = SnapshotLabels { policy: policy.to_string(), state: state.to_string(), reason: String::new() };
            self.snapshot_gib.get_or_create(&labels).set(i64::try_from(value).unwrap_or(i64::MAX));
        };
        gib("expired", status.expired_gib);
        gib("deleted_total", status.deleted_gib_total);
        let skipped = &status.skipped;
        for (reason, count) in [
            ("not_completed", skipped.not_completed),
            ("locked", skipped.locked),
            ("managed_by_backup", skipped.managed_by_backup),
            ("managed_by_dlm", skipped.managed_by_dlm),
            ("used_by_ami", skipped.used_by_ami),
            ("used_by_launch_template", skipped.used_by_launch_template),
            ("excluded", skipped.excluded),
            ("retained_by_other_policy", skipped.retained_by_other_policy),
        ] {
            set("skipped", reason, u64::from(count));
        }
    }

    /// Publishes a policy's Compute Optimizer findings.
    pub fn record_right_sizing(&self, policy: &str, status: &crate::api::RightSizingStatus) {
        for (finding, count) in [
            ("overprovisioned", status.overprovisioned),
            ("underprovisioned", status.underprovisioned),
            ("optimized", status.optimized),
            ("not_optimized", status.not_optimized),
        ] {
            let labels = RightSizingLabels { policy: policy.to_string(), finding: finding.to_string() };
            self.right_sizing_resources.get_or_create(&labels).set(i64::from(count));
        }
    }

    /// The gauges a run writes from the status it wrote: what it did not write is stale.
    fn written_by_runs(&self) -> [&dyn PolicySeries; 10] {
        [
            &self.resync_interval,
            &self.findings,
            &self.monthly_savings_usd,
            &self.monthly_waste_usd,
            &self.monthly_cost_usd,
            &self.snapshots,
            &self.snapshot_gib,
            &self.right_sizing_resources,
            &self.prices_info,
            &self.measured_spend_usd,
        ]
    }

    /// Every family whose series belong to policies: those runs write, the action counters
    /// and when each policy was last reconciled.
    fn per_policy(&self) -> impl Iterator<Item = &dyn PolicySeries> {
        let kept_across_runs: [&dyn PolicySeries; 2] = [&self.last_reconcile, &self.actions];
        self.written_by_runs().into_iter().chain(kept_across_runs)
    }

    /// Drops the policy's gauges that its run did not write, so the gauges say what its
    /// status says (an area turned off has none). Called after a run's gauges are written;
    /// the action counters and `last_reconcile` stay.
    pub fn sweep_policy(&self, policy: &str) {
        for family in self.written_by_runs() {
            family.sweep(policy);
        }
    }

    /// Drops every series of a deleted policy, counters included, so a gone policy is not
    /// reported forever.
    pub fn forget_policy(&self, policy: &str) {
        for family in self.per_policy() {
            family.forget(policy);
        }
    }

    /// How many policies this replica reports on (those it has reconciled and not forgotten).
    pub fn reported_policies(&self) -> usize {
        self.last_reconcile.policy_count()
    }

    /// Drops the series of every policy not in `live`: a policy whose finalizer was removed
    /// by hand is deleted without a last reconcile.
    pub fn retain_policies(&self, live: &std::collections::BTreeSet<String>) {
        let known: std::collections::BTreeSet<String> = self.per_policy().flat_map(|f| f.policies()).collect();
        for policy in known.difference(live) {
            self.forget_policy(policy);
        }
    }

    /// Publishes a set's accounts and its policies by state, from the status it wrote.
    pub fn record_set(&self, set: &str, status: &crate::api::CostPolicySetStatus) {
        self.set_names.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(set.to_string());
        self.set_accounts.get_or_create(&SetLabels { set: set.to_string() }).set(i64::from(status.accounts));
        for (state, count) in SET_POLICY_STATES.into_iter().zip([status.ready, status.not_ready, status.stalled]) {
            self.set_policies.get_or_create(&SetPolicyLabels { set: set.to_string(), state: state.to_string() }).set(i64::from(count));
        }
    }

    /// Drops a deleted set's gauges, so a gone set is not reported forever.
    pub fn forget_set(&self, set: &str) {
        self.set_names.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(set);
        self.set_accounts.remove(&SetLabels { set: set.to_string() });
        for state in SET_POLICY_STATES {
            self.set_policies.remove(&SetPolicyLabels { set: set.to_string(), state: state.to_string() });
        }
    }

    /// Drops the gauges of every set not in `live` (sets are deleted without a finalizer, so
    /// no reconcile sees them go).
    pub fn retain_sets(&self, live: &std::collections::BTreeSet<String>) {
        let gone: Vec<String> =
            self.set_names.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().filter(|s| !live.contains(*s)).cloned().collect();
        for set in gone {
            self.forget_set(&set);
        }
    }

    pub fn count_aws_request(&self, service: &str, operation: &str, outcome: &str) {
        if let Ok(mut totals) = self.aws_request_totals.lock() {
            *totals.entry((service.to_string(), operation.to_string(), outcome.to_string())).or_default() += 1;
        }
        self.aws_requests
            .get_or_create(&AwsRequestLabels {
                service: service.to_string(),
                operation: operation.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deleted_sets_gauges_are_dropped() {
        let metrics = Metrics::new();
        let status = crate::api::CostPolicySetStatus { accounts: 3, ready: 2, ..Default::default() };
        metrics.record_set("kept", &status);
        metrics.record_set("gone", &status);
        metrics.retain_sets(&std::collections::BTreeSet::from(["kept".to_string()]));
        let exported = metrics.encode();
        assert!(exported.contains("frugal_set_accounts{set=\"kept\"} 3"), "{exported}");
        assert!(exported.contains("frugal_set_policies{set=\"kept\",state=\"ready\"} 2"), "{exported}");
        assert!(!exported.contains("\"gone\""), "{exported}");
    }

    #[test]
    fn only_the_series_of_policies_no_longer_listed_are_dropped() {
        let metrics = Metrics::new();
        for policy in ["kept", "gone"] {
            metrics.last_reconcile.get_or_create(&PolicyLabels { policy: policy.into() }).set(1);
            metrics.record_snapshots(policy, &crate::api::SnapshotRetentionStatus::default());
            let action =
                ActionLabels { policy: policy.into(), area: "backup".into(), action: "create_plan".into(), outcome: "success".into() };
            metrics.actions.get_or_create(&action).inc();
        }
        metrics.retain_policies(&std::collections::BTreeSet::from(["kept".to_string()]));
        let exported = metrics.encode();
        assert!(exported.contains("frugal_last_reconcile_timestamp_seconds{policy=\"kept\"} 1"), "{exported}");
        assert!(exported.contains("frugal_snapshots{policy=\"kept\",state=\"evaluated\",reason=\"\"} 0"), "{exported}");
        assert!(exported.contains("frugal_actions_total{policy=\"kept\""), "{exported}");
        assert!(!exported.contains("\"gone\""), "{exported}");
    }
}
