//! cloudWatch: log groups (CloudWatch Logs), metric alarms and their tags (CloudWatch), and
//! the region's instances with their state and tags (EC2).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudwatch::types::{AlarmType, ComparisonOperator, Dimension, Statistic, Tag};

use crate::api::names::TAG_EXPIRES_AT;
use crate::api::validate::{CloudWatchDesired, ValidatedPolicy};
use crate::engine::AreaCloud;
use crate::engine::areas::CloudWatch;
use crate::engine::{CloudError, ErrorKind};
use crate::plan::Tags;
use crate::plan::cloud_watch::{
    Alarm, COMPARISON, CloudWatchChange, CloudWatchInventory, DesiredAlarm, EVALUATION_PERIODS, INSTANCE_ID, Instance, LogGroup, NAMESPACE,
    PERIOD_SECONDS, STATISTIC, THRESHOLD, alarm_name_prefix, is_orphan,
};

use super::AwsCloud;
use super::error::classify;
use super::pacing::PaceClass;

/// DescribeLogGroups' largest page.
const LOG_GROUP_PAGE: i32 = 50;
/// DescribeAlarms' largest page.
const ALARM_PAGE: i32 = 100;

#[async_trait::async_trait]
impl AreaCloud<CloudWatch> for AwsCloud {
    async fn observe(&self, policy: &ValidatedPolicy, desired: &CloudWatchDesired) -> Result<CloudWatchInventory, CloudError> {
        let log_groups = match &desired.log_retention {
            None => Vec::new(),
            Some(retention) => {
                let prefixes: Vec<Option<String>> =
                    if retention.prefixes.is_empty() { vec![None] } else { retention.prefixes.iter().cloned().map(Some).collect() };
                let mut groups: BTreeMap<String, LogGroup> = BTreeMap::new();
                for prefix in prefixes {
                    let read = format!("DescribeLogGroups prefix={}", prefix.as_deref().unwrap_or(""));
                    for group in self.cached(read, self.log_groups(prefix)).await? {
                        groups.insert(group.name.clone(), group);
                    }
                }
                groups.into_values().collect()
            }
        };
        // The same read as ssmAccess's, so an account with both areas is described once.
        let instances: Vec<Instance> =
            self.instances().await?.into_iter().map(|i| Instance { id: i.id, state: i.state, tags: i.tags }).collect();
        let mut alarms = self.cached("DescribeAlarms".to_string(), self.metric_alarms()).await?;
        // Tags decide ownership: read them for the alarms the plan decides on by tag.
        let prefix = alarm_name_prefix(&policy.name);
        for alarm in &mut alarms {
            if alarm.name.starts_with(&prefix) || is_orphan(alarm, &instances) {
                alarm.tags = Some(self.alarm_tags(&alarm.arn).await?);
            }
        }
        Ok(CloudWatchInventory { log_groups, instances, alarms })
    }

    async fn apply(&self, _policy: &str, change: &CloudWatchChange) -> Result<Option<String>, CloudError> {
        self.mutating(async {
            self.pace(PaceClass::Mutating).await;
            match change {
                CloudWatchChange::SetRetention { log_group, days, .. } => {
                    let days = i32::try_from(*days)
                        .map_err(|e| CloudError::new("PutRetentionPolicy", ErrorKind::InvalidRequest, e.to_string()))?;
                    self.clients
                        .logs()
                        .put_retention_policy()
                        .log_group_name(log_group)
                        .retention_in_days(days)
                        .send()
                        .await
                        .map_err(|e| classify("PutRetentionPolicy", e))?;
                    Ok(None)
                }
                CloudWatchChange::PutAlarm { alarm, .. } => self.put_alarm(alarm).await.map(|()| Some(alarm.name.clone())),
                CloudWatchChange::MarkOrphan { alarm_arn, expires_at, .. } => {
                    let tag = Tag::builder().key(TAG_EXPIRES_AT).value(expires_at).build();
                    self.clients
                        .cloudwatch()
                        .tag_resource()
                        .resource_arn(alarm_arn)
                        .tags(tag)
                        .send()
                        .await
                        .map_err(|e| classify("TagResource", e))?;
                    Ok(None)
                }
                CloudWatchChange::DeleteAlarm { alarm_name, .. } => {
                    self.clients
                        .cloudwatch()
                        .delete_alarms()
                        .alarm_names(alarm_name)
                        .send()
                        .await
                        .map_err(|e| classify("DeleteAlarms", e))?;
                    Ok(None)
                }
                CloudWatchChange::UnmarkOrphan { alarm_arn, .. } => {
                    self.clients
                        .cloudwatch()
                        .untag_resource()
                        .resource_arn(alarm_arn)
                        .tag_keys(TAG_EXPIRES_AT)
                        .send()
                        .await
                        .map_err(|e| classify("UntagResource", e))?;
                    Ok(None)
                }
            }
        })
        .await
    }
}

impl AwsCloud {
    async fn log_groups(&self, prefix: Option<String>) -> Result<Vec<LogGroup>, CloudError> {
        self.token_pages(|token| {
            let request = self
                .clients
                .logs()
                .describe_log_groups()
                .set_log_group_name_prefix(prefix.clone())
                .limit(LOG_GROUP_PAGE)
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| classify("DescribeLogGroups", e))?;
                let groups = page.log_groups().iter().filter_map(|group| {
                    Some(LogGroup {
                        name: group.log_group_name()?.to_string(),
                        retention_days: group.retention_in_days().and_then(|d| u32::try_from(d).ok()),
                        stored_bytes: group.stored_bytes().and_then(|b| u64::try_from(b).ok()).unwrap_or(0),
                    })
                });
                Ok((groups.collect(), page.next_token().map(str::to_string)))
            }
        })
        .await
    }

    async fn metric_alarms(&self) -> Result<Vec<Alarm>, CloudError> {
        self.token_pages(|token| {
            let request = self
                .clients
                .cloudwatch()
                .describe_alarms()
                .alarm_types(AlarmType::MetricAlarm)
                .max_records(ALARM_PAGE)
                .set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| classify("DescribeAlarms", e))?;
                let alarms = page.metric_alarms().iter().filter_map(|a| {
                    Some(Alarm {
                        name: a.alarm_name()?.to_string(),
                        arn: a.alarm_arn().unwrap_or_default().to_string(),
                        namespace: a.namespace().unwrap_or_default().to_string(),
                        metric: a.metric_name().unwrap_or_default().to_string(),
                        dimensions: a.dimensions().iter().filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string()))).collect(),
                        statistic: a.statistic().map(|s| s.as_str().to_string()).unwrap_or_default(),
                        period: a.period().unwrap_or_default(),
                        evaluation_periods: a.evaluation_periods().unwrap_or_default(),
                        threshold: a.threshold().unwrap_or_default(),
                        comparison: a.comparison_operator().map(|c| c.as_str().to_string()).unwrap_or_default(),
                        actions: a.alarm_actions().iter().cloned().collect::<BTreeSet<String>>(),
                        tags: None,
                    })
                });
                Ok((alarms.collect(), page.next_token().map(str::to_string)))
            }
        })
        .await
    }

    async fn alarm_tags(&self, arn: &str) -> Result<Tags, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer = self.clients.cloudwatch().list_tags_for_resource().resource_arn(arn).send().await;
        Ok(answer
            .map_err(|e| classify("ListTagsForResource", e))?
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
            .collect())
    }

    /// PutMetricAlarm as declared; its name makes a retry overwrite, never duplicate.
    async fn put_alarm(&self, alarm: &DesiredAlarm) -> Result<(), CloudError> {
        let dimension = Dimension::builder().name(INSTANCE_ID).value(&alarm.instance_id).build();
        let tags: Vec<Tag> = alarm.tags.iter().map(|(key, value)| Tag::builder().key(key).value(value).build()).collect();
        self.clients
            .cloudwatch()
            .put_metric_alarm()
            .alarm_name(&alarm.name)
            .alarm_description(format!("{} of {}, kept by frugal-operator", alarm.kind.metric(), alarm.instance_id))
            .namespace(NAMESPACE)
            .metric_name(alarm.kind.metric())
            .dimensions(dimension)
            .statistic(Statistic::from(STATISTIC))
            .period(PERIOD_SECONDS)
            .evaluation_periods(EVALUATION_PERIODS)
            .threshold(THRESHOLD)
            .comparison_operator(ComparisonOperator::from(COMPARISON))
            .set_alarm_actions(Some(alarm.actions.clone()))
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| classify("PutMetricAlarm", e))?;
        Ok(())
    }
}
