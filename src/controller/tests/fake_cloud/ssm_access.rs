//! The in-memory account's security groups, instances, profiles and key pairs.

use async_trait::async_trait;

use super::super::fixtures::ACCOUNT;
use super::{CloudCall, FakeCloud, lock};
use crate::api::validate::{SsmAccessDesired, ValidatedPolicy};
use crate::engine::areas::SsmAccess;
use crate::engine::{AreaCloud, CloudError, ErrorKind};
use crate::plan::ssm_access::{IngressRule, InstanceProfile, RuleCall, SsmAccessChange, SsmAccessInventory};

#[async_trait]
impl AreaCloud<SsmAccess> for FakeCloud {
    /// The account's ssmAccess inventory: empty unless a test seeds it.
    async fn observe(&self, _policy: &ValidatedPolicy, _desired: &SsmAccessDesired) -> Result<SsmAccessInventory, CloudError> {
        self.record(CloudCall::ObserveSsm);
        if let Some(error) = &self.fail_observe_ssm {
            return Err(error.clone());
        }
        Ok(self.ssm())
    }

    /// Security group changes make their EC2 calls in `rule_calls()` order, as the real
    /// adapter does, and stop at the first failure.
    async fn apply(&self, policy: &str, change: &SsmAccessChange) -> Result<Option<String>, CloudError> {
        if !change.is_security_group_change() {
            self.record(CloudCall::SsmAccessChange(change.describe()));
            let mut account = lock(&self.account);
            let ssm = &mut account.ssm;
            match change {
                SsmAccessChange::AttachInstanceProfile { instance_id, profile_name } => {
                    let instance = ssm.instances.iter_mut().find(|i| &i.id == instance_id);
                    let instance = instance.ok_or_else(|| {
                        CloudError::new("AssociateIamInstanceProfile", ErrorKind::NotFound, format!("{instance_id} not found"))
                    })?;
                    instance.profile_arn = Some(format!("arn:aws:iam::{ACCOUNT}:instance-profile/{profile_name}"));
                }
                SsmAccessChange::CreateInstanceProfile { name } => {
                    let arn = format!("arn:aws:iam::{ACCOUNT}:instance-profile/{name}");
                    let tags = crate::plan::ownership_tags(policy);
                    ssm.profiles.insert(name.clone(), InstanceProfile { name: name.clone(), arn, grants_ssm: true, tags: tags.clone() });
                    ssm.configured_role = Some(tags);
                }
                SsmAccessChange::SetDefaultHostManagementRole { role, .. } => ssm.default_host_management_role = Some(role.clone()),
                SsmAccessChange::DeleteKeyPair { key_pair_id, .. } => ssm.key_pairs.retain(|k| &k.id != key_pair_id),
                SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::SplitIngress { .. } => {}
            }
            return Ok(None);
        }
        let mut created = Vec::new();
        for call in change.rule_calls() {
            match call {
                RuleCall::Authorize { group_id, protocol, ranges, source, description } => {
                    self.record(CloudCall::AuthorizeIngress { group_id: group_id.to_string(), ranges: ranges.to_vec() });
                    self.failure("AuthorizeSecurityGroupIngress")?;
                    let ids: Vec<String> = ranges.iter().map(|_| self.next_id("sgr")).collect();
                    let mut account = lock(&self.account);
                    let group = account.ssm.security_groups.iter_mut().find(|g| g.id == group_id).ok_or_else(|| {
                        CloudError::new("AuthorizeSecurityGroupIngress", ErrorKind::NotFound, format!("{group_id} not found"))
                    })?;
                    for (id, range) in ids.iter().zip(ranges) {
                        group.ingress.push(IngressRule {
                            rule_id: id.clone(),
                            protocol: protocol.to_string(),
                            from_port: range.from,
                            to_port: range.to,
                            source: source.clone(),
                            description: Some(description.to_string()),
                        });
                    }
                    created.extend(ids);
                }
                RuleCall::Revoke { group_id, rule_id } => {
                    self.record(CloudCall::RevokeIngress { group_id: group_id.to_string(), rule_id: rule_id.to_string() });
                    self.failure("RevokeSecurityGroupIngress")?;
                    let mut account = lock(&self.account);
                    let group = account.ssm.security_groups.iter_mut().find(|g| g.id == group_id);
                    let rules = group.map(|g| &mut g.ingress);
                    match rules {
                        Some(rules) if rules.iter().any(|r| r.rule_id == rule_id) => rules.retain(|r| r.rule_id != rule_id),
                        _ => {
                            return Err(CloudError::new("RevokeSecurityGroupIngress", ErrorKind::NotFound, format!("{rule_id} not found")));
                        }
                    }
                }
            }
        }
        Ok(if created.is_empty() { None } else { Some(created.join(",")) })
    }
}
