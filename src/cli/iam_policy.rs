//! `frugal iam-policy`: the IAM policy the operator needs, least privilege.

use std::process::ExitCode;

use serde_json::json;

use crate::api::names::{MANAGED_BY_VALUE, TAG_MANAGED_BY};

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
