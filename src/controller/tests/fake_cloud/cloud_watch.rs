//! The in-memory account's log groups, instances and alarms.

use async_trait::async_trait;

use super::{CloudCall, FakeCloud, lock};
use crate::api::names::TAG_EXPIRES_AT;
use crate::api::validate::{CloudWatchDesired, ValidatedPolicy};
use crate::engine::areas::CloudWatch;
use crate::engine::{AreaCloud, CloudError, ErrorKind};
use crate::plan::cloud_watch::{
    Alarm, COMPARISON, CloudWatchChange, CloudWatchInventory, EVALUATION_PERIODS, INSTANCE_ID, NAMESPACE, PERIOD_SECONDS, STATISTIC,
    THRESHOLD, alarm_name_prefix, is_orphan,
};

#[async_trait]
impl AreaCloud<CloudWatch> for FakeCloud {
    /// As the real adapter: the log groups of the prefixes, every instance and alarm, and the
    /// tags of the alarms named like the policy's or whose instance is gone.
    async fn observe(&self, policy: &ValidatedPolicy, desired: &CloudWatchDesired) -> Result<CloudWatchInventory, CloudError> {
        self.record(CloudCall::ObserveCloudWatch);
        let mut inventory = lock(&self.account).cloud_watch.clone();
        match &desired.log_retention {
            Some(retention) => inventory.log_groups.retain(|g| retention.selects(&g.name)),
            None => inventory.log_groups.clear(),
        }
        let prefix = alarm_name_prefix(&policy.name);
        let instances = inventory.instances.clone();
        for alarm in &mut inventory.alarms {
            if !(alarm.name.starts_with(&prefix) || is_orphan(alarm, &instances)) {
                alarm.tags = None;
            }
        }
        Ok(inventory)
    }

    async fn apply(&self, _policy: &str, change: &CloudWatchChange) -> Result<Option<String>, CloudError> {
        self.record(CloudCall::CloudWatchChange(change.describe()));
        let operation = match change {
            CloudWatchChange::SetRetention { .. } => "PutRetentionPolicy",
            CloudWatchChange::PutAlarm { .. } => "PutMetricAlarm",
            CloudWatchChange::MarkOrphan { .. } => "TagResource",
            CloudWatchChange::DeleteAlarm { .. } => "DeleteAlarms",
            CloudWatchChange::UnmarkOrphan { .. } => "UntagResource",
        };
        self.failure(operation)?;
        let mut account = lock(&self.account);
        let cw = &mut account.cloud_watch;
        let not_found = |what: &str| CloudError::new(operation, ErrorKind::NotFound, format!("{what} not found"));
        match change {
            CloudWatchChange::SetRetention { log_group, days, .. } => {
                cw.log_groups.iter_mut().find(|g| &g.name == log_group).ok_or_else(|| not_found(log_group))?.retention_days = Some(*days);
            }
            CloudWatchChange::PutAlarm { alarm, .. } => {
                let tags = cw.alarms.iter().find(|a| a.name == alarm.name).and_then(|a| a.tags.clone());
                cw.alarms.retain(|a| a.name != alarm.name);
                cw.alarms.push(Alarm {
                    name: alarm.name.clone(),
                    arn: format!("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{}", alarm.name),
                    namespace: NAMESPACE.to_string(),
                    metric: alarm.kind.metric().to_string(),
                    dimensions: [(INSTANCE_ID.to_string(), alarm.instance_id.clone())].into(),
                    statistic: STATISTIC.to_string(),
                    period: PERIOD_SECONDS,
                    evaluation_periods: EVALUATION_PERIODS,
                    threshold: THRESHOLD,
                    comparison: COMPARISON.to_string(),
                    actions: alarm.actions.iter().cloned().collect(),
                    // As AWS: tags are set when the alarm is created, kept when it is put again.
                    tags: Some(tags.unwrap_or_else(|| alarm.tags.clone())),
                });
            }
            CloudWatchChange::MarkOrphan { alarm_name, expires_at, .. } => {
                let alarm = cw.alarms.iter_mut().find(|a| &a.name == alarm_name).ok_or_else(|| not_found(alarm_name))?;
                alarm.tags.get_or_insert_with(Default::default).insert(TAG_EXPIRES_AT.to_string(), expires_at.clone());
            }
            CloudWatchChange::DeleteAlarm { alarm_name, .. } => {
                let before = cw.alarms.len();
                cw.alarms.retain(|a| &a.name != alarm_name);
                if cw.alarms.len() == before {
                    return Err(not_found(alarm_name));
                }
            }
            CloudWatchChange::UnmarkOrphan { alarm_name, .. } => {
                let alarm = cw.alarms.iter_mut().find(|a| &a.name == alarm_name).ok_or_else(|| not_found(alarm_name))?;
                if let Some(tags) = &mut alarm.tags {
                    tags.remove(TAG_EXPIRES_AT);
                }
            }
        }
        Ok(None)
    }
}
