//! What a run has to tell people: its news, decided from the status before and after it, so
//! that a steady state says nothing and a restart of the operator repeats nothing.

use std::collections::BTreeSet;

use crate::api::conditions::{self, reason};
use crate::api::notifier::NotifyOn;
use crate::api::{CostPolicyStatus, Mode};
use crate::engine::areas::{Applied, Visit};
use crate::engine::{AppliedRun, Area, AreaOutcome};

/// One area of a run, as the news needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AreaRun {
    /// The spec key (gatewayEndpoints, ...).
    pub area: String,
    /// The changes made in AWS, described.
    pub changes: Vec<String>,
    /// Open findings after the run before, if that run reported the area.
    pub findings_before: Option<u32>,
    /// Open findings after this run.
    pub findings_now: u32,
}

/// Each enabled area of an applied run, with its findings before (from `previous`) and now.
pub fn areas_of(applied: &AppliedRun, previous: Option<&CostPolicyStatus>, status: &CostPolicyStatus) -> Vec<AreaRun> {
    struct Collect<'s> {
        previous: Option<&'s CostPolicyStatus>,
        status: &'s CostPolicyStatus,
        areas: Vec<AreaRun>,
    }
    impl Visit<'_, Applied> for Collect<'_> {
        fn visit<A: Area>(&mut self, outcome: &AreaOutcome<A>) {
            let Some(now) = A::status_of(self.status) else { return };
            let changes = outcome.results.iter().filter(|r| r.outcome.is_ok()).map(|r| A::describe(&r.change)).collect();
            self.areas.push(AreaRun {
                area: A::NAME.key().to_string(),
                changes,
                findings_before: self.previous.and_then(A::status_of).map(A::findings),
                findings_now: A::findings(now),
            });
        }
    }
    let mut collect = Collect { previous, status, areas: Vec::new() };
    applied.areas.each(&mut collect);
    collect.areas
}

/// Where the run happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub policy: String,
    /// The 12-digit account, or a phrase when it is not known.
    pub account: String,
    pub region: String,
    pub mode: Mode,
}

/// A failure or a stall, as the condition says it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// The condition type (Ready, an area's <Area>InSync, Stalled).
    pub condition: String,
    pub reason: String,
    pub message: String,
}

/// An area whose findings grew.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingsGrowth {
    pub area: String,
    pub previous: u32,
    pub now: u32,
}

/// Money for one area, as status says it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AreaMoney {
    pub area: String,
    pub monthly_waste_usd: String,
    pub monthly_savings_usd: String,
    pub basis: String,
}

/// The money of the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub monthly_waste_usd: String,
    pub monthly_savings_usd: String,
    /// Areas with waste or savings only.
    pub areas: Vec<AreaMoney>,
}

/// Changes made in one area.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AreaChanges {
    pub area: String,
    pub count: usize,
    pub items: Vec<String>,
}

/// One run's news: what one message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct News {
    pub target: Target,
    pub changes: Vec<AreaChanges>,
    pub new_findings: Vec<FindingsGrowth>,
    pub errors: Vec<Problem>,
    pub stalled: Option<Problem>,
    pub money: Money,
    /// When the run ended (RFC 3339).
    pub time: String,
}

impl News {
    /// The kinds of news this run has.
    pub fn kinds(&self) -> BTreeSet<NotifyOn> {
        let mut kinds = BTreeSet::new();
        if !self.changes.is_empty() {
            kinds.insert(NotifyOn::Changes);
        }
        if !self.new_findings.is_empty() {
            kinds.insert(NotifyOn::NewFindings);
        }
        if !self.errors.is_empty() {
            kinds.insert(NotifyOn::Errors);
        }
        if self.stalled.is_some() {
            kinds.insert(NotifyOn::Stalled);
        }
        kinds
    }

    /// The news a notifier that wants only `wanted` gets: None when none of it is wanted.
    pub fn only(&self, wanted: &[NotifyOn]) -> Option<News> {
        let wants = |kind: NotifyOn| wanted.contains(&kind);
        let news = News {
            target: self.target.clone(),
            changes: if wants(NotifyOn::Changes) { self.changes.clone() } else { Vec::new() },
            new_findings: if wants(NotifyOn::NewFindings) { self.new_findings.clone() } else { Vec::new() },
            errors: if wants(NotifyOn::Errors) { self.errors.clone() } else { Vec::new() },
            stalled: self.stalled.clone().filter(|_| wants(NotifyOn::Stalled)),
            money: self.money.clone(),
            time: self.time.clone(),
        };
        (!news.kinds().is_empty()).then_some(news)
    }
}

/// Reasons that say something failed.
const FAILURES: [&str; 3] = [reason::OBSERVATION_FAILED, reason::ACTION_FAILED, reason::AWS_ACCESS_FAILED];

/// The news of a run: changes made, areas whose findings grew, failures the previous status
/// did not have (same condition, reason and message: a retry of the same failure is not
/// news), and a Stalled condition that is new. None in a steady state.
pub fn news(
    target: Target,
    previous: Option<&CostPolicyStatus>,
    status: &CostPolicyStatus,
    areas: &[AreaRun],
    time: String,
) -> Option<News> {
    let changes = areas
        .iter()
        .filter(|a| !a.changes.is_empty())
        .map(|a| AreaChanges { area: a.area.clone(), count: a.changes.len(), items: a.changes.clone() })
        .collect();
    let new_findings = areas
        .iter()
        .filter(|a| a.findings_now > a.findings_before.unwrap_or(0))
        .map(|a| FindingsGrowth { area: a.area.clone(), previous: a.findings_before.unwrap_or(0), now: a.findings_now })
        .collect();
    let before = previous.map(|p| p.conditions.as_slice()).unwrap_or_default();
    let seen_before = |c: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition| {
        conditions::find(before, &c.type_)
            .is_some_and(|p| p.status == c.status && p.reason == c.reason && stable(&p.message) == stable(&c.message))
    };
    let problem = |c: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition| Problem {
        condition: c.type_.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
    };
    let errors = status
        .conditions
        .iter()
        .filter(|c| c.status == conditions::FALSE && FAILURES.contains(&c.reason.as_str()) && !seen_before(c))
        .map(problem)
        .collect();
    let stalled =
        conditions::find(&status.conditions, conditions::STALLED).filter(|c| c.status == conditions::TRUE && !seen_before(c)).map(problem);
    let news = News { target, changes, new_findings, errors, stalled, money: money(status), time };
    (!news.kinds().is_empty()).then_some(news)
}

/// Parts of AWS error messages that differ on every attempt of the same failure.
const VOLATILE: [&str; 3] = ["Encoded authorization failure message", "Request ID", "request id"];

/// A failure's message without what changes from one attempt to the next (EC2's encoded
/// authorization message, request ids): a retry of the same failure is not news.
fn stable(message: &str) -> &str {
    VOLATILE.iter().filter_map(|marker| message.find(marker)).min().map_or(message, |at| &message[..at])
}

fn money(status: &CostPolicyStatus) -> Money {
    let Some(cost) = &status.cost else { return Money::default() };
    let is_zero = |usd: &str| usd.parse::<f64>().map_or(true, |v| v == 0.0);
    Money {
        monthly_waste_usd: cost.monthly_waste_usd.clone(),
        monthly_savings_usd: cost.monthly_savings_usd.clone(),
        areas: cost
            .areas
            .iter()
            .filter(|a| !is_zero(&a.monthly_waste_usd) || !is_zero(&a.monthly_savings_usd))
            .map(|a| AreaMoney {
                area: a.area.clone(),
                monthly_waste_usd: a.monthly_waste_usd.clone(),
                monthly_savings_usd: a.monthly_savings_usd.clone(),
                basis: a.basis.clone(),
            })
            .collect(),
    }
}

/// The account of a role ARN (arn:aws:iam::<account>:role/...), else a phrase.
pub fn account_of(role_arn: Option<&str>) -> Option<String> {
    role_arn.and_then(|arn| arn.split(':').nth(4)).filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit())).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    use super::*;
    use crate::api::{AreaCost, CostStatus};

    fn target() -> Target {
        Target { policy: "prod".into(), account: "111122223333".into(), region: "eu-west-1".into(), mode: Mode::Enforce }
    }

    fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: Some(1),
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }
    }

    fn status(conditions: Vec<Condition>) -> CostPolicyStatus {
        CostPolicyStatus {
            conditions,
            cost: Some(CostStatus {
                monthly_waste_usd: "12.50".into(),
                monthly_savings_usd: "3.00".into(),
                monthly_cost_usd: "0.00".into(),
                areas: vec![
                    AreaCost {
                        area: "snapshotRetention".into(),
                        monthly_waste_usd: "12.50".into(),
                        monthly_savings_usd: "3.00".into(),
                        monthly_cost_usd: "0.00".into(),
                        basis: "volume size × $0.05/GB-month".into(),
                        measured: None,
                    },
                    AreaCost { area: "ssmAccess".into(), monthly_waste_usd: "0.00".into(), ..Default::default() },
                ],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn area(name: &str, changes: &[&str], before: Option<u32>, now: u32) -> AreaRun {
        AreaRun { area: name.into(), changes: changes.iter().map(|c| c.to_string()).collect(), findings_before: before, findings_now: now }
    }

    const TIME: &str = "2026-12-03T03:00:00Z";

    #[test]
    fn a_steady_state_has_no_news() {
        let before = status(vec![condition("Ready", "True", "InSync", "")]);
        let after = before.clone();
        assert_eq!(news(target(), Some(&before), &after, &[area("snapshotRetention", &[], Some(4), 4)], TIME.into()), None);
        assert_eq!(
            news(target(), Some(&before), &after, &[area("snapshotRetention", &[], Some(4), 2)], TIME.into()),
            None,
            "fewer findings is not news"
        );
    }

    #[test]
    fn changes_and_grown_findings_are_news_with_the_money() {
        let before = status(vec![]);
        let areas = [area("snapshotRetention", &["delete snap-1", "delete snap-2"], Some(1), 3), area("ssmAccess", &[], None, 0)];
        let news = news(target(), Some(&before), &status(vec![]), &areas, TIME.into()).expect("news");
        assert_eq!(news.kinds(), BTreeSet::from([NotifyOn::Changes, NotifyOn::NewFindings]));
        assert_eq!(
            news.changes,
            vec![AreaChanges { area: "snapshotRetention".into(), count: 2, items: vec!["delete snap-1".into(), "delete snap-2".into()] }]
        );
        assert_eq!(news.new_findings, vec![FindingsGrowth { area: "snapshotRetention".into(), previous: 1, now: 3 }]);
        assert_eq!(news.money.monthly_waste_usd, "12.50");
        assert_eq!(news.money.areas.len(), 1, "areas without money are left out: {:?}", news.money.areas);
    }

    #[test]
    fn a_first_run_reports_every_finding_as_new() {
        let news = news(target(), None, &status(vec![]), &[area("gatewayEndpoints", &[], None, 2)], TIME.into()).expect("news");
        assert_eq!(news.new_findings, vec![FindingsGrowth { area: "gatewayEndpoints".into(), previous: 0, now: 2 }]);
    }

    #[test]
    fn a_failure_is_news_once_and_again_when_its_message_changes() {
        let failing = condition("SnapshotsInSync", "False", reason::OBSERVATION_FAILED, "DescribeSnapshots: throttled");
        let first = news(target(), Some(&status(vec![])), &status(vec![failing.clone()]), &[], TIME.into()).expect("news");
        assert_eq!(first.errors[0].reason, "ObservationFailed");
        assert_eq!(news(target(), Some(&status(vec![failing.clone()])), &status(vec![failing.clone()]), &[], TIME.into()), None, "a retry");
        let other = condition("SnapshotsInSync", "False", reason::OBSERVATION_FAILED, "DescribeSnapshots: access denied");
        assert!(news(target(), Some(&status(vec![failing])), &status(vec![other]), &[], TIME.into()).is_some());
        let pending = condition("SnapshotsInSync", "False", reason::DELETION_PENDING, "2 wait");
        assert_eq!(news(target(), None, &status(vec![pending]), &[], TIME.into()), None, "waiting is not a failure");
    }

    #[test]
    fn a_retry_whose_message_differs_only_by_aws_request_details_is_not_news() {
        let denied = |blob: &str| {
            condition(
                "SnapshotsInSync",
                "False",
                reason::ACTION_FAILED,
                &format!(
                    "DeleteSnapshot failed (access_denied): UnauthorizedOperation: not authorized. Encoded authorization failure message: {blob}"
                ),
            )
        };
        assert_eq!(news(target(), Some(&status(vec![denied("AbC1")])), &status(vec![denied("XyZ2")]), &[], TIME.into()), None);
    }

    #[test]
    fn stalled_is_news_on_its_transition_only() {
        let stalled = condition("Stalled", "True", reason::INVALID_SPEC, "spec.aws.region: bad");
        let idle = condition("Stalled", "False", reason::IDLE, "");
        let first = news(target(), Some(&status(vec![idle])), &status(vec![stalled.clone()]), &[], TIME.into()).expect("news");
        assert_eq!(first.kinds(), BTreeSet::from([NotifyOn::Stalled]));
        assert_eq!(news(target(), Some(&status(vec![stalled.clone()])), &status(vec![stalled]), &[], TIME.into()), None);
    }

    #[test]
    fn a_notifier_gets_only_the_kinds_it_asked_for() {
        let failing = condition("Ready", "False", reason::AWS_ACCESS_FAILED, "no credentials");
        let news = news(target(), None, &status(vec![failing]), &[area("backup", &["create plan"], None, 0)], TIME.into()).expect("news");
        assert_eq!(news.only(&[NotifyOn::Stalled]), None);
        let errors = news.only(&[NotifyOn::Errors]).expect("errors wanted");
        assert!(errors.changes.is_empty() && errors.errors.len() == 1);
    }

    #[test]
    fn the_account_comes_from_the_role_arn() {
        assert_eq!(account_of(Some("arn:aws:iam::111122223333:role/frugal")), Some("111122223333".into()));
        assert_eq!(account_of(None), None);
    }
}
