//! rightSizing: Compute Optimizer's enrollment and its EC2 instance, EBS volume and Auto
//! Scaling group recommendations in the policy's region (recommendations are regional,
//! enrollment is the account's); Auto Scaling groups' tags when a selector needs them.

use aws_sdk_computeoptimizer::types::{
    AutoScalingGroupRecommendation, InstanceRecommendation, SavingsOpportunity, Status, VolumeConfiguration, VolumeRecommendation,
};

use crate::api::RightSizingResource;
use crate::api::validate::{RightSizingDesired, ValidatedPolicy};
use crate::engine::AreaCloud;
use crate::engine::areas::RightSizing;
use crate::engine::{CloudError, ErrorKind};
use crate::plan::Tags;
use crate::plan::right_sizing::{Enrollment, Finding, Recommendation, RightSizingChange, RightSizingInventory};

use super::AwsCloud;
use super::error::classify;
use super::pacing::PaceClass;

/// The largest page Compute Optimizer serves for these operations (1000 for instances and
/// volumes, 100 for groups).
const PAGE: i32 = 100;
/// What AWS answers while the account is not (or not yet) enrolled.
const OPT_IN_REQUIRED: &str = "OptInRequiredException";

#[async_trait::async_trait]
impl AreaCloud<RightSizing> for AwsCloud {
    async fn observe(&self, _policy: &ValidatedPolicy, desired: &RightSizingDesired) -> Result<RightSizingInventory, CloudError> {
        let (enrollment, status_reason, member_accounts_enrolled) =
            self.cached("GetEnrollmentStatus".to_string(), self.enrollment()).await?;
        let mut inventory = RightSizingInventory { enrollment, status_reason, member_accounts_enrolled, recommendations: Vec::new() };
        if enrollment != Enrollment::Active {
            return Ok(inventory);
        }
        for kind in &desired.resources {
            let read = self.cached(format!("Compute Optimizer {}", kind.as_str()), self.recommendations(*kind)).await;
            match read {
                Ok(mut recommendations) => {
                    if *kind == RightSizingResource::AutoScalingGroups && !desired.selector.is_empty() && !recommendations.is_empty() {
                        let tags = self.cached("DescribeAutoScalingGroups".to_string(), self.auto_scaling_group_tags()).await?;
                        for r in &mut recommendations {
                            r.tags = tags.iter().find(|(name, _)| *name == r.id).map(|(_, t)| t.clone()).unwrap_or_default();
                        }
                    }
                    inventory.recommendations.extend(recommendations);
                }
                // Enrolled a moment ago: AWS has not caught up, and has nothing to say yet.
                Err(error) if error.message.starts_with(OPT_IN_REQUIRED) => {
                    tracing::info!(%error, "Compute Optimizer refuses recommendations right after enrolling");
                    return Ok(RightSizingInventory { enrollment: Enrollment::Pending, ..inventory });
                }
                Err(error) => return Err(error),
            }
        }
        Ok(inventory)
    }

    /// Answers the enrollment status UpdateEnrollmentStatus reports (Active or Pending).
    async fn apply(&self, _policy: &str, change: &RightSizingChange) -> Result<Option<String>, CloudError> {
        match change {
            RightSizingChange::Enroll { include_member_accounts } => {
                self.mutating(async {
                    self.pace(PaceClass::Mutating).await;
                    let answer = self
                        .clients
                        .compute_optimizer()
                        .update_enrollment_status()
                        .status(Status::Active)
                        .include_member_accounts(*include_member_accounts)
                        .send()
                        .await
                        .map_err(|e| classify("UpdateEnrollmentStatus", e))?;
                    Ok(answer.status().map(|s| s.as_str().to_string()))
                })
                .await
            }
        }
    }
}

impl AwsCloud {
    async fn enrollment(&self) -> Result<(Enrollment, Option<String>, bool), CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer =
            self.clients.compute_optimizer().get_enrollment_status().send().await.map_err(|e| classify("GetEnrollmentStatus", e))?;
        let status = answer.status().map(Status::as_str).unwrap_or("Inactive");
        let enrollment = Enrollment::parse(status).ok_or_else(|| {
            CloudError::new("GetEnrollmentStatus", ErrorKind::InvalidRequest, format!("unknown enrollment status {status:?}"))
        })?;
        Ok((enrollment, answer.status_reason().map(str::to_string), answer.member_accounts_enrolled()))
    }

    /// Every recommendation of one kind in the region, page by page.
    async fn recommendations(&self, kind: RightSizingResource) -> Result<Vec<Recommendation>, CloudError> {
        let co = &self.clients.compute_optimizer();
        match kind {
            RightSizingResource::Ec2Instances => {
                self.token_pages(|token| {
                    let request = co.get_ec2_instance_recommendations().max_results(PAGE).set_next_token(token);
                    async move {
                        let page = request.send().await.map_err(|e| classify("GetEC2InstanceRecommendations", e))?;
                        Ok((page.instance_recommendations().iter().filter_map(instance).collect(), page.next_token().map(str::to_string)))
                    }
                })
                .await
            }
            RightSizingResource::EbsVolumes => {
                self.token_pages(|token| {
                    let request = co.get_ebs_volume_recommendations().max_results(PAGE).set_next_token(token);
                    async move {
                        let page = request.send().await.map_err(|e| classify("GetEBSVolumeRecommendations", e))?;
                        Ok((page.volume_recommendations().iter().filter_map(volume).collect(), page.next_token().map(str::to_string)))
                    }
                })
                .await
            }
            RightSizingResource::AutoScalingGroups => {
                self.token_pages(|token| {
                    let request = co.get_auto_scaling_group_recommendations().max_results(PAGE).set_next_token(token);
                    async move {
                        let page = request.send().await.map_err(|e| classify("GetAutoScalingGroupRecommendations", e))?;
                        let groups = page.auto_scaling_group_recommendations().iter().filter_map(auto_scaling_group).collect();
                        Ok((groups, page.next_token().map(str::to_string)))
                    }
                })
                .await
            }
        }
    }

    /// Every Auto Scaling group's name and tags in the region.
    async fn auto_scaling_group_tags(&self) -> Result<Vec<(String, Tags)>, CloudError> {
        self.token_pages(|token| {
            let request = self.clients.autoscaling().describe_auto_scaling_groups().set_next_token(token);
            async move {
                let page = request.send().await.map_err(|e| classify("DescribeAutoScalingGroups", e))?;
                let groups = page.auto_scaling_groups().iter().map(|group| {
                    let tags = group.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())));
                    (group.auto_scaling_group_name().unwrap_or_default().to_string(), tags.collect())
                });
                Ok((groups.collect(), page.next_token().map(str::to_string)))
            }
        })
        .await
    }
}

/// The resource id at the end of an ARN (`…:instance/i-0abc` → `i-0abc`).
fn id_of(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

fn savings(opportunity: Option<&SavingsOpportunity>) -> f64 {
    opportunity.and_then(SavingsOpportunity::estimated_monthly_savings).map_or(0.0, |s| s.value())
}

/// The rank-1 option (AWS lists them by rank, but says which is first).
fn top<T>(options: &[T], rank: impl Fn(&T) -> i32) -> Option<&T> {
    options.iter().min_by_key(|o| rank(o))
}

fn compute_tags(tags: &[aws_sdk_computeoptimizer::types::Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

/// A recommendation whose finding this version does not know is skipped (and logged): it
/// says nothing about savings the plan could trust.
fn finding(text: Option<&str>, id: &str) -> Option<Finding> {
    let text = text?;
    let parsed = Finding::parse(text);
    if parsed.is_none() {
        tracing::info!(resource = %id, finding = %text, "Compute Optimizer finding not known here; skipped");
    }
    parsed
}

fn instance(r: &InstanceRecommendation) -> Option<Recommendation> {
    let id = id_of(r.instance_arn()?);
    let option = top(r.recommendation_options(), |o| o.rank());
    Some(Recommendation {
        kind: RightSizingResource::Ec2Instances,
        finding: finding(r.finding().map(|f| f.as_str()), &id)?,
        current: r.current_instance_type().unwrap_or("unknown").to_string(),
        recommended: option.and_then(|o| o.instance_type()).map(str::to_string),
        monthly_savings_usd: savings(option.and_then(|o| o.savings_opportunity())),
        performance_risk: option.map(|o| o.performance_risk()),
        tags: compute_tags(r.tags()),
        id,
    })
}

/// `gp2 100 GiB`.
fn volume_text(configuration: &VolumeConfiguration) -> String {
    format!("{} {} GiB", configuration.volume_type().unwrap_or("unknown"), configuration.volume_size())
}

fn volume(r: &VolumeRecommendation) -> Option<Recommendation> {
    let id = id_of(r.volume_arn()?);
    let option = top(r.volume_recommendation_options(), |o| o.rank());
    Some(Recommendation {
        kind: RightSizingResource::EbsVolumes,
        finding: finding(r.finding().map(|f| f.as_str()), &id)?,
        current: r.current_configuration().map_or_else(|| "unknown".to_string(), volume_text),
        recommended: option.and_then(|o| o.configuration()).map(volume_text),
        monthly_savings_usd: savings(option.and_then(|o| o.savings_opportunity())),
        performance_risk: option.map(|o| o.performance_risk()),
        tags: compute_tags(r.tags()),
        id,
    })
}

fn auto_scaling_group(r: &AutoScalingGroupRecommendation) -> Option<Recommendation> {
    let id = r.auto_scaling_group_name()?.to_string();
    let option = top(r.recommendation_options(), |o| o.rank());
    let instance_type = |c: &aws_sdk_computeoptimizer::types::AutoScalingGroupConfiguration| c.instance_type().map(str::to_string);
    Some(Recommendation {
        kind: RightSizingResource::AutoScalingGroups,
        finding: finding(r.finding().map(|f| f.as_str()), &id)?,
        current: r.current_configuration().and_then(instance_type).unwrap_or_else(|| "unknown".to_string()),
        recommended: option.and_then(|o| o.configuration()).and_then(instance_type),
        monthly_savings_usd: savings(option.and_then(|o| o.savings_opportunity())),
        performance_risk: option.map(|o| o.performance_risk()),
        // Compute Optimizer's answer has none for groups: observe adds them when a selector needs them.
        tags: Tags::new(),
        id,
    })
}
