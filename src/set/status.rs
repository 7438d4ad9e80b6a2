//! The set's status, from its generated policies' status: counts, findings, money summed,
//! the account-regions with the most waste, and the kstatus conditions.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::api::conditions::{self, ConditionUpdate, READY, RECONCILING, STALLED, reason};
use crate::api::names::{LABEL_ACCOUNT, LABEL_REGION};
use crate::api::validate::InvalidSpec;
use crate::api::{AccountRegionWaste, CostPolicy, CostPolicySetStatus, usd};
use crate::set::accounts::AccountsError;

/// How many account-regions `topWaste` lists.
const TOP_WASTE: usize = 10;

/// Reasons of the set's conditions besides the shared ones.
pub mod set_reason {
    /// Every generated policy is Ready.
    pub const POLICIES_READY: &str = "PoliciesReady";
    /// Some generated policies are not Ready yet.
    pub const POLICIES_NOT_READY: &str = "PoliciesNotReady";
    /// Some generated policies are Stalled.
    pub const POLICIES_STALLED: &str = "PoliciesStalled";
    /// A policy name the set would generate belongs to a policy the set does not control.
    pub const NAME_TAKEN: &str = "NameTaken";
    /// The set's accounts could not be read from AWS Organizations: its policies are kept as
    /// they were and the read is retried.
    pub const ORGANIZATIONS_UNAVAILABLE: &str = "OrganizationsUnavailable";
}

/// What the reconcile found, for the status.
pub struct Observed<'a> {
    /// The generated policies as they are now (after apply), deleted ones left out.
    pub policies: &'a [Arc<CostPolicy>],
    /// The spec's error, when it is invalid (nothing was applied or deleted).
    pub invalid: Option<&'a InvalidSpec>,
    /// Generated names held by policies the set does not control (not applied).
    pub names_taken: &'a [String],
    /// Why the accounts could not be read from Organizations (nothing was applied or
    /// deleted; the read is retried).
    pub organizations_error: Option<&'a AccountsError>,
    pub accounts: u32,
    pub regions: u32,
}

/// The status for `generation`, conditions keeping their lastTransitionTime from `previous`.
pub fn status(previous: Option<&CostPolicySetStatus>, generation: Option<i64>, observed: &Observed<'_>, now: &Time) -> CostPolicySetStatus {
    let mut status = CostPolicySetStatus {
        observed_generation: generation,
        accounts: observed.accounts,
        regions: observed.regions,
        policies: count(observed.policies.len()),
        ..CostPolicySetStatus::default()
    };
    let (mut waste_cents, mut savings_cents) = (0i64, 0i64);
    let mut wastes = Vec::new();
    for policy in observed.policies {
        match readiness(policy) {
            Readiness::Ready => status.ready += 1,
            Readiness::Stalled => status.stalled += 1,
            Readiness::NotReady => status.not_ready += 1,
        }
        let Some(policy_status) = &policy.status else { continue };
        if policy_status.conditions.iter().any(|c| c.reason == reason::CONFLICT) {
            status.conflicts += 1;
        }
        status.findings = status.findings.saturating_add(policy_status.findings);
        if let Some(cost) = &policy_status.cost {
            let waste = cents(&cost.monthly_waste_usd);
            waste_cents += waste;
            savings_cents += cents(&cost.monthly_savings_usd);
            if waste > 0 {
                wastes.push((waste, policy));
            }
        }
    }
    status.monthly_waste_usd = usd(waste_cents as f64 / 100.0);
    status.monthly_savings_usd = usd(savings_cents as f64 / 100.0);
    // Most waste first; equal amounts by name, so the list does not flap between writes.
    wastes.sort_by(|(a, pa), (b, pb)| b.cmp(a).then_with(|| pa.metadata.name.cmp(&pb.metadata.name)));
    status.top_waste = wastes
        .into_iter()
        .take(TOP_WASTE)
        .map(|(waste, policy)| AccountRegionWaste {
            account: label(policy, LABEL_ACCOUNT),
            region: label(policy, LABEL_REGION),
            policy: policy.metadata.name.clone().unwrap_or_default(),
            monthly_waste_usd: usd(waste as f64 / 100.0),
        })
        .collect();
    let previous_conditions: &[Condition] = previous.map_or(&[], |p| &p.conditions);
    status.conditions = conditions::merge(previous_conditions, updates(&status, observed), generation, now);
    status
}

/// Ready, Reconciling and Stalled, in kstatus' sense.
fn updates(status: &CostPolicySetStatus, observed: &Observed<'_>) -> Vec<ConditionUpdate> {
    if let Some(invalid) = observed.invalid {
        let message = invalid.to_string();
        return vec![
            ConditionUpdate::new(READY, false, reason::INVALID_SPEC, message.clone()),
            ConditionUpdate::new(RECONCILING, false, reason::INVALID_SPEC, ""),
            ConditionUpdate::new(STALLED, true, reason::INVALID_SPEC, message),
        ];
    }
    if let Some(error) = observed.organizations_error {
        let message =
            format!("the accounts could not be read from AWS Organizations; the generated policies are kept as they are: {error}");
        return vec![
            ConditionUpdate::new(READY, false, set_reason::ORGANIZATIONS_UNAVAILABLE, message),
            ConditionUpdate::new(RECONCILING, true, reason::RETRYING, "the accounts are read again with backoff"),
            ConditionUpdate::new(STALLED, false, reason::IDLE, ""),
        ];
    }
    if !observed.names_taken.is_empty() {
        let message = format!(
            "CostPolicies not controlled by this set hold the names it generates (delete or rename them): {}",
            observed.names_taken.join(", ")
        );
        return vec![
            ConditionUpdate::new(READY, false, set_reason::NAME_TAKEN, message.clone()),
            ConditionUpdate::new(RECONCILING, false, set_reason::NAME_TAKEN, ""),
            ConditionUpdate::new(STALLED, true, set_reason::NAME_TAKEN, message),
        ];
    }
    if status.stalled > 0 {
        let message = format!("{} of {} policies are Stalled", status.stalled, status.policies);
        return vec![
            ConditionUpdate::new(READY, false, set_reason::POLICIES_STALLED, message.clone()),
            ConditionUpdate::new(RECONCILING, false, set_reason::POLICIES_STALLED, ""),
            ConditionUpdate::new(STALLED, true, set_reason::POLICIES_STALLED, message),
        ];
    }
    if status.not_ready > 0 {
        let message = format!("{} of {} policies are not Ready yet", status.not_ready, status.policies);
        return vec![
            ConditionUpdate::new(READY, false, set_reason::POLICIES_NOT_READY, message.clone()),
            ConditionUpdate::new(RECONCILING, true, set_reason::POLICIES_NOT_READY, message),
            ConditionUpdate::new(STALLED, false, reason::IDLE, ""),
        ];
    }
    vec![
        ConditionUpdate::new(READY, true, set_reason::POLICIES_READY, format!("{} policies are Ready", status.policies)),
        ConditionUpdate::new(RECONCILING, false, reason::IDLE, ""),
        ConditionUpdate::new(STALLED, false, reason::IDLE, ""),
    ]
}

enum Readiness {
    Ready,
    NotReady,
    Stalled,
}

/// A policy is Ready when its Ready condition is True for its current generation, Stalled
/// when its Stalled condition is True, else not Ready (no status yet, reconciling, failed).
fn readiness(policy: &CostPolicy) -> Readiness {
    let Some(status) = &policy.status else { return Readiness::NotReady };
    let is_true = |type_: &str| conditions::find(&status.conditions, type_).is_some_and(|c| c.status == conditions::TRUE);
    if is_true(STALLED) {
        Readiness::Stalled
    } else if is_true(READY) && status.observed_generation == policy.metadata.generation {
        Readiness::Ready
    } else {
        Readiness::NotReady
    }
}

/// A status amount ("12.34") in cents; an amount that does not parse counts as nothing.
fn cents(amount: &str) -> i64 {
    amount.trim().parse::<f64>().ok().filter(|a| a.is_finite()).map_or(0, |a| (a * 100.0).round() as i64)
}

fn label(policy: &CostPolicy, key: &str) -> String {
    policy.metadata.labels.as_ref().and_then(|l| l.get(key)).cloned().unwrap_or_default()
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::{CostPolicyStatus, CostStatus};

    fn now() -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).expect("timestamp"))
    }

    fn policy(name: &str, account: &str, conditions: &[(&str, &str, &str)], findings: u32, waste: &str, savings: &str) -> Arc<CostPolicy> {
        let spec = serde_yaml::from_str("aws: {region: eu-west-1}\ngatewayEndpoints: {services: [s3]}\n").expect("parses");
        let mut policy = CostPolicy::new(name, spec);
        policy.metadata.generation = Some(2);
        policy.metadata.labels =
            Some(BTreeMap::from([(LABEL_ACCOUNT.to_string(), account.to_string()), (LABEL_REGION.to_string(), "eu-west-1".to_string())]));
        policy.status = Some(CostPolicyStatus {
            observed_generation: Some(2),
            conditions: conditions
                .iter()
                .map(|(t, s, r)| Condition {
                    type_: t.to_string(),
                    status: s.to_string(),
                    reason: r.to_string(),
                    message: String::new(),
                    observed_generation: Some(2),
                    last_transition_time: now(),
                })
                .collect(),
            findings,
            cost: Some(CostStatus { monthly_waste_usd: waste.into(), monthly_savings_usd: savings.into(), ..CostStatus::default() }),
            ..CostPolicyStatus::default()
        });
        Arc::new(policy)
    }

    fn observed(policies: &[Arc<CostPolicy>]) -> Observed<'_> {
        Observed { policies, invalid: None, names_taken: &[], organizations_error: None, accounts: 2, regions: 1 }
    }

    fn condition<'a>(status: &'a CostPolicySetStatus, type_: &str) -> (&'a str, &'a str) {
        let c = conditions::find(&status.conditions, type_).expect("condition");
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn counts_findings_money_conflicts_and_the_most_wasteful() {
        let policies = [
            policy("a", "111122223333", &[("Ready", "True", "InSync")], 3, "10.50", "1.25"),
            policy(
                "b",
                "444455556666",
                &[("Ready", "False", "AreasNotInSync"), ("GatewayEndpointsInSync", "False", "Conflict")],
                2,
                "99.99",
                "0.00",
            ),
            policy("c", "777788889999", &[("Stalled", "True", "RoleNotAllowed")], 0, "0.00", "0.00"),
        ];
        let status = status(None, Some(4), &observed(&policies), &now());
        assert_eq!((status.policies, status.ready, status.not_ready, status.stalled, status.conflicts), (3, 1, 1, 1, 1));
        assert_eq!((status.findings, status.monthly_waste_usd.as_str(), status.monthly_savings_usd.as_str()), (5, "110.49", "1.25"));
        let top: Vec<(&str, &str)> = status.top_waste.iter().map(|w| (w.account.as_str(), w.monthly_waste_usd.as_str())).collect();
        assert_eq!(top, [("444455556666", "99.99"), ("111122223333", "10.50")]);
        assert_eq!(condition(&status, STALLED), ("True", set_reason::POLICIES_STALLED));
        assert_eq!(status.observed_generation, Some(4));
    }

    #[test]
    fn ready_when_every_policy_is_ready_for_its_generation() {
        let mut policies = [policy("a", "111122223333", &[("Ready", "True", "InSync")], 0, "0", "0")];
        let ready = status(None, Some(1), &observed(&policies), &now());
        assert_eq!(condition(&ready, READY), ("True", set_reason::POLICIES_READY));
        assert_eq!(condition(&ready, RECONCILING), ("False", reason::IDLE));
        Arc::make_mut(&mut policies[0]).metadata.generation = Some(3);
        let stale = status(Some(&ready), Some(1), &observed(&policies), &now());
        assert_eq!(condition(&stale, READY), ("False", set_reason::POLICIES_NOT_READY), "an edit not yet observed");
        assert_eq!(condition(&stale, RECONCILING), ("True", set_reason::POLICIES_NOT_READY));
    }

    #[test]
    fn only_the_ten_most_wasteful_are_listed() {
        let policies: Vec<Arc<CostPolicy>> =
            (0..12).map(|i| policy(&format!("p{i:02}"), &format!("{i:012}"), &[], 0, &format!("{i}.00"), "0")).collect();
        let status = status(None, Some(1), &observed(&policies), &now());
        assert_eq!(status.top_waste.len(), 10);
        assert_eq!(status.top_waste[0].policy, "p11");
        assert_eq!(status.monthly_waste_usd, "66.00");
    }

    #[test]
    fn an_invalid_spec_stalls_and_keeps_transition_times() {
        let invalid = InvalidSpec(vec![crate::api::validate::FieldError { field: "spec.regions[0]".into(), message: "bad".into() }]);
        let observed =
            Observed { policies: &[], invalid: Some(&invalid), names_taken: &[], organizations_error: None, accounts: 0, regions: 0 };
        let first = status(None, Some(2), &observed, &now());
        assert_eq!(condition(&first, STALLED), ("True", reason::INVALID_SPEC));
        let message = &conditions::find(&first.conditions, STALLED).expect("stalled").message;
        assert!(message.contains("spec.regions[0]"), "{message}");
        let later = Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_600).expect("timestamp"));
        let second = status(Some(&first), Some(2), &observed, &later);
        assert_eq!(first, second, "nothing changed: nothing to write");
    }
}
