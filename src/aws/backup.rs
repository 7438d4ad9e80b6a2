//! AWS Backup (vault, plan, selections) and the EC2 instances and EBS volumes a selection
//! may cover.

use std::collections::HashMap;

use aws_sdk_backup::types::{BackupPlanInput, BackupRuleInput, BackupSelection, Condition, ConditionType, Lifecycle};

use crate::api::validate::BackupDesired;
use crate::api::validate::ValidatedPolicy;
use crate::engine::AreaCloud;
use crate::engine::areas::Backup;
use crate::engine::{CloudError, ErrorKind};
use crate::plan::backup::{
    BackupChange, BackupInventory, BackupVault, ObservedPlan, PlanRule, Resource, ResourceKind, Selection, created_plan,
};
use crate::plan::{Tags, is_owned_by};

use super::AwsCloud;
use super::error::{classify, done_if_gone, done_if_verified};

fn to_u32(v: Option<i64>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn invalid(operation: &str, error: impl std::fmt::Display) -> CloudError {
    CloudError::new(operation, ErrorKind::InvalidRequest, error.to_string())
}

#[async_trait::async_trait]
impl AreaCloud<Backup> for AwsCloud {
    /// `policy` names the policy whose tags find its plan again after a rename.
    async fn observe(&self, policy: &ValidatedPolicy, desired: &BackupDesired) -> Result<BackupInventory, CloudError> {
        self.observe_backup_impl(&policy.name, desired).await
    }

    async fn apply(&self, _policy: &str, change: &BackupChange) -> Result<Option<String>, CloudError> {
        self.mutating(self.apply_backup_change_impl(change)).await
    }
}

impl AwsCloud {
    pub(super) async fn observe_backup_impl(&self, policy: &str, desired: &BackupDesired) -> Result<BackupInventory, CloudError> {
        let vault = self.cached(format!("DescribeBackupVault {}", desired.vault_name), self.backup_vault(&desired.vault_name)).await?;
        let read = format!("ListBackupPlans {} {policy}", desired.plan_name);
        let plan = self.cached(read, self.backup_plan(&desired.plan_name, policy)).await?;
        let resources = self.cached("BackupResources".to_string(), self.backup_resources()).await?;
        Ok(BackupInventory { vault, plan, resources })
    }

    async fn resource_tags(&self, arn: &str) -> Result<Tags, CloudError> {
        let mut tags = Tags::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .clients
                .backup()
                .list_tags()
                .resource_arn(arn)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("ListTags", e))?;
            tags.extend(page.tags().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(tags)
    }

    async fn backup_vault(&self, name: &str) -> Result<Option<BackupVault>, CloudError> {
        let answer = match self.clients.backup().describe_backup_vault().backup_vault_name(name).send().await {
            Ok(answer) => answer,
            Err(e) => {
                let error = classify("DescribeBackupVault", e);
                return if error.kind == ErrorKind::NotFound { Ok(None) } else { Err(error) };
            }
        };
        let arn = answer.backup_vault_arn().unwrap_or_default().to_string();
        let tags = self.resource_tags(&arn).await?;
        Ok(Some(BackupVault {
            name: name.to_string(),
            arn,
            tags,
            recovery_points: u64::try_from(answer.number_of_recovery_points()).unwrap_or(0),
        }))
    }

    /// Some(its ARN) when vault `name` was created by the request `creator_request_id`.
    async fn vault_made_by(&self, name: &str, creator_request_id: &str) -> Result<Option<Option<String>>, CloudError> {
        let answer = self
            .clients
            .backup()
            .describe_backup_vault()
            .backup_vault_name(name)
            .send()
            .await
            .map_err(|e| classify("DescribeBackupVault", e))?;
        Ok((answer.creator_request_id() == Some(creator_request_id)).then(|| answer.backup_vault_arn().map(str::to_string)))
    }

    /// The live plan of this name, else the live plan carrying this policy's tags (renamed in
    /// the console: found again rather than duplicated), with its latest version's rules, its
    /// tags and selections.
    async fn backup_plan(&self, name: &str, policy: &str) -> Result<Option<ObservedPlan>, CloudError> {
        let mut pages = self.clients.backup().list_backup_plans().into_paginator().send();
        let mut live = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListBackupPlans", e))?;
            live.extend(page.backup_plans_list().iter().filter(|p| p.deletion_date().is_none()).filter_map(|p| {
                Some((p.backup_plan_id()?.to_string(), p.backup_plan_name()?.to_string(), p.backup_plan_arn()?.to_string()))
            }));
        }
        let mut found = live.iter().find(|(_, n, _)| n == name).map(|(id, n, _)| (id.clone(), n.clone()));
        if found.is_none() {
            // One ListTags per plan, only while no plan has the name (first run, or renamed).
            for (id, other_name, arn) in &live {
                if is_owned_by(&self.resource_tags(arn).await?, policy) {
                    found = Some((id.clone(), other_name.clone()));
                    break;
                }
            }
        }
        let Some((id, name)) = found else { return Ok(None) };
        let answer = self.clients.backup().get_backup_plan().backup_plan_id(&id).send().await.map_err(|e| classify("GetBackupPlan", e))?;
        let arn = answer.backup_plan_arn().unwrap_or_default().to_string();
        let rules = answer
            .backup_plan()
            .map(|p| p.rules())
            .unwrap_or_default()
            .iter()
            .map(|r| PlanRule {
                name: r.rule_name().to_string(),
                target_vault: r.target_backup_vault_name().to_string(),
                schedule: r.schedule_expression().unwrap_or_default().to_string(),
                timezone: r.schedule_expression_timezone().map(str::to_string),
                start_window_minutes: to_u32(r.start_window_minutes()),
                completion_window_minutes: to_u32(r.completion_window_minutes()),
                delete_after_days: to_u32(r.lifecycle().and_then(|l| l.delete_after_days())),
                cold_after_days: to_u32(r.lifecycle().and_then(|l| l.move_to_cold_storage_after_days())),
            })
            .collect();
        let tags = self.resource_tags(&arn).await?;
        let selections = self.backup_selections(&id).await?;
        Ok(Some(ObservedPlan { id, arn, name, version_id: answer.version_id().unwrap_or_default().to_string(), tags, rules, selections }))
    }

    async fn backup_selections(&self, plan_id: &str) -> Result<Vec<Selection>, CloudError> {
        let mut ids = Vec::new();
        let mut pages = self.clients.backup().list_backup_selections().backup_plan_id(plan_id).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListBackupSelections", e))?;
            ids.extend(page.backup_selections_list().iter().filter_map(|s| s.selection_id().map(str::to_string)));
        }
        let mut selections = Vec::new();
        for id in ids {
            let answer = self
                .clients
                .backup()
                .get_backup_selection()
                .backup_plan_id(plan_id)
                .selection_id(&id)
                .send()
                .await
                .map_err(|e| classify("GetBackupSelection", e))?;
            let Some(s) = answer.backup_selection() else { continue };
            let mut other_conditions = !s.not_resources().is_empty();
            let mut tags = std::collections::BTreeMap::new();
            for condition in s.list_of_tags() {
                if condition.condition_type() == &ConditionType::Stringequals {
                    tags.insert(condition.condition_key().to_string(), condition.condition_value().to_string());
                } else {
                    other_conditions = true;
                }
            }
            if let Some(c) = s.conditions() {
                other_conditions |= !(c.string_equals().is_empty()
                    && c.string_not_equals().is_empty()
                    && c.string_like().is_empty()
                    && c.string_not_like().is_empty());
            }
            selections.push(Selection {
                id,
                name: s.selection_name().to_string(),
                iam_role_arn: s.iam_role_arn().to_string(),
                tags,
                resources: s.resources().to_vec(),
                other_conditions,
            });
        }
        Ok(selections)
    }

    /// The region's EC2 instances (not terminated) and EBS volumes.
    async fn backup_resources(&self) -> Result<Vec<Resource>, CloudError> {
        let arn = |kind: &str, id: &str| format!("arn:aws:ec2:{}:{}:{kind}/{id}", self.region, self.account);
        let tags_of = |tags: &[aws_sdk_ec2::types::Tag]| -> Tags {
            tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
        };
        let mut resources = Vec::new();
        for instance in self.instances().await? {
            if instance.state == "terminated" || instance.state == "shutting-down" {
                continue;
            }
            resources.push(Resource {
                arn: arn("instance", &instance.id),
                id: instance.id,
                kind: ResourceKind::Instance,
                tags: instance.tags,
                size_gib: 0,
                attached_to: Vec::new(),
            });
        }
        let pages = self.clients.ec2().describe_volumes().max_results(500).into_paginator().send();
        let mut pages = self.paced(pages).await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeVolumes", e))?;
            for volume in page.volumes() {
                let Some(id) = volume.volume_id() else { continue };
                resources.push(Resource {
                    id: id.to_string(),
                    arn: arn("volume", id),
                    kind: ResourceKind::Volume,
                    tags: tags_of(volume.tags()),
                    size_gib: volume.size().and_then(|s| u32::try_from(s).ok()).unwrap_or(0),
                    attached_to: volume.attachments().iter().filter_map(|a| a.instance_id().map(str::to_string)).collect(),
                });
            }
        }
        Ok(resources)
    }

    pub(super) async fn apply_backup_change_impl(&self, change: &BackupChange) -> Result<Option<String>, CloudError> {
        match change {
            BackupChange::CreateVault { name, kms_key_arn, tags, creator_request_id } => {
                let created = self
                    .clients
                    .backup()
                    .create_backup_vault()
                    .backup_vault_name(name)
                    .set_encryption_key_arn(kms_key_arn.clone())
                    .set_backup_vault_tags(Some(tags.clone().into_iter().collect::<HashMap<_, _>>()))
                    .creator_request_id(creator_request_id)
                    .send()
                    .await
                    .map(|answer| answer.backup_vault_arn().map(str::to_string))
                    .map_err(|e| classify("CreateBackupVault", e));
                // AlreadyExists: done only when the vault is the one this very request made.
                let arn = done_if_verified(created, "AlreadyExistsException", self.vault_made_by(name, creator_request_id)).await?;
                tracing::info!(vault = %name, "created backup vault");
                Ok(arn)
            }
            BackupChange::CreatePlan { name, rules, tags, creator_request_id } => {
                let answer = self
                    .clients
                    .backup()
                    .create_backup_plan()
                    .backup_plan(plan_input(name, rules)?)
                    .set_backup_plan_tags(Some(tags.clone().into_iter().collect::<HashMap<_, _>>()))
                    .creator_request_id(creator_request_id)
                    .send()
                    .await
                    .map_err(|e| classify("CreateBackupPlan", e))?;
                tracing::info!(plan = %name, "created backup plan");
                Ok(answer.backup_plan_id().map(|id| created_plan(id, answer.version_id())))
            }
            BackupChange::UpdatePlan { plan_id, name, rules, differences } => {
                let answer = self
                    .clients
                    .backup()
                    .update_backup_plan()
                    .backup_plan_id(plan_id)
                    .backup_plan(plan_input(name, rules)?)
                    .send()
                    .await
                    .map_err(|e| classify("UpdateBackupPlan", e))?;
                tracing::info!(plan = %name, differences = %differences.join("; "), "restored backup plan rules");
                Ok(answer.version_id().map(str::to_string))
            }
            BackupChange::CreateSelection { plan_id, selection, creator_request_id, .. } => {
                let plan_id =
                    plan_id.as_deref().ok_or_else(|| invalid("CreateBackupSelection", "the plan of the selection was not created"))?;
                let tags: Vec<Condition> = selection
                    .tags
                    .iter()
                    .map(|(k, v)| {
                        Condition::builder()
                            .condition_type(ConditionType::Stringequals)
                            .condition_key(k)
                            .condition_value(v)
                            .build()
                            .map_err(|e| invalid("CreateBackupSelection", e))
                    })
                    .collect::<Result<_, _>>()?;
                let body = BackupSelection::builder()
                    .selection_name(&selection.name)
                    .iam_role_arn(&selection.iam_role_arn)
                    .set_resources(Some(selection.resources.clone()))
                    .set_list_of_tags(Some(tags))
                    .build()
                    .map_err(|e| invalid("CreateBackupSelection", e))?;
                let answer = self
                    .clients
                    .backup()
                    .create_backup_selection()
                    .backup_plan_id(plan_id)
                    .backup_selection(body)
                    .creator_request_id(creator_request_id)
                    .send()
                    .await
                    .map_err(|e| classify("CreateBackupSelection", e))?;
                tracing::info!(selection = %selection.name, "created backup selection");
                Ok(answer.selection_id().map(str::to_string))
            }
            // Deletes: a target gone after our call was sent is deleted (see done_if_gone).
            BackupChange::DeleteSelection { plan_id, selection_id, name } => {
                let deleted =
                    self.clients.backup().delete_backup_selection().backup_plan_id(plan_id).selection_id(selection_id).send().await;
                done_if_gone(deleted.map_err(|e| classify("DeleteBackupSelection", e)))?;
                tracing::info!(selection = %name, "deleted backup selection");
                Ok(None)
            }
            BackupChange::DeletePlan { plan_id, name } => {
                let deleted = self.clients.backup().delete_backup_plan().backup_plan_id(plan_id).send().await;
                done_if_gone(deleted.map_err(|e| classify("DeleteBackupPlan", e)))?;
                tracing::info!(plan = %name, "deleted backup plan");
                Ok(None)
            }
            BackupChange::DeleteVault { name } => {
                let deleted = self.clients.backup().delete_backup_vault().backup_vault_name(name).send().await;
                done_if_gone(deleted.map_err(|e| classify("DeleteBackupVault", e)))?;
                tracing::info!(vault = %name, "deleted backup vault");
                Ok(None)
            }
        }
    }
}

fn plan_input(name: &str, rules: &[PlanRule]) -> Result<BackupPlanInput, CloudError> {
    let rules = rules
        .iter()
        .map(|r| {
            let lifecycle = Lifecycle::builder()
                .set_delete_after_days(r.delete_after_days.map(i64::from))
                .set_move_to_cold_storage_after_days(r.cold_after_days.map(i64::from))
                .build();
            BackupRuleInput::builder()
                .rule_name(&r.name)
                .target_backup_vault_name(&r.target_vault)
                .schedule_expression(&r.schedule)
                .set_schedule_expression_timezone(r.timezone.clone())
                .set_start_window_minutes(r.start_window_minutes.map(i64::from))
                .set_completion_window_minutes(r.completion_window_minutes.map(i64::from))
                .lifecycle(lifecycle)
                .build()
                .map_err(|e| invalid("BackupRuleInput", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    BackupPlanInput::builder().backup_plan_name(name).set_rules(Some(rules)).build().map_err(|e| invalid("BackupPlanInput", e))
}
