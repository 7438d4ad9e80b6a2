//! EBS snapshots and every source that protects one: AMIs, launch templates, locks.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{Filter, LockState, Tag};

use crate::api::names::TAG_EXPIRES_AT;
use crate::api::validate::SnapshotRetentionDesired;
use crate::api::validate::ValidatedPolicy;
use crate::engine::AreaCloud;
use crate::engine::areas::SnapshotRetention;
use crate::engine::{CloudError, ErrorKind};
use crate::plan::snapshot_retention::{Protection, Snapshot, SnapshotRetentionChange, SnapshotRetentionInventory};

use super::AwsCloud;
use super::error::{classify, done_if_gone};
use super::lean_decode::LeanDecode;
use super::pacing::PaceClass;

const PAGE_SIZE: i32 = 1000;

/// Snapshots and key pairs named by any version of any launch template.
#[derive(Clone, Debug, Default)]
pub(super) struct LaunchTemplateRefs {
    pub snapshot_ids: BTreeSet<String>,
    pub key_names: BTreeSet<String>,
}
/// Resource ids per CreateTags / DeleteTags call.
const TAG_BATCH: usize = 500;

#[async_trait::async_trait]
impl AreaCloud<SnapshotRetention> for AwsCloud {
    async fn observe(
        &self,
        _policy: &ValidatedPolicy,
        desired: &SnapshotRetentionDesired,
    ) -> Result<SnapshotRetentionInventory, CloudError> {
        self.observe_snapshots_impl(desired).await
    }

    async fn apply(&self, _policy: &str, change: &SnapshotRetentionChange) -> Result<Option<String>, CloudError> {
        self.mutating(self.apply_snapshot_change_impl(change)).await.map(|()| None)
    }
}

impl AwsCloud {
    pub(super) async fn observe_snapshots_impl(
        &self,
        desired: &SnapshotRetentionDesired,
    ) -> Result<SnapshotRetentionInventory, CloudError> {
        // The tag selector is filtered server-side, so it is part of the read's name: the
        // cache then holds only snapshots in some policy's scope.
        let read = format!("DescribeSnapshots {:?}", desired.selector);
        let snapshots = self.cached(read, async { self.describe_own_snapshots(desired).await.map(std::sync::Arc::new) }).await?;
        let ami_snapshots = self.cached("DescribeImages".to_string(), self.ami_snapshots()).await?;
        let launch_template_snapshots = self.launch_templates().await?.snapshot_ids;
        let locked_snapshots = self.cached("DescribeLockedSnapshots".to_string(), self.locked_snapshots()).await?;
        Ok(SnapshotRetentionInventory { snapshots, ami_snapshots, launch_template_snapshots, locked_snapshots })
    }

    /// The account's own snapshots in scope, page by page (1000 a page), converted as they
    /// arrive so memory follows the snapshots in scope, not the raw answers. The pages are
    /// decoded leanly (`lean_decode`): the largest answer the operator reads.
    async fn describe_own_snapshots(&self, desired: &SnapshotRetentionDesired) -> Result<Vec<Snapshot>, CloudError> {
        let filters: Vec<Filter> =
            desired.selector.iter().map(|(k, v)| Filter::builder().name(format!("tag:{k}")).values(v).build()).collect();
        let filters = if filters.is_empty() { None } else { Some(filters) };
        self.token_pages(|token| {
            let request = self
                .clients
                .ec2()
                .describe_snapshots()
                .owner_ids("self")
                .set_filters(filters.clone())
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .customize()
                .interceptor(LeanDecode::snapshots());
            async move {
                let page = request.send().await.map_err(|e| classify("DescribeSnapshots", e))?;
                let snapshots = page.snapshots().iter().map(convert_snapshot).collect::<Result<Vec<_>, _>>()?;
                Ok((snapshots, page.next_token().map(str::to_string)))
            }
        })
        .await
    }

    /// Snapshots behind the account's own AMIs.
    async fn ami_snapshots(&self) -> Result<BTreeSet<String>, CloudError> {
        // Deprecated and disabled AMIs still hold their snapshots (a disabled AMI can be re-enabled).
        let pages = self
            .clients
            .ec2()
            .describe_images()
            .owners("self")
            .include_deprecated(true)
            .include_disabled(true)
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut ids = BTreeSet::new();
        let mut pages = self.paced(pages).await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeImages", e))?;
            for image in page.images() {
                ids.extend(image.block_device_mappings().iter().filter_map(|m| m.ebs()?.snapshot_id().map(str::to_string)));
            }
        }
        Ok(ids)
    }

    /// What every version of every launch template names, read once for both the snapshots
    /// and the ssmAccess area.
    pub(super) async fn launch_templates(&self) -> Result<LaunchTemplateRefs, CloudError> {
        self.cached("DescribeLaunchTemplateVersions".to_string(), self.read_launch_templates()).await
    }

    async fn read_launch_templates(&self) -> Result<LaunchTemplateRefs, CloudError> {
        let mut templates = Vec::new();
        let pages = self.clients.ec2().describe_launch_templates().max_results(200).into_paginator().send();
        let mut pages = self.paced(pages).await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeLaunchTemplates", e))?;
            templates.extend(page.launch_templates().iter().filter_map(|t| t.launch_template_id().map(str::to_string)));
        }
        let mut refs = LaunchTemplateRefs::default();
        for template in templates {
            // Without Versions, every version of the template is listed.
            let pages = self
                .clients
                .ec2()
                .describe_launch_template_versions()
                .launch_template_id(&template)
                .max_results(200)
                .into_paginator()
                .send();
            let mut pages = self.paced(pages).await;
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| classify("DescribeLaunchTemplateVersions", e))?;
                for data in page.launch_template_versions().iter().filter_map(|v| v.launch_template_data()) {
                    refs.snapshot_ids
                        .extend(data.block_device_mappings().iter().filter_map(|m| m.ebs()?.snapshot_id().map(str::to_string)));
                    refs.key_names.extend(data.key_name().map(str::to_string));
                }
            }
        }
        Ok(refs)
    }

    /// Snapshots under an EBS snapshot lock.
    async fn locked_snapshots(&self) -> Result<BTreeSet<String>, CloudError> {
        let mut ids = BTreeSet::new();
        let mut token: Option<String> = None;
        loop {
            self.pace(PaceClass::NonMutating).await;
            let page = self
                .clients
                .ec2()
                .describe_locked_snapshots()
                .max_results(PAGE_SIZE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify("DescribeLockedSnapshots", e))?;
            // A lock past its expiry date no longer stops a delete; every other state does.
            let locked = page.snapshots().iter().filter(|s| s.lock_state() != Some(&LockState::Expired));
            ids.extend(locked.filter_map(|s| s.snapshot_id().map(str::to_string)));
            match page.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(ids)
    }

    pub(super) async fn apply_snapshot_change_impl(&self, change: &SnapshotRetentionChange) -> Result<(), CloudError> {
        match change {
            SnapshotRetentionChange::TagExpiring { snapshot_ids, expires_at } => {
                for batch in snapshot_ids.chunks(TAG_BATCH) {
                    self.pace(PaceClass::CreateTags).await;
                    self.clients
                        .ec2()
                        .create_tags()
                        .set_resources(Some(batch.to_vec()))
                        .tags(Tag::builder().key(TAG_EXPIRES_AT).value(expires_at).build())
                        .send()
                        .await
                        .map_err(|e| classify("CreateTags", e))?;
                }
                tracing::info!(count = snapshot_ids.len(), %expires_at, "tagged expired snapshots");
                Ok(())
            }
            SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids } => {
                for batch in snapshot_ids.chunks(TAG_BATCH) {
                    self.pace(PaceClass::Mutating).await;
                    self.clients
                        .ec2()
                        .delete_tags()
                        .set_resources(Some(batch.to_vec()))
                        .tags(Tag::builder().key(TAG_EXPIRES_AT).build())
                        .send()
                        .await
                        .map_err(|e| classify("DeleteTags", e))?;
                }
                tracing::info!(count = snapshot_ids.len(), "removed expiry tags");
                Ok(())
            }
            SnapshotRetentionChange::Delete { snapshot_id, .. } => {
                self.pace(PaceClass::DeleteSnapshot).await;
                let deleted = self.clients.ec2().delete_snapshot().snapshot_id(snapshot_id).send().await;
                // NotFound: gone after our delete was sent (its answer lost, the retry finds
                // nothing): deleted as planned, not a protection.
                done_if_gone(deleted.map_err(|e| refusal(classify("DeleteSnapshot", e))))?;
                tracing::info!(%snapshot_id, "deleted snapshot");
                Ok(())
            }
        }
    }
}

/// One snapshot of a DescribeSnapshots answer. An answer without the id or the start time is
/// malformed: retention is abandoned for the run (safety rule 7) rather than guessing an age.
pub(super) fn convert_snapshot(s: &aws_sdk_ec2::types::Snapshot) -> Result<Snapshot, CloudError> {
    let malformed =
        |what: &str| CloudError::new("DescribeSnapshots", ErrorKind::ServerError, format!("a snapshot in the answer has no {what}"));
    let id = s.snapshot_id().ok_or_else(|| malformed("SnapshotId"))?;
    let start_time = s.start_time().ok_or_else(|| malformed(&format!("StartTime ({id})")))?;
    Ok(Snapshot {
        id: id.to_string(),
        volume_id: s.volume_id().map(str::to_string),
        volume_size_gib: s.volume_size().and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
        start_time: start_time.secs(),
        // A missing state is not `completed`: the snapshot is protected.
        state: s.state().map(|st| st.as_str().to_string()).unwrap_or_default(),
        description: s.description().unwrap_or_default().to_string(),
        tags: s.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect(),
    })
}

/// AWS refuses to delete a snapshot in use by an AMI, made by AWS Backup or locked: those
/// are protections the plan could not see, not failures.
fn refusal(mut error: CloudError) -> CloudError {
    if let Some(protection) = refusal_protection(&error.message) {
        error.kind = ErrorKind::Protected(protection.describe());
    }
    error
}

/// The protection EC2's refusal to delete a snapshot reveals, from its error message.
fn refusal_protection(message: &str) -> Option<Protection> {
    if message.contains("AWS Backup") {
        Some(Protection::ManagedByBackup)
    } else if message.starts_with("SnapshotLocked") || message.contains("is locked") {
        Some(Protection::Locked)
    } else if message.starts_with("InvalidSnapshot.InUse") {
        Some(Protection::UsedByAmi)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_of_aws_are_protections() {
        let e = |m: &str| refusal(CloudError::new("DeleteSnapshot", ErrorKind::InvalidRequest, m)).kind;
        assert_eq!(
            e("InvalidSnapshot.InUse: The snapshot snap-1 is currently in use by ami-1"),
            ErrorKind::Protected(Protection::UsedByAmi.describe())
        );
        assert_eq!(
            e("InvalidParameterValue: This snapshot is managed by the AWS Backup service and cannot be deleted via EC2 APIs."),
            ErrorKind::Protected(Protection::ManagedByBackup.describe())
        );
        assert_eq!(e("SnapshotLocked: snap-1 is locked"), ErrorKind::Protected(Protection::Locked.describe()));
        assert_eq!(e("InvalidParameterValue: something else"), ErrorKind::InvalidRequest);
    }

    #[test]
    fn a_snapshot_without_a_start_time_abandons_the_read_instead_of_looking_ancient() {
        let builder = || aws_sdk_ec2::types::Snapshot::builder().snapshot_id("snap-1").state(aws_sdk_ec2::types::SnapshotState::Completed);
        let without = builder().build();
        let error = convert_snapshot(&without).expect_err("malformed answer");
        assert_eq!(error.operation, "DescribeSnapshots");
        assert!(error.message.contains("StartTime (snap-1)"), "{error}");
        let with = builder().start_time(aws_smithy_types::DateTime::from_secs(1_700_000_000)).build();
        assert_eq!(convert_snapshot(&with).expect("valid").start_time, 1_700_000_000);
    }
}
