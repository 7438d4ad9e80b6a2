//! Human and JSON renderings of plans and results, in the spirit of `terraform plan`.

use std::fmt::Write;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde::ser::SerializeMap;
use serde_json::json;

use crate::api::{AreaName, CostPolicyStatus, conditions};
use crate::engine::areas::{Applied, Areas, Planned, Visit, price_items};
use crate::engine::{AppliedRun, Area, AreaOutcome, AreaPlan, ChangeResult, ErrorKind, PlanCounts, PlannedRun, report};

mod access_keys;
mod backup;
mod cloud_watch;
mod gateway_endpoints;
pub mod json_array;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;
pub mod summary;

pub fn plan_table(planned: &PlannedRun) -> String {
    let policy = &planned.policy;
    let mut out = String::new();
    let _ = writeln!(out, "Policy {} ({:?} mode, region {})", policy.name, policy.mode, policy.aws.region);
    for conflict in &planned.conflicts {
        let _ =
            writeln!(out, "Conflict: {} governs what CostPolicy {} also governs; the stricter safety wins", conflict.area, conflict.other);
    }
    let mut sections = Sections { out, counts: PlanCounts::default(), waste: Vec::new() };
    planned.areas.each(&mut sections);
    let Sections { mut out, counts: PlanCounts { create, change, destroy, .. }, waste } = sections;
    let _ = writeln!(out);
    for line in waste {
        let _ = writeln!(out, "{line}.");
    }
    let items = price_items(policy);
    if !items.is_empty() {
        let _ = writeln!(out, "Prices: {}.", planned.prices.basis(&items));
    }
    match &planned.spend {
        Some(Ok(spend)) => {
            for area in crate::engine::areas::enabled(policy) {
                let Some(measured) = report::measured_spend(area.key(), spend) else { continue };
                let estimated = if measured.last_month_estimated { " (not final yet)" } else { "" };
                let _ = writeln!(
                    out,
                    "Paid for {} ({area}): ${} in {}{estimated}, ${} in {} so far ({}).",
                    measured.usage_types.join(", "),
                    measured.last_month_usd,
                    measured.last_month,
                    measured.month_to_date_usd,
                    measured.month_to_date,
                    spend.basis()
                );
            }
        }
        Some(Err(error)) => {
            let _ = writeln!(out, "Paid: AWS Cost Explorer could not be read ({error}); the estimates stand alone.");
        }
        None => {}
    }
    if create + change + destroy == 0 {
        // Whether the account matches the policy is the status's verdict (status_summary).
        let _ = writeln!(out, "No changes.");
    } else {
        let verb = if policy.is_audit() { "Audit mode, nothing will change; Enforce would make" } else { "Plan:" };
        let _ = writeln!(out, "{verb} {create} to create, {change} to change, {destroy} to destroy.");
    }
    out
}

/// The Ready condition the operator would write and every area condition that is not True:
/// the verdict `kubectl get cpol` would show, so the CLI and the status never disagree.
pub fn status_summary(status: &CostPolicyStatus) -> String {
    let mut out = String::new();
    let mut line = |indent: &str, c: &Condition| {
        let message = if c.message.is_empty() { String::new() } else { format!(": {}", c.message) };
        let _ = writeln!(out, "{indent}{}={} ({}){message}", c.type_, c.status, c.reason);
    };
    if let Some(ready) = conditions::find(&status.conditions, conditions::READY) {
        line("", ready);
    }
    for area in AreaName::ALL {
        if let Some(condition) = conditions::find(&status.conditions, area.condition_type()).filter(|c| c.status != "True") {
            line("  ", condition);
        }
    }
    out
}

/// `frugal plan`'s section of each area, and the summary's counts.
struct Sections {
    out: String,
    counts: PlanCounts,
    waste: Vec<String>,
}

impl Visit<'_, Planned> for Sections {
    fn visit<A: Area>(&mut self, plan: &AreaPlan<A>) {
        let _ = writeln!(self.out);
        match plan {
            AreaPlan::ObservationFailed(error) => observation_failed(&mut self.out, A::NAME, error),
            AreaPlan::Planned(plan) => {
                let counts = A::plan_section(&mut self.out, plan);
                self.counts.create += counts.create;
                self.counts.change += counts.change;
                self.counts.destroy += counts.destroy;
                self.waste.extend(counts.waste);
            }
        }
    }
}

fn observation_failed(out: &mut String, area: AreaName, error: &crate::engine::CloudError) {
    let _ = writeln!(out, "{area}: cannot observe the account: {error}");
    let _ = writeln!(out, "  nothing will be changed in this area");
}

pub fn apply_table(applied: &AppliedRun) -> String {
    let mut out = String::new();
    // Each line with the number of objects it changes, the unit the plan's counts are in
    // (one CreateTags call tags many snapshots).
    struct Lines(Vec<(String, Result<Option<String>, crate::engine::CloudError>, usize)>);
    impl Visit<'_, Applied> for Lines {
        fn visit<A: Area>(&mut self, outcome: &AreaOutcome<A>) {
            self.0.extend(outcome.results.iter().map(|r| (A::describe(&r.change), r.outcome.clone(), A::objects(&r.change))));
        }
    }
    let mut lines = Lines(Vec::new());
    applied.areas.each(&mut lines);
    let lines = lines.0;
    if lines.is_empty() {
        if applied.policy.is_audit() {
            let _ = writeln!(out, "Audit mode: nothing was changed.");
        }
        return out;
    }
    let _ = writeln!(out);
    let (mut ok, mut kept, mut failed) = (0, 0, 0);
    for (what, outcome, objects) in lines {
        match outcome {
            Ok(created) => {
                ok += objects;
                let id = created.map(|id| format!(": {id}")).unwrap_or_default();
                let _ = writeln!(out, "  done    {what}{id}");
            }
            Err(error) if matches!(error.kind, ErrorKind::Protected(_) | ErrorKind::NotFound | ErrorKind::Throttled) => {
                kept += objects;
                let _ = writeln!(out, "  skipped {what}: {error}");
            }
            Err(error) => {
                failed += objects;
                let _ = writeln!(out, "  FAILED  {what}: {error}");
            }
        }
    }
    let _ = writeln!(out, "\nApply complete: {ok} changes made, {kept} skipped, {failed} failed.");
    out
}

/// One policy's `-o json` report: each area's value under its key. An area's value
/// borrows the run's plan instead of copying it into a `serde_json::Value` tree: on an
/// account with 10,000 snapshots that tree was the largest allocation of the whole run
/// (about 20 MiB for 8,500 deletions).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonReport<'a> {
    aws_requests: serde_json::Value,
    #[serde(flatten)]
    areas: AreasJson<'a>,
    mode: String,
    policy: &'a str,
    region: &'a str,
    status: &'a CostPolicyStatus,
    /// The run's first failure (an area not read, a change that failed); absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<super::failure::Failure>,
}

impl JsonReport<'_> {
    pub fn with_error(self, error: Option<super::failure::Failure>) -> Self {
        JsonReport { error, ..self }
    }
}

/// One account-region's `-o json` object of a run with sets: the account and the set, then
/// its policy's report (policy, region, mode, areas, status, awsRequests, error).
#[derive(serde::Serialize)]
pub struct AccountRegionJson<'a> {
    account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    set: Option<&'a str>,
    #[serde(flatten)]
    report: JsonReport<'a>,
}

impl<'a> AccountRegionJson<'a> {
    pub fn new(account: &'a str, set: Option<&'a str>, report: JsonReport<'a>) -> Self {
        AccountRegionJson { account, set, report }
    }
}

/// Every enabled area's `-o json` value, keyed by the area's name.
struct AreasJson<'a>(&'a Areas<Applied>);

impl serde::Serialize for AreasJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Entries<M: SerializeMap>(M, Result<(), M::Error>);
        impl<M: SerializeMap> Visit<'_, Applied> for Entries<M> {
            fn visit<A: Area>(&mut self, outcome: &AreaOutcome<A>) {
                if self.1.is_ok() {
                    self.1 = self.0.serialize_entry(A::NAME.key(), &A::json(outcome));
                }
            }
        }
        let mut entries = Entries(serializer.serialize_map(None)?, Ok(()));
        self.0.each(&mut entries);
        entries.1?;
        entries.0.end()
    }
}

/// An area that could not be observed, or what it planned and did.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum AreaJson<T> {
    Failed { error: String },
    Planned(T),
}

impl<T> AreaJson<T> {
    pub(super) fn of<'o, A: Area>(outcome: &'o AreaOutcome<A>, planned: impl FnOnce(&'o A::Plan) -> T) -> Self {
        match &outcome.plan {
            AreaPlan::ObservationFailed(error) => AreaJson::Failed { error: error.to_string() },
            AreaPlan::Planned(plan) => AreaJson::Planned(planned(plan)),
        }
    }
}

/// One executed change: what was created, or why it failed.
#[derive(serde::Serialize)]
pub struct ResultJson<'a, C> {
    change: &'a C,
    created: Option<&'a str>,
    error: Option<String>,
}

pub(super) fn results_json<C>(results: &[ChangeResult<C>]) -> Vec<ResultJson<'_, C>> {
    results
        .iter()
        .map(|r| ResultJson {
            change: &r.change,
            created: r.outcome.as_ref().ok().and_then(Option::as_deref),
            error: r.outcome.as_ref().err().map(ToString::to_string),
        })
        .collect()
}

pub fn json_report<'a>(applied: &'a AppliedRun, status: &'a CostPolicyStatus, aws_requests: serde_json::Value) -> JsonReport<'a> {
    let policy = &applied.policy;
    JsonReport {
        aws_requests,
        areas: AreasJson(&applied.areas),
        mode: format!("{:?}", policy.mode),
        policy: &policy.name,
        region: &policy.aws.region,
        status,
        error: None,
    }
}

/// The AWS requests made between two readings of the operator's counters, as
/// `[{service, operation, outcome, count}]`: what this policy cost (reads shared with an
/// earlier policy of the same account cost nothing here).
pub fn aws_requests_json(before: &crate::metrics::AwsRequestCounts, after: &crate::metrics::AwsRequestCounts) -> serde_json::Value {
    after
        .iter()
        .filter_map(|((service, operation, outcome), count)| {
            let count = count.saturating_sub(before.get(&(service.clone(), operation.clone(), outcome.clone())).copied().unwrap_or(0));
            (count > 0).then(|| json!({"service": service, "operation": operation, "outcome": outcome, "count": count}))
        })
        .collect()
}
