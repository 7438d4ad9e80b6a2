//! The SDK clients of one account and region, each built on its first use.
//!
//! A client costs about 14 KiB (the SDK builds its endpoint resolver from the partition
//! table for every client), and a policy uses the services of its areas only: a fleet of
//! 1,500 account-regions auditing gateway endpoints needs EC2, not eleven more clients each.

use std::sync::{Arc, OnceLock};

use aws_config::{Region, SdkConfig};

use super::request_metrics::RequestMetrics;
use super::{COST_EXPLORER_REGION, PRICE_LIST_REGION};
use crate::metrics::Metrics;

/// Declares the clients: a field and an accessor each, built from the account-region's
/// config (or the given region) with the request-metrics interceptor.
macro_rules! clients {
    ($($(#[doc = $doc:literal])* $name:ident: $sdk:ident $(in $region:expr)?;)*) => {
        pub(super) struct Clients {
            config: SdkConfig,
            metrics: Arc<Metrics>,
            $($name: OnceLock<$sdk::Client>,)*
        }

        impl Clients {
            pub(super) fn new(config: SdkConfig, metrics: Arc<Metrics>) -> Self {
                Self { config, metrics, $($name: OnceLock::new(),)* }
            }

            $(
                $(#[doc = $doc])*
                pub(super) fn $name(&self) -> &$sdk::Client {
                    self.$name.get_or_init(|| {
                        $sdk::Client::from_conf(
                            $sdk::config::Builder::from(&self.config)
                                $(.region(Region::new($region)))?
                                .interceptor(RequestMetrics::new(self.metrics.clone()))
                                .build(),
                        )
                    })
                }
            )*
        }
    };
}

clients! {
    ec2: aws_sdk_ec2;
    cloudwatch: aws_sdk_cloudwatch;
    backup: aws_sdk_backup;
    ssm: aws_sdk_ssm;
    /// IAM is global: with an endpoint override it goes to the same emulator.
    iam: aws_sdk_iam;
    /// Who the credentials are (accessKeys never deactivates the caller's own keys).
    sts: aws_sdk_sts;
    compute_optimizer: aws_sdk_computeoptimizer;
    logs: aws_sdk_cloudwatchlogs;
    /// Auto Scaling groups' tags (Compute Optimizer's answers carry none for groups).
    autoscaling: aws_sdk_autoscaling;
    /// The Price List Query API, in us-east-1 (it is served from three regions only).
    pricing: aws_sdk_pricing in PRICE_LIST_REGION;
    /// AWS Cost Explorer, in us-east-1 (its one endpoint).
    cost_explorer: aws_sdk_costexplorer in COST_EXPLORER_REGION;
}
