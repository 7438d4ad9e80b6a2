//! The AWS services the API names, in both the spec and the status: a leaf module, so that
//! neither depends on the other for them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An AWS service that offers a free gateway endpoint.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GatewayService {
    /// Amazon S3 (com.amazonaws.<region>.s3).
    S3,
    /// Amazon DynamoDB (com.amazonaws.<region>.dynamodb).
    Dynamodb,
}

impl GatewayService {
    /// The short name used in the spec and in status.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayService::S3 => "s3",
            GatewayService::Dynamodb => "dynamodb",
        }
    }

    /// The endpoint service name AWS uses in a region.
    pub fn service_name(self, region: &str) -> String {
        format!("com.amazonaws.{region}.{}", self.as_str())
    }
}

impl std::fmt::Display for GatewayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
