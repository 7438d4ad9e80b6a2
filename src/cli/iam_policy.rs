//! `frugal iam-policy`: the IAM policy the operator needs, least privilege.

use std::process::ExitCode;

use serde_json::json;

use crate::api::names::{MANAGED_BY_VALUE, TAG_EXPIRES_AT, TAG_MANAGED_BY};

/// The policy document.
pub fn document() -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FrugalRead",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeVpcs",
                    "ec2:DescribeRouteTables",
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeNatGateways",
                    "cloudwatch:GetMetricData",
                    "sts:GetCallerIdentity"
                ],
                "Resource": "*"
            },
            {
                "Sid": "FrugalCreateGatewayEndpoints",
                "Effect": "Allow",
                "Action": ["ec2:CreateVpcEndpoint"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": { format!("aws:RequestTag/{TAG_MANAGED_BY}"): MANAGED_BY_VALUE },
                    "StringLikeIfExists": { "ec2:VpceServiceName": ["com.amazonaws.*.s3", "com.amazonaws.*.dynamodb"] }
                }
            },
            {
                "Sid": "FrugalTagOnCreate",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": "arn:aws:ec2:*:*:vpc-endpoint/*",
                "Condition": { "StringEquals": { "ec2:CreateAction": "CreateVpcEndpoint" } }
            },
            {
                // Adopted endpoints carry no frugal tags, so this cannot be narrowed by tag.
                "Sid": "FrugalAssociateRouteTables",
                "Effect": "Allow",
                "Action": ["ec2:ModifyVpcEndpoint"],
                "Resource": "*"
            },
            {
                "Sid": "FrugalReadSnapshots",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeSnapshots",
                    "ec2:DescribeImages",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:DescribeLockedSnapshots"
                ],
                "Resource": "*"
            },
            {
                // Only the expiry tag, only on snapshots.
                "Sid": "FrugalTagExpiringSnapshots",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
                "Resource": "arn:aws:ec2:*::snapshot/*",
                "Condition": { "ForAllValues:StringEquals": { "aws:TagKeys": [TAG_EXPIRES_AT] } }
            },
            {
                // Only snapshots the operator tagged as expiring can be deleted.
                "Sid": "FrugalDeleteExpiredSnapshots",
                "Effect": "Allow",
                "Action": ["ec2:DeleteSnapshot"],
                "Resource": "arn:aws:ec2:*::snapshot/*",
                "Condition": { "Null": { format!("aws:ResourceTag/{TAG_EXPIRES_AT}"): "false" } }
            },
            {
                "Sid": "FrugalReadSsmAccess",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSecurityGroupRules",
                    "ec2:DescribeInstances",
                    "ec2:DescribeKeyPairs",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ssm:DescribeInstanceInformation",
                    "ssm:GetServiceSetting",
                    "iam:GetInstanceProfile",
                    "iam:ListAttachedRolePolicies"
                ],
                "Resource": "*"
            },
            {
                // Groups belong to others, so this cannot be narrowed by tag; the planner touches
                // only permissions from 0.0.0.0/0 or ::/0 (DESIGN.md rule 4).
                "Sid": "FrugalCloseWorldSsh",
                "Effect": "Allow",
                "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                "Resource": ["arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:security-group-rule/*"]
            },
            {
                "Sid": "FrugalTagSplitRules",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags"],
                "Resource": "arn:aws:ec2:*:*:security-group-rule/*",
                "Condition": { "StringEquals": { "ec2:CreateAction": "AuthorizeSecurityGroupIngress" } }
            },
            {
                "Sid": "FrugalAttachSsmProfile",
                "Effect": "Allow",
                "Action": ["ec2:AssociateIamInstanceProfile"],
                "Resource": "arn:aws:ec2:*:*:instance/*"
            },
            {
                // Only the configured profile's role, only to EC2. Replace frugal-ssm with
                // ssmAccess.instanceProfile.name.
                "Sid": "FrugalPassSsmProfileRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": "arn:aws:iam::*:role/frugal-ssm",
                "Condition": { "StringEquals": { "iam:PassedToService": "ec2.amazonaws.com" } }
            },
            {
                "Sid": "FrugalCreateSsmRoleAndProfile",
                "Effect": "Allow",
                "Action": ["iam:CreateRole", "iam:CreateInstanceProfile", "iam:TagRole", "iam:TagInstanceProfile"],
                "Resource": ["arn:aws:iam::*:role/*", "arn:aws:iam::*:instance-profile/*"],
                "Condition": { "StringEquals": { format!("aws:RequestTag/{TAG_MANAGED_BY}"): MANAGED_BY_VALUE } }
            },
            {
                "Sid": "FrugalCompleteOwnSsmRoleAndProfile",
                "Effect": "Allow",
                "Action": ["iam:AttachRolePolicy", "iam:AddRoleToInstanceProfile"],
                "Resource": ["arn:aws:iam::*:role/*", "arn:aws:iam::*:instance-profile/*"],
                "Condition": {
                    "StringEquals": { format!("aws:ResourceTag/{TAG_MANAGED_BY}"): MANAGED_BY_VALUE },
                    "ArnEqualsIfExists": { "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" }
                }
            },
            {
                "Sid": "FrugalSetDefaultHostManagement",
                "Effect": "Allow",
                "Action": ["ssm:UpdateServiceSetting"],
                "Resource": "arn:aws:ssm:*:*:servicesetting/ssm/managed-instance/default-ec2-instance-management-role"
            },
            {
                // Replace with ssmAccess.defaultHostManagement.roleName when it is set.
                "Sid": "FrugalPassDefaultHostManagementRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": "arn:aws:iam::*:role/service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole",
                "Condition": { "StringEquals": { "iam:PassedToService": "ssm.amazonaws.com" } }
            },
            {
                // The planner deletes only key pairs no instance and no launch template version names.
                "Sid": "FrugalDeleteUnusedKeyPairs",
                "Effect": "Allow",
                "Action": ["ec2:DeleteKeyPair"],
                "Resource": "arn:aws:ec2:*:*:key-pair/*"
            },
            {
                "Sid": "FrugalReadBackup",
                "Effect": "Allow",
                "Action": [
                    "backup:DescribeBackupVault",
                    "backup:ListBackupPlans",
                    "backup:GetBackupPlan",
                    "backup:ListBackupSelections",
                    "backup:GetBackupSelection",
                    "backup:ListTags",
                    "ec2:DescribeInstances",
                    "ec2:DescribeVolumes"
                ],
                "Resource": "*"
            },
            {
                // Vaults and plans are created only with the operator's tags.
                "Sid": "FrugalCreateBackupVaultsAndPlans",
                "Effect": "Allow",
                "Action": ["backup:CreateBackupVault", "backup:CreateBackupPlan", "backup:TagResource", "backup-storage:MountCapsule"],
                "Resource": "*",
                "Condition": { "StringEquals": { format!("aws:RequestTag/{TAG_MANAGED_BY}"): MANAGED_BY_VALUE } }
            },
            {
                // Adopted plans carry no frugal tags, so rule updates and selections cannot be narrowed by tag.
                "Sid": "FrugalAlignBackupPlans",
                "Effect": "Allow",
                "Action": ["backup:UpdateBackupPlan", "backup:CreateBackupSelection", "backup:DeleteBackupSelection"],
                "Resource": "arn:aws:backup:*:*:backup-plan:*"
            },
            {
                "Sid": "FrugalDeleteOwnBackupPlansAndVaults",
                "Effect": "Allow",
                "Action": ["backup:DeleteBackupPlan", "backup:DeleteBackupVault"],
                "Resource": "*",
                "Condition": { "StringEquals": { format!("aws:ResourceTag/{TAG_MANAGED_BY}"): MANAGED_BY_VALUE } }
            },
            {
                // CreateBackupSelection passes the selection's role to AWS Backup, and only to it.
                // Replace the resource with the policy's backup.selection.iamRoleArn.
                "Sid": "FrugalPassBackupSelectionRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": "arn:aws:iam::*:role/service-role/AWSBackupDefaultServiceRole",
                "Condition": { "StringEquals": { "iam:PassedToService": "backup.amazonaws.com" } }
            },
            {
                "Sid": "FrugalDeleteOwnEndpoints",
                "Effect": "Allow",
                "Action": ["ec2:DeleteVpcEndpoints"],
                "Resource": "*",
                "Condition": { "StringEquals": { format!("aws:ResourceTag/{TAG_MANAGED_BY}"): MANAGED_BY_VALUE } }
            }
        ]
    })
}

pub fn print() -> ExitCode {
    match serde_json::to_string_pretty(&document()) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
