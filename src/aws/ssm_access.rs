//! ssmAccess: security group rules, instances and their profiles (IAM), SSM's view of them,
//! the Default Host Management setting, key pairs and launch template key names.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{
    Filter, IamInstanceProfileSpecification, IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroupRule, Tag, TagSpecification,
};

use crate::api::names::{MANAGED_BY_VALUE, TAG_MANAGED_BY, TAG_POLICY};
use crate::api::validate::SsmAccessDesired;
use crate::api::validate::ValidatedPolicy;
use crate::engine::AreaCloud;
use crate::engine::areas::SsmAccess;
use crate::engine::{CloudError, ErrorKind};
use crate::plan::ssm_access::agent_policy::{documents_allow_agent, parse_document, trusts_service};
use crate::plan::ssm_access::{
    IngressRule, Instance, InstanceProfile, KeyPair, PortRange, RoleFacts, RuleCall, SecurityGroup, Source, SsmAccessChange,
    SsmAccessInventory, profile_name_from_arn, role_path_name,
};
use crate::plan::{Tags, is_owned_by, ownership_tags};

use super::AwsCloud;
use super::error::{classify, done_if_gone, done_if_verified};
use super::lean_decode::LeanDecode;
use super::pacing::PaceClass;

/// The SSM service setting of the Default Host Management Configuration.
pub const DHMC_SETTING_ID: &str = "/ssm/managed-instance/default-ec2-instance-management-role";
/// The AWS managed policy that lets SSM manage an instance.
pub const SSM_CORE_POLICY: &str = "AmazonSSMManagedInstanceCore";
/// Managed policies that grant what SSM needs (the core one, DHMC's, and the deprecated one).
const SSM_POLICIES: [&str; 3] = [SSM_CORE_POLICY, "AmazonSSMManagedEC2InstanceDefaultPolicy", "AmazonEC2RoleforSSM"];
const EC2_TRUST_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[async_trait::async_trait]
impl AreaCloud<SsmAccess> for AwsCloud {
    async fn observe(&self, _policy: &ValidatedPolicy, desired: &SsmAccessDesired) -> Result<SsmAccessInventory, CloudError> {
        self.observe_ssm_access_impl(desired).await
    }

    async fn apply(&self, policy: &str, change: &SsmAccessChange) -> Result<Option<String>, CloudError> {
        self.mutating(self.apply_ssm_change_impl(policy, change)).await
    }
}

impl AwsCloud {
    pub(super) async fn observe_ssm_access_impl(&self, desired: &SsmAccessDesired) -> Result<SsmAccessInventory, CloudError> {
        let security_groups = self.cached("DescribeSecurityGroups".to_string(), self.security_groups()).await?;
        let instances = self.instances().await?;
        let mut names: BTreeSet<String> =
            instances.iter().filter_map(|i| i.profile_arn.as_deref()).map(|arn| profile_name_from_arn(arn).to_string()).collect();
        if let Some(p) = &desired.instance_profile {
            names.insert(p.name.clone());
        }
        let mut profiles = BTreeMap::new();
        // Roles shared by several profiles are read once per run.
        let mut role_grants = BTreeMap::new();
        for name in names {
            let read = format!("GetInstanceProfile {name}");
            if let Some(profile) = self.cached_global(read, self.instance_profile(&name, &mut role_grants)).await? {
                profiles.insert(name, profile);
            }
        }
        let configured_role = match &desired.instance_profile {
            Some(p) if p.create => self.cached_global(format!("GetRole {}", p.name), self.role_tags(&p.name)).await?,
            _ => None,
        };
        let ssm_instances = self.cached("DescribeInstanceInformation".to_string(), self.ssm_instances()).await?;
        let default_host_management_role = self.cached("GetServiceSetting".to_string(), self.dhmc_role()).await?;
        let dhmc_role_facts = match desired.default_host_management_role.as_deref().and_then(role_path_name) {
            Some(path_name) => {
                let name = path_name.rsplit('/').next().unwrap_or(&path_name).to_string();
                Some(self.cached_global(format!("DHMC role {name}"), self.role_facts(&name)).await?)
            }
            None => None,
        };
        let key_pairs = self.cached("DescribeKeyPairs".to_string(), self.key_pairs()).await?;
        let launch_template_key_names = self.launch_templates().await?.key_names;
        Ok(SsmAccessInventory {
            security_groups,
            instances,
            profiles,
            ssm_instances,
            configured_role,
            default_host_management_role,
            dhmc_role_facts,
            key_pairs,
            launch_template_key_names,
        })
    }

    /// Every security group of the region with its ingress rules (one source per rule).
    async fn security_groups(&self) -> Result<Vec<SecurityGroup>, CloudError> {
        let read = self.token_pages(|token| {
            let request = self
                .clients
                .ec2()
                .describe_security_groups()
                .max_results(1000)
                .set_next_token(token)
                .customize()
                .interceptor(LeanDecode::security_groups());
            async move {
                let page = request.send().await.map_err(|e| classify("DescribeSecurityGroups", e))?;
                Ok((page.security_groups().iter().filter_map(convert_security_group).collect(), page.next_token().map(str::to_string)))
            }
        });
        let mut groups: BTreeMap<String, SecurityGroup> = read.await?.into_iter().map(|g| (g.id.clone(), g)).collect();
        for (group_id, rule) in self.ingress_rules(None).await? {
            if let Some(group) = groups.get_mut(&group_id) {
                group.ingress.push(rule);
            }
        }
        Ok(groups.into_values().collect())
    }

    /// Ingress rules with their group ids: the region's, or one group's.
    async fn ingress_rules(&self, group_id: Option<&str>) -> Result<Vec<(String, IngressRule)>, CloudError> {
        let filter = group_id.map(|id| Filter::builder().name("group-id").values(id).build());
        self.token_pages(|token| {
            let request = self
                .clients
                .ec2()
                .describe_security_group_rules()
                .set_filters(filter.clone().map(|f| vec![f]))
                .max_results(1000)
                .set_next_token(token)
                .customize()
                .interceptor(LeanDecode::security_group_rules());
            async move {
                let page = request.send().await.map_err(|e| classify("DescribeSecurityGroupRules", e))?;
                let rules = page.security_group_rules().iter().filter_map(ingress_rule).map(|(g, r)| (g.to_string(), r)).collect();
                Ok((rules, page.next_token().map(str::to_string)))
            }
        })
        .await
    }

    /// The ids of the group's rules that are exactly the permissions asked (protocol, each port
    /// range, source); None when one of them is missing.
    async fn rules_as_asked(
        &self,
        group_id: &str,
        protocol: &str,
        ranges: &[PortRange],
        source: &Source,
    ) -> Result<Option<Vec<String>>, CloudError> {
        let rules = self.ingress_rules(Some(group_id)).await?;
        Ok(ranges
            .iter()
            .map(|range| {
                // ingress_rules read only this group's rules.
                rules
                    .iter()
                    .map(|(_, r)| r)
                    .find(|r| {
                        r.protocol.eq_ignore_ascii_case(protocol)
                            && r.from_port == range.from
                            && r.to_port == range.to
                            && &r.source == source
                    })
                    .map(|r| r.rule_id.clone())
            })
            .collect())
    }

    /// The association of the instance (associated or associating) when its profile is
    /// `profile_name`: what AssociateIamInstanceProfile would have made.
    async fn association_of(&self, instance_id: &str, profile_name: &str) -> Result<Option<Option<String>>, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer = self
            .clients
            .ec2()
            .describe_iam_instance_profile_associations()
            .filters(Filter::builder().name("instance-id").values(instance_id).build())
            .filters(Filter::builder().name("state").values("associated").values("associating").build())
            .send()
            .await
            .map_err(|e| classify("DescribeIamInstanceProfileAssociations", e))?;
        Ok(answer
            .iam_instance_profile_associations()
            .iter()
            .filter(|a| a.instance_id() == Some(instance_id))
            .find(|a| a.iam_instance_profile().and_then(|p| p.arn()).is_some_and(|arn| profile_name_from_arn(arn) == profile_name))
            .map(|a| a.association_id().map(str::to_string)))
    }

    /// Every instance of the region with what ssmAccess, cloudWatch and backup read of it, read
    /// once for the three while fresh.
    pub(super) async fn instances(&self) -> Result<Vec<Instance>, CloudError> {
        self.cached("DescribeInstances".to_string(), self.read_instances()).await
    }

    /// The pages are decoded leanly (`lean_decode`): instances are the second largest answer.
    async fn read_instances(&self) -> Result<Vec<Instance>, CloudError> {
        self.token_pages(|token| {
            let request = self
                .clients
                .ec2()
                .describe_instances()
                .max_results(1000)
                .set_next_token(token)
                .customize()
                .interceptor(LeanDecode::instances());
            async move {
                let page = request.send().await.map_err(|e| classify("DescribeInstances", e))?;
                let instances = page.reservations().iter().flat_map(|r| r.instances()).filter_map(convert_instance).collect();
                Ok((instances, page.next_token().map(str::to_string)))
            }
        })
        .await
    }

    /// An instance profile and whether a role of it grants what the SSM Agent needs; None when
    /// no profile of that name exists. `role_grants` caches the answer per role.
    async fn instance_profile(&self, name: &str, role_grants: &mut BTreeMap<String, bool>) -> Result<Option<InstanceProfile>, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer = match self.clients.iam().get_instance_profile().instance_profile_name(name).send().await {
            Ok(answer) => answer,
            Err(e) => {
                let error = classify("GetInstanceProfile", e);
                if error.message.starts_with("NoSuchEntity") {
                    return Ok(None);
                }
                return Err(error);
            }
        };
        let Some(profile) = answer.instance_profile() else { return Ok(None) };
        let mut grants_ssm = false;
        for role in profile.roles() {
            let role = role.role_name();
            let grants = match role_grants.get(role) {
                Some(grants) => *grants,
                None => {
                    let grants = self.role_grants_ssm(role).await?;
                    role_grants.insert(role.to_string(), grants);
                    grants
                }
            };
            grants_ssm |= grants;
        }
        Ok(Some(InstanceProfile {
            name: profile.instance_profile_name().to_string(),
            arn: profile.arn().to_string(),
            grants_ssm,
            tags: iam_tags(profile.tags()),
        }))
    }

    /// True when the role carries an AWS managed SSM policy, or its customer managed and
    /// inline policies together allow the agent's actions.
    async fn role_grants_ssm(&self, role: &str) -> Result<bool, CloudError> {
        let mut customer_managed = Vec::new();
        let pages = self.clients.iam().list_attached_role_policies().role_name(role).into_paginator().send();
        let mut pages = self.paced(pages).await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("ListAttachedRolePolicies", e))?;
            for policy in page.attached_policies() {
                let arn = policy.policy_arn().unwrap_or_default();
                let aws_managed = arn.contains(":iam::aws:policy/");
                if aws_managed && policy.policy_name().is_some_and(|n| SSM_POLICIES.contains(&n)) {
                    return Ok(true);
                }
                // Other AWS managed policies are not read: bounded calls, and none of the
                // ones meant for instances grants less than the core policy.
                if !aws_managed && !arn.is_empty() {
                    customer_managed.push(arn.to_string());
                }
            }
        }
        let mut documents = Vec::new();
        for arn in customer_managed {
            self.pace(PaceClass::NonMutating).await;
            let answer = self.clients.iam().get_policy().policy_arn(&arn).send().await.map_err(|e| classify("GetPolicy", e))?;
            let Some(version) = answer.policy().and_then(|p| p.default_version_id()) else { continue };
            self.pace(PaceClass::NonMutating).await;
            let answer = self
                .clients
                .iam()
                .get_policy_version()
                .policy_arn(&arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| classify("GetPolicyVersion", e))?;
            documents.extend(answer.policy_version().and_then(|v| v.document()).and_then(parse_document));
        }
        let mut inline = Vec::new();
        let pages = self.clients.iam().list_role_policies().role_name(role).into_paginator().send();
        let mut pages = self.paced(pages).await;
        while let Some(page) = pages.next().await {
            inline.extend(page.map_err(|e| classify("ListRolePolicies", e))?.policy_names().iter().cloned());
        }
        for name in inline {
            self.pace(PaceClass::NonMutating).await;
            let answer = self
                .clients
                .iam()
                .get_role_policy()
                .role_name(role)
                .policy_name(&name)
                .send()
                .await
                .map_err(|e| classify("GetRolePolicy", e))?;
            documents.extend(parse_document(answer.policy_document()));
        }
        Ok(documents_allow_agent(&documents))
    }

    /// Role `name` as GetRole answers it; None when no role of that name exists.
    async fn role(&self, name: &str) -> Result<Option<aws_sdk_iam::types::Role>, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        match self.clients.iam().get_role().role_name(name).send().await {
            Ok(answer) => Ok(answer.role),
            Err(e) => {
                let error = classify("GetRole", e);
                if error.message.starts_with("NoSuchEntity") { Ok(None) } else { Err(error) }
            }
        }
    }

    /// The tags of a role; None when no role of that name exists.
    async fn role_tags(&self, name: &str) -> Result<Option<Tags>, CloudError> {
        Ok(self.role(name).await?.map(|r| iam_tags(r.tags())))
    }

    /// Whether role `name` exists, lets SSM assume it and grants what the SSM Agent needs.
    async fn role_facts(&self, name: &str) -> Result<RoleFacts, CloudError> {
        let Some(role) = self.role(name).await? else { return Ok(RoleFacts::default()) };
        let trust = role.assume_role_policy_document().and_then(parse_document);
        let trusted_by_ssm = trust.as_ref().is_some_and(|t| trusts_service(t, "ssm.amazonaws.com"));
        Ok(RoleFacts { exists: true, trusted_by_ssm, grants_ssm: self.role_grants_ssm(name).await? })
    }

    /// Instances SSM knows, with their PingStatus.
    async fn ssm_instances(&self) -> Result<BTreeMap<String, String>, CloudError> {
        let mut known = BTreeMap::new();
        let pages = self.clients.ssm().describe_instance_information().max_results(50).into_paginator().send();
        let mut pages = self.paced(pages).await;
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify("DescribeInstanceInformation", e))?;
            for info in page.instance_information_list() {
                if let Some(id) = info.instance_id() {
                    known.insert(id.to_string(), info.ping_status().map(|p| p.as_str().to_string()).unwrap_or_default());
                }
            }
        }
        Ok(known)
    }

    async fn dhmc_role(&self) -> Result<Option<String>, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer = self
            .clients
            .ssm()
            .get_service_setting()
            .setting_id(DHMC_SETTING_ID)
            .send()
            .await
            .map_err(|e| classify("GetServiceSetting", e))?;
        Ok(answer.service_setting().and_then(|s| s.setting_value()).map(str::to_string))
    }

    async fn key_pairs(&self) -> Result<Vec<KeyPair>, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer = self.clients.ec2().describe_key_pairs().send().await.map_err(|e| classify("DescribeKeyPairs", e))?;
        Ok(answer
            .key_pairs()
            .iter()
            .filter_map(|k| Some(KeyPair { id: k.key_pair_id()?.to_string(), name: k.key_name()?.to_string() }))
            .collect())
    }

    pub(super) async fn apply_ssm_change_impl(&self, policy: &str, change: &SsmAccessChange) -> Result<Option<String>, CloudError> {
        match change {
            SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::SplitIngress { .. } => {
                let mut created = Vec::new();
                // In order; `?` stops before the revoke when the authorization failed.
                for call in change.rule_calls() {
                    match call {
                        RuleCall::Authorize { group_id, protocol, ranges, source, description } => {
                            created.extend(self.authorize(policy, group_id, protocol, ranges, source, description).await?);
                        }
                        RuleCall::Revoke { group_id, rule_id } => {
                            self.pace(PaceClass::SecurityGroupIngress).await;
                            let revoked = self
                                .clients
                                .ec2()
                                .revoke_security_group_ingress()
                                .group_id(group_id)
                                .security_group_rule_ids(rule_id)
                                .send()
                                .await;
                            done_if_gone(revoked.map_err(|e| classify("RevokeSecurityGroupIngress", e)))?;
                        }
                    }
                }
                tracing::info!(change = %change.describe(), "security group rule changed");
                Ok(if created.is_empty() { None } else { Some(created.join(",")) })
            }
            SsmAccessChange::CreateInstanceProfile { name } => {
                self.create_instance_profile(policy, name).await?;
                Ok(Some(name.clone()))
            }
            SsmAccessChange::AttachInstanceProfile { instance_id, profile_name } => {
                self.pace(PaceClass::AssociateIamInstanceProfile).await;
                let associated = self
                    .clients
                    .ec2()
                    .associate_iam_instance_profile()
                    .instance_id(instance_id)
                    .iam_instance_profile(IamInstanceProfileSpecification::builder().name(profile_name).build())
                    .send()
                    .await
                    .map(|answer| answer.iam_instance_profile_association().and_then(|a| a.association_id()).map(str::to_string))
                    .map_err(|e| classify("AssociateIamInstanceProfile", e));
                // IncorrectState: the instance has an association; done only when it is ours.
                done_if_verified(associated, "IncorrectState", self.association_of(instance_id, profile_name)).await
            }
            SsmAccessChange::SetDefaultHostManagementRole { role, .. } => {
                self.pace(PaceClass::Mutating).await;
                self.clients
                    .ssm()
                    .update_service_setting()
                    .setting_id(DHMC_SETTING_ID)
                    .setting_value(role)
                    .send()
                    .await
                    .map_err(|e| classify("UpdateServiceSetting", e))?;
                Ok(None)
            }
            SsmAccessChange::DeleteKeyPair { key_pair_id, .. } => {
                self.pace(PaceClass::Mutating).await;
                let deleted = self.clients.ec2().delete_key_pair().key_pair_id(key_pair_id).send().await;
                done_if_gone(deleted.map_err(|e| classify("DeleteKeyPair", e)))?;
                Ok(None)
            }
        }
    }

    /// Authorizes the remainder of a split, one IpPermission per range, tagged; returns the new
    /// rule ids.
    async fn authorize(
        &self,
        policy: &str,
        group_id: &str,
        protocol: &str,
        ranges: &[PortRange],
        source: &Source,
        description: &str,
    ) -> Result<Vec<String>, CloudError> {
        let permissions: Vec<IpPermission> = ranges
            .iter()
            .map(|range| {
                let permission = IpPermission::builder().ip_protocol(protocol).from_port(range.from).to_port(range.to);
                match source {
                    Source::Ipv6(cidr) => permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).description(description).build()),
                    other => permission.ip_ranges(IpRange::builder().cidr_ip(other.to_string()).description(description).build()),
                }
                .build()
            })
            .collect();
        let tags = TagSpecification::builder()
            .resource_type(ResourceType::SecurityGroupRule)
            .set_tags(Some(ownership_tags(policy).into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
            .build();
        self.pace(PaceClass::SecurityGroupIngress).await;
        let authorized = self
            .clients
            .ec2()
            .authorize_security_group_ingress()
            .group_id(group_id)
            .set_ip_permissions(Some(permissions))
            .tag_specifications(tags)
            .send()
            .await
            .map(|answer| answer.security_group_rules().iter().filter_map(|r| r.security_group_rule_id().map(str::to_string)).collect())
            .map_err(|e| classify("AuthorizeSecurityGroupIngress", e));
        // Duplicate: done only when every permission asked is in the group now; a partial
        // match keeps the error, so the wide rule is not revoked.
        done_if_verified(authorized, "InvalidPermission.Duplicate", self.rules_as_asked(group_id, protocol, ranges, source)).await
    }

    /// Role (trusting EC2, with AmazonSSMManagedInstanceCore) and instance profile of one name,
    /// tagged; every step tolerates "already exists", so a crash halfway is finished by a retry.
    async fn create_instance_profile(&self, policy: &str, name: &str) -> Result<(), CloudError> {
        let iam_tags: Vec<aws_sdk_iam::types::Tag> = ownership_tags(policy)
            .into_iter()
            .filter_map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().ok())
            .collect();
        self.pace(PaceClass::Mutating).await;
        let created = self
            .clients
            .iam()
            .create_role()
            .role_name(name)
            .assume_role_policy_document(EC2_TRUST_POLICY)
            .description("SSM access for EC2 instances (created by frugal)")
            .set_tags(Some(iam_tags.clone()))
            .send()
            .await;
        if tolerate(created.map_err(|e| classify("CreateRole", e)), "EntityAlreadyExists")? {
            // Ours from an earlier, interrupted try, or somebody else's: never edit the latter.
            require_owned("CreateRole", "role", name, policy, self.role_tags(name).await?)?;
        }
        self.pace(PaceClass::Mutating).await;
        self.clients
            .iam()
            .attach_role_policy()
            .role_name(name)
            .policy_arn(format!("arn:{}:iam::aws:policy/{SSM_CORE_POLICY}", self.partition()))
            .send()
            .await
            .map_err(|e| classify("AttachRolePolicy", e))?;
        self.pace(PaceClass::Mutating).await;
        let created = self.clients.iam().create_instance_profile().instance_profile_name(name).set_tags(Some(iam_tags)).send().await;
        if tolerate(created.map_err(|e| classify("CreateInstanceProfile", e)), "EntityAlreadyExists")? {
            let tags = self.instance_profile(name, &mut BTreeMap::new()).await?.map(|p| p.tags);
            require_owned("CreateInstanceProfile", "instance profile", name, policy, tags)?;
        }
        self.pace(PaceClass::Mutating).await;
        let added = self.clients.iam().add_role_to_instance_profile().instance_profile_name(name).role_name(name).send().await;
        // LimitExceeded: the profile already holds its one role; done only when it is this role
        // (an earlier try, or a retry after a lost answer).
        done_if_verified(
            added.map(|_| ()).map_err(|e| classify("AddRoleToInstanceProfile", e)),
            "LimitExceeded",
            self.profile_holds(name, name),
        )
        .await?;
        tracing::info!(%name, "created role and instance profile for SSM");
        Ok(())
    }

    /// Some(()) when instance profile `profile` holds role `role`.
    async fn profile_holds(&self, profile: &str, role: &str) -> Result<Option<()>, CloudError> {
        self.pace(PaceClass::NonMutating).await;
        let answer = self
            .clients
            .iam()
            .get_instance_profile()
            .instance_profile_name(profile)
            .send()
            .await
            .map_err(|e| classify("GetInstanceProfile", e))?;
        let holds = answer.instance_profile().is_some_and(|p| p.roles().iter().any(|r| r.role_name() == role));
        Ok(holds.then_some(()))
    }

    fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }
}

/// An instance as the areas read it; None for an answer without an instance id.
pub(super) fn convert_instance(i: &aws_sdk_ec2::types::Instance) -> Option<Instance> {
    Some(Instance {
        id: i.instance_id()?.to_string(),
        state: i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default(),
        key_name: i.key_name().map(str::to_string),
        security_group_ids: i.security_groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect(),
        profile_arn: i.iam_instance_profile().and_then(|p| p.arn()).map(str::to_string),
        tags: i.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect(),
    })
}

/// Ok(true) when the call failed only with `code` (e.g. the object already exists).
fn tolerate<T>(result: Result<T, CloudError>, code: &str) -> Result<bool, CloudError> {
    match result {
        Ok(_) => Ok(false),
        Err(error) if error.message.starts_with(code) => Ok(true),
        Err(error) => Err(error),
    }
}

/// An existing IAM object of the configured name may be completed only when this policy
/// made it (its frugal tags): somebody else's role or profile is reported, never edited.
/// `tags` None: the object is gone again, and the next call says so.
fn require_owned(operation: &str, kind: &str, name: &str, policy: &str, tags: Option<Tags>) -> Result<(), CloudError> {
    match tags {
        Some(tags) if !is_owned_by(&tags, policy) => Err(CloudError::new(
            operation,
            ErrorKind::InvalidRequest,
            format!(
                "EntityAlreadyExists: {kind} {name} exists and was not created by this policy (no {TAG_MANAGED_BY}={MANAGED_BY_VALUE}, {TAG_POLICY}={policy} tags); frugal does not modify it: attach its profile yourself or choose another instanceProfile.name"
            ),
        )),
        _ => Ok(()),
    }
}

fn iam_tags(tags: &[aws_sdk_iam::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

/// A group as the plan reads it, without its rules (read from DescribeSecurityGroupRules).
pub(super) fn convert_security_group(g: &aws_sdk_ec2::types::SecurityGroup) -> Option<SecurityGroup> {
    let id = g.group_id()?;
    Some(SecurityGroup {
        id: id.to_string(),
        name: g.group_name().unwrap_or_default().to_string(),
        tags: g.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect(),
        ingress: Vec::new(),
    })
}

/// An ingress rule of a DescribeSecurityGroupRules answer with its group id; None for egress
/// rules and rules without an id or a source.
pub(super) fn ingress_rule(r: &SecurityGroupRule) -> Option<(&str, IngressRule)> {
    if r.is_egress() != Some(false) {
        return None;
    }
    let source = if let Some(c) = r.cidr_ipv4() {
        Source::Ipv4(c.to_string())
    } else if let Some(c) = r.cidr_ipv6() {
        Source::Ipv6(c.to_string())
    } else if let Some(p) = r.prefix_list_id() {
        Source::PrefixList(p.to_string())
    } else {
        Source::Group(r.referenced_group_info()?.group_id()?.to_string())
    };
    let rule = IngressRule {
        rule_id: r.security_group_rule_id()?.to_string(),
        protocol: r.ip_protocol().unwrap_or("-1").to_string(),
        from_port: r.from_port().unwrap_or(-1),
        to_port: r.to_port().unwrap_or(-1),
        source,
        description: r.description().filter(|d| !d.is_empty()).map(str::to_string),
    };
    Some((r.group_id()?, rule))
}
