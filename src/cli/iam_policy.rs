//! `frugal iam-policy`: the IAM policy the enabled areas need, least privilege. The
//! statements live in one table, [`statements::of`]; this module decides the areas and
//! the [`Scope`] of each (from `-f` policy files, or everything) and prints the document.
//! The JSON goes to stdout (ready for `aws iam create-policy`), notes on placeholders and
//! on what is not part of the document go to stderr as `#` comments.

mod sets;
mod statements;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::api::validate::ValidatedPolicy;
use crate::api::{DeletionPolicy, KeyPairPolicy, Mode, OrphanAlarms};

use crate::api::{AreaName, RightSizingResource};
use statements::{PLACEHOLDER_BACKUP_ROLE, PLACEHOLDER_SSM_PROFILE_ROLE, Scope};

/// The largest managed policy document AWS accepts (characters, whitespace excluded).
const MANAGED_POLICY_MAX_CHARS: usize = 6144;
/// The most inline policy characters a role may hold (whitespace excluded).
const ROLE_INLINE_MAX_CHARS: usize = 10240;

/// The policy document and notes about it.
#[derive(Debug)]
pub struct Rendered {
    pub document: Value,
    pub notes: Vec<String>,
}

/// Builds the document for `areas` (default: all, or those the files' policies enable).
pub fn render(areas: &[AreaName], files: &[PathBuf]) -> Result<Rendered, String> {
    let mut notes = Vec::new();
    let scopes: BTreeMap<AreaName, Scope> = if files.is_empty() {
        let areas: BTreeSet<AreaName> =
            if areas.is_empty() { AreaName::ALL.into_iter().collect() } else { areas.iter().copied().collect() };
        // Only the areas that pass roles name placeholders.
        let mut placeholders = Vec::new();
        if areas.contains(&AreaName::SsmAccess) {
            placeholders.push(PLACEHOLDER_SSM_PROFILE_ROLE);
        }
        if areas.contains(&AreaName::Backup) {
            placeholders.push(PLACEHOLDER_BACKUP_ROLE);
        }
        if !placeholders.is_empty() {
            let host_management = if areas.contains(&AreaName::SsmAccess) { " and the default Default Host Management role" } else { "" };
            notes.push(format!(
                "iam:PassRole names placeholder roles ({}){host_management}: replace them, or run `frugal iam-policy -f policy.yaml` \
                 to take the roles from your policies",
                placeholders.join(", ")
            ));
        }
        notes.push("resources name any region and account (*): -f narrows them to the policies' region and account".to_string());
        areas.into_iter().map(|a| (a, Scope::everything())).collect()
    } else {
        // Read as `frugal plan` reads them: policies and sets, mixed in files, a directory or stdin.
        let documents = super::oneshot::load_documents(files).map_err(|e| e.to_string())?;
        let generated = sets::expand(&documents.sets)?;
        let mut policies = validated(documents.policies)?;
        notes.extend(file_notes(&policies));
        notes.extend(generated.notes);
        policies.extend(generated.policies);
        let enabled: BTreeSet<AreaName> = policies.iter().flat_map(enabled_areas).collect();
        let areas: BTreeSet<AreaName> = if areas.is_empty() { enabled.clone() } else { areas.iter().copied().collect() };
        if let Some(missing) = areas.iter().find(|a| !enabled.contains(a)) {
            return Err(format!("--areas {}: no policy in the file(s) enables it", missing));
        }
        areas
            .into_iter()
            .map(|area| {
                let users: Vec<&ValidatedPolicy> = policies.iter().filter(|p| enabled_areas(p).contains(&area)).collect();
                let mut scope = scope_of(&users);
                if generated.any_account {
                    // An organization's accounts are only known when Organizations is read.
                    scope.account = "*".to_string();
                }
                (area, scope)
            })
            .collect()
    };
    let statements = statements::statements(&scopes);
    let document = json!({
        "Version": "2012-10-17",
        "Statement": statements.iter().map(statements::Statement::to_json).collect::<Vec<_>>(),
    });
    let size = serde_json::to_string(&document).map(|t| t.len()).unwrap_or(0);
    if size > MANAGED_POLICY_MAX_CHARS {
        let inline =
            if size <= ROLE_INLINE_MAX_CHARS { "it fits a role's inline policy" } else { "it is also too large for an inline policy" };
        // With -f the document is already as narrow as the policies make it.
        let narrower = if files.is_empty() { ", narrow it with -f" } else { "" };
        notes.push(format!(
            "the document has {size} characters; a managed policy holds at most {MANAGED_POLICY_MAX_CHARS}: split it with \
             --areas{narrower} or attach it inline ({inline}, at most {ROLE_INLINE_MAX_CHARS})"
        ));
    }
    notes.push("sts:GetCallerIdentity needs no permission (AWS always allows it), so it has no statement".to_string());
    Ok(Rendered { document, notes })
}

pub fn print(areas: &[AreaName], files: &[PathBuf]) -> ExitCode {
    let rendered = match render(areas, files) {
        Ok(rendered) => rendered,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match serde_json::to_string_pretty(&rendered.document) {
        Ok(text) => {
            super::stdout(&format!("{text}\n"));
            for note in &rendered.notes {
                eprintln!("# {note}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Every policy of every file, validated (an invalid policy is an error: its roles and
/// regions cannot be trusted).
fn validated(loaded: Vec<super::oneshot::LoadedPolicy>) -> Result<Vec<ValidatedPolicy>, String> {
    let mut policies = Vec::new();
    for policy in loaded {
        let valid = policy
            .validate()
            .map_err(|e| format!("policy {:?} is invalid:\n{}", policy.name(), super::oneshot::located(&policy.path, &e.0)))?;
        policies.push(valid);
    }
    Ok(policies)
}

fn enabled_areas(policy: &ValidatedPolicy) -> Vec<AreaName> {
    crate::engine::areas::enabled(policy)
}

/// The one value all policies agree on, else `*`.
fn common(values: impl IntoIterator<Item = Option<String>>) -> String {
    let values: BTreeSet<Option<String>> = values.into_iter().collect();
    match values.into_iter().collect::<Vec<_>>().as_slice() {
        [Some(one)] => one.clone(),
        _ => "*".to_string(),
    }
}

fn partition(policy: &ValidatedPolicy) -> String {
    if let Some(arn) = &policy.aws.role_arn {
        return arn.split(':').nth(1).unwrap_or("aws").to_string();
    }
    match policy.aws.region.as_str() {
        r if r.starts_with("cn-") => "aws-cn".into(),
        r if r.starts_with("us-gov-") => "aws-us-gov".into(),
        _ => "aws".into(),
    }
}

/// What the policies enabling one area need: reads from all of them, changes only from
/// those in Enforce mode.
fn scope_of(policies: &[&ValidatedPolicy]) -> Scope {
    let enforcing: Vec<&ValidatedPolicy> = policies.iter().copied().filter(|p| p.mode == Mode::Enforce).collect();
    let ssm: Vec<_> = enforcing.iter().filter_map(|p| p.ssm_access.as_ref()).collect();
    let backups: Vec<_> = enforcing.iter().filter_map(|p| p.backup.as_ref()).collect();
    let profiles = ssm.iter().filter_map(|s| s.instance_profile.as_ref());
    Scope {
        partition: common(policies.iter().map(|p| Some(partition(p)))),
        region: common(policies.iter().map(|p| Some(p.aws.region.clone()))),
        account: common(policies.iter().map(|p| p.aws.role_arn.as_ref().and_then(|a| a.split(':').nth(4)).map(str::to_string))),
        policies: policies.iter().map(|p| p.name.clone()).collect(),
        enforce: !enforcing.is_empty(),
        cleanup: enforcing.iter().any(|p| p.deletion_policy == DeletionPolicy::Delete),
        cost_explorer: policies.iter().any(|p| p.cost_explorer),
        gateway_services: policies
            .iter()
            .filter_map(|p| p.gateway_endpoints.as_ref())
            .flat_map(|g| g.services.iter().map(|s| s.as_str().to_string()))
            .collect(),
        ssm_close_world: ssm.iter().any(|s| s.revoke_world_ssh || s.revoke_all_traffic_from_world),
        ssm_attach: profiles.clone().any(|p| p.attach_when_missing),
        // A created profile holds a role of its name; an existing one is assumed to.
        ssm_profile_roles: profiles.clone().filter(|p| p.attach_when_missing || p.create).map(|p| p.name.clone()).collect(),
        ssm_created_profiles: profiles.filter(|p| p.create).map(|p| p.name.clone()).collect(),
        ssm_dhmc_roles: ssm.iter().filter_map(|s| s.default_host_management_role.clone()).collect(),
        ssm_delete_key_pairs: ssm.iter().any(|s| s.key_pairs == KeyPairPolicy::DeleteUnused),
        backup_vaults: policies.iter().filter_map(|p| p.backup.as_ref()).map(|b| b.vault_name.clone()).collect(),
        backup_create_vault: backups.iter().any(|b| b.vault_create),
        backup_kms_keys: backups.iter().filter(|b| b.vault_create).filter_map(|b| b.kms_key_arn.clone()).collect(),
        backup_adopt: backups.iter().any(|b| b.adopt),
        backup_selection_roles: backups.iter().map(|b| b.selection.iam_role_arn.clone()).collect(),
        access_keys_deactivate: enforcing.iter().filter_map(|p| p.access_keys.as_ref()).any(|a| a.deactivate_unused),
        right_sizing_resources: policies.iter().filter_map(|p| p.right_sizing.as_ref()).flat_map(|r| r.resources.iter().copied()).collect(),
        right_sizing_group_tags: policies
            .iter()
            .filter_map(|p| p.right_sizing.as_ref())
            .any(|r| !r.selector.is_empty() && r.resources.contains(&RightSizingResource::AutoScalingGroups)),
        right_sizing_enroll: enforcing.iter().filter_map(|p| p.right_sizing.as_ref()).any(|r| r.enroll),
        cloud_watch_logs: policies.iter().filter_map(|p| p.cloud_watch.as_ref()).any(|c| c.log_retention.is_some()),
        cloud_watch_alarms: policies.iter().filter_map(|p| p.cloud_watch.as_ref()).any(|c| c.instance_alarms.is_some()),
        cloud_watch_delete_orphans: policies.iter().filter_map(|p| p.cloud_watch.as_ref()).any(|c| c.orphan_alarms != OrphanAlarms::Report),
    }
}

fn file_notes(policies: &[ValidatedPolicy]) -> Vec<String> {
    let mut notes = Vec::new();
    for policy in policies {
        match &policy.aws.role_arn {
            Some(role) => notes.push(format!(
                "policy {:?}: this document is for {role}; the operator's own identity needs sts:AssumeRole on it",
                policy.name
            )),
            None => notes.push(format!(
                "policy {:?}: no aws.roleArn, so resources name any account (*); this document is for the operator's own identity",
                policy.name
            )),
        }
        let profile = policy.ssm_access.as_ref().and_then(|s| s.instance_profile.as_ref());
        if let Some(p) = profile.filter(|p| p.attach_when_missing && !p.create && policy.mode == Mode::Enforce) {
            notes.push(format!(
                "policy {:?}: iam:PassRole assumes instance profile {} holds a role named {}; if it holds another role, name that one",
                policy.name, p.name, p.name
            ));
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(document: &Value) -> BTreeSet<String> {
        document["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    }

    #[test]
    fn every_area_by_default_with_unique_sids_and_no_duplicate_unconditional_grants() {
        let rendered = render(&[], &[]).expect("renders");
        let statements = rendered.document["Statement"].as_array().expect("statements").clone();
        let sids: Vec<&str> = statements.iter().filter_map(|s| s["Sid"].as_str()).collect();
        let unique: BTreeSet<&str> = sids.iter().copied().collect();
        assert_eq!(sids.len(), unique.len(), "{sids:?}");
        assert!(sids.iter().all(|s| s.chars().all(|c| c.is_ascii_alphanumeric())), "IAM Sids are alphanumeric: {sids:?}");
        let everywhere: Vec<&str> = statements
            .iter()
            .filter(|s| s["Resource"] == "*" && s.get("Condition").is_none())
            .flat_map(|s| s["Action"].as_array().into_iter().flatten().filter_map(Value::as_str))
            .collect();
        assert_eq!(everywhere.len(), everywhere.iter().collect::<BTreeSet<_>>().len(), "{everywhere:?}");
        let all = actions(&rendered.document);
        for needed in
            ["ec2:CreateVpcEndpoint", "ec2:DeleteSnapshot", "ssm:UpdateServiceSetting", "backup:CreateBackupSelection", "iam:PassRole"]
        {
            assert!(all.contains(needed), "{needed}");
        }
        assert!(!all.contains("sts:GetCallerIdentity"));
    }

    /// An IAM statement says whose it is: its Sid starts with the area's key.
    #[test]
    fn every_statement_of_an_area_is_named_after_the_area() {
        for area in AreaName::ALL {
            let rendered = render(&[area], &[]).expect("renders");
            let key = area.key();
            let prefix = format!("{}{}", key[..1].to_ascii_uppercase(), &key[1..]);
            for statement in rendered.document["Statement"].as_array().expect("statements") {
                let sid = statement["Sid"].as_str().expect("Sid");
                assert!(
                    sid.starts_with(&prefix) || ["CleanupFindOwnEndpoints", "PriceList", "CostExplorerSpend"].contains(&sid),
                    "{area}: {sid}"
                );
            }
        }
    }

    #[test]
    fn an_area_alone_grants_only_its_own_actions() {
        let rendered = render(&[AreaName::SnapshotRetention], &[]).expect("renders");
        let all = actions(&rendered.document);
        assert!(
            all.iter().all(|a| a.starts_with("ec2:") || ["pricing:GetProducts", "ce:GetCostAndUsage"].contains(&a.as_str())),
            "{all:?}"
        );
        let unpriced = actions(&render(&[AreaName::AccessKeys], &[]).expect("renders").document);
        assert!(!unpriced.contains("pricing:GetProducts"), "accessKeys prices nothing: {unpriced:?}");
        assert!(!all.contains("ec2:CreateVpcEndpoint"));
    }

    #[test]
    fn the_pass_role_note_names_only_the_placeholders_of_the_areas_shown() {
        let note = |areas: &[AreaName]| render(areas, &[]).expect("renders").notes.into_iter().find(|n| n.contains("PassRole"));
        assert_eq!(note(&[AreaName::AccessKeys]), None, "accessKeys passes no role");
        let backup = note(&[AreaName::Backup]).expect("backup passes its selection's role");
        assert!(
            backup.contains(PLACEHOLDER_BACKUP_ROLE) && !backup.contains(PLACEHOLDER_SSM_PROFILE_ROLE) && !backup.contains("Host"),
            "{backup}"
        );
        let all = note(&[]).expect("every area");
        assert!(all.contains(PLACEHOLDER_BACKUP_ROLE) && all.contains(PLACEHOLDER_SSM_PROFILE_ROLE) && all.contains("Host"), "{all}");
    }
}
