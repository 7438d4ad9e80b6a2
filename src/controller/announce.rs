//! A run's news, handed to the Notifiers: after the status is computed, never waiting for a
//! receiver (delivery runs in its own task) and never failing the reconcile.

use kube::ResourceExt;

use crate::api::{CostPolicy, CostPolicyStatus};
use crate::notify::news::{self, AreaRun, Target};

use super::Context;

/// Queues one message per Notifier for the news of this run, if it has any.
pub async fn announce(
    ctx: &Context,
    policy: &CostPolicy,
    previous: Option<&CostPolicyStatus>,
    status: &CostPolicyStatus,
    areas: &[AreaRun],
) {
    let Some(notify) = &ctx.notify else { return };
    let aws = &policy.spec.aws;
    let target = Target { policy: policy.name_any(), account: String::new(), region: aws.region.clone(), mode: policy.spec.mode };
    let time = status.last_reconcile_time.clone().unwrap_or_else(|| k8s_openapi::jiff::Timestamp::now().to_string());
    let Some(mut news) = news::news(target, previous, status, areas, time) else { return };
    // Only a run with news pays for the account lookup (cached by the connector).
    news.target.account = match news::account_of(aws.role_arn.as_deref()) {
        Some(account) => account,
        None => ctx.connector.own_account(&aws.region).await.unwrap_or_else(|_| "the operator's own account".to_string()),
    };
    notify.send(policy.labels(), &news);
}
