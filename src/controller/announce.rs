//! A run's news, handed to the Notifiers: after the status is computed, never waiting for a
//! receiver (delivery runs in its own task) and never failing the reconcile.

use kube::ResourceExt;

use crate::api::{CostPolicy, CostPolicyStatus};
use crate::notify::news::{self, AreaRun, Target};

use super::Context;

/// The account when it is not known.
const OWN_ACCOUNT: &str = "the operator's own account";

/// Whether the account may be looked up in AWS when aws.roleArn does not name it: never for a
/// policy stopped before or at `connect` (invalid input never reaches AWS, not even for
/// credentials; failed credentials would fail again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    AskAws,
    FromSpecOnly,
}

/// Queues one message per Notifier for the news of this run, if it has any and anyone listens.
pub async fn announce(
    ctx: &Context,
    policy: &CostPolicy,
    previous: Option<&CostPolicyStatus>,
    status: &CostPolicyStatus,
    areas: &[AreaRun],
    account: Account,
) {
    let Some(notify) = &ctx.notify else { return };
    let aws = &policy.spec.aws;
    let target = Target { policy: policy.name_any(), account: String::new(), region: aws.region.clone(), mode: policy.spec.mode };
    let time = status.last_change_time.clone().unwrap_or_else(|| k8s_openapi::jiff::Timestamp::now().to_string());
    let Some(mut news) = news::news(target, previous, status, areas, time) else { return };
    if !notify.has_listeners(policy.labels(), &news) {
        return;
    }
    // Only a run with news and listeners pays for the account lookup.
    news.target.account = match (news::account_of(aws.role_arn.as_deref()), account) {
        (Some(account), _) => account,
        (None, Account::AskAws) => ctx.connector.own_account(&aws.region).await.unwrap_or_else(|_| OWN_ACCOUNT.to_string()),
        (None, Account::FromSpecOnly) => OWN_ACCOUNT.to_string(),
    };
    notify.send(policy.labels(), &news);
}
