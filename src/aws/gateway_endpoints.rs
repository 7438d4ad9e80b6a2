//! The gatewayEndpoints area in AWS: VPCs, route tables, gateway endpoints and NAT gateway metrics.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification, VpcEndpointType};

use crate::api::names::{MANAGED_BY_VALUE, TAG_MANAGED_BY, TAG_POLICY};
use crate::api::validate::ValidatedPolicy;
use crate::api::validate::{GatewayEndpointsDesired, VpcScope};
use crate::engine::areas::GatewayEndpoints;
use crate::engine::{AreaCloud, GatewayEndpointsCleanup};
use crate::engine::{CloudError, ErrorKind};
use crate::plan::Tags;
use crate::plan::gateway_endpoints::{GatewayEndpoint, GatewayEndpointsChange, GatewayEndpointsInventory, Route, RouteTable, Vpc};

use super::AwsCloud;
use super::error::classify;
use super::pacing::PaceClass;

/// AWS accepts at most 200 values in one filter.
const FILTER_VALUES_PER_CALL: usize = 200;
const PAGE_SIZE: i32 = 1000;
/// CloudWatch GetMetricData takes at most 500 queries per call.
const METRIC_QUERIES_PER_CALL: usize = 500;
const NAT_METRICS: [&str; 2] = ["BytesOutToDestination", "BytesOutToSource"];

fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    Filter::builder().name(name).set_values(Some(values.into_iter().map(Into::into).collect())).build()
}

fn tags_of(tags: Option<&[Tag]>) -> Tags {
    tags.unwrap_or_default().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

fn endpoint_of(e: &aws_sdk_ec2::types::VpcEndpoint) -> Option<GatewayEndpoint> {
    Some(GatewayEndpoint {
        id: e.vpc_endpoint_id()?.to_string(),
        vpc_id: e.vpc_id()?.to_string(),
        service_name: e.service_name().unwrap_or_default().to_string(),
        state: e.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        route_table_ids: e.route_table_ids().iter().cloned().collect(),
        tags: tags_of(Some(e.tags())),
    })
}

#[async_trait::async_trait]
impl AreaCloud<GatewayEndpoints> for AwsCloud {
    async fn observe(&self, _policy: &ValidatedPolicy, desired: &GatewayEndpointsDesired) -> Result<GatewayEndpointsInventory, CloudError> {
        self.observe_gateway_endpoints_impl(desired).await
    }

    async fn apply(&self, _policy: &str, change: &GatewayEndpointsChange) -> Result<Option<String>, CloudError> {
        self.mutating(self.apply_gateway_change_impl(change)).await
    }
}

#[async_trait::async_trait]
impl GatewayEndpointsCleanup for AwsCloud {
    async fn owned_gateway_endpoints(&self, policy: &str) -> Result<Vec<GatewayEndpoint>, CloudError> {
        self.owned_gateway_endpoints_impl(policy).await
    }

    async fn delete_gateway_endpoints(&self, ids: &[String]) -> Result<(), CloudError> {
        self.mutating(self.delete_gateway_endpoints_impl(ids)).await
    }
}

impl AwsCloud {
    async fn describe_vpcs(&self, scope: &VpcScope) -> Result<Vec<Vpc>, CloudError> {
        let mut filters = Vec::new();
        match scope {
            VpcScope::Ids(ids) if ids.is_empty() => return Ok(Vec::new()),
            VpcScope::Ids(ids) => {
                let mut vpcs = Vec::new();
                for chunk in ids.iter().cloned().collect::<Vec<_>>().chunks(FILTER_VALUES_PER_CALL) {
                    vpcs.extend(self.describe_vpcs_filtered(vec![filter("vpc-id", chunk.iter().cloned())]).await?);
                }
                return Ok(vpcs);
            }
            VpcScope::Tags(tags) => {
                for (key, value) in tags {
                    filters.push(filter(&format!("tag:{key}"), [value.clone()]));
                }
            }
        }
        self.describe_vpcs_filtered(filters).await
    }

    async fn describe_vpcs_filtered(&self, filters: Vec<Filter>) -> Result<Vec<Vpc>, CloudError> {
        let filters = if filters.is_empty() { None } else { Some(filters) };
        let mut pages = self.paced(self.clients.ec2().describe_vpcs().set_filters(filters).into_paginator().send()).await;
        let mut vpcs = Vec::new();
        while let Some(page) = pages.next().await {
            vpcs.extend(page.map_err(|e| classify("DescribeVpcs", e))?.vpcs.unwrap_or_default());
        }
        Ok(vpcs.iter().filter_map(|v| Some(Vpc { id: v.vpc_id()?.to_string(), tags: tags_of(Some(v.tags())) })).collect())
    }

    async fn describe_route_tables(&self, vpc_ids: &[String]) -> Result<Vec<RouteTable>, CloudError> {
        let mut tables = Vec::new();
        for chunk in vpc_ids.chunks(FILTER_VALUES_PER_CALL) {
            let read = self.clients.ec2().describe_route_tables().filters(filter("vpc-id", chunk.iter().cloned())).max_results(100);
            let mut pages = self.paced(read.into_paginator().send()).await;
            let mut page = Vec::new();
            while let Some(answer) = pages.next().await {
                page.extend(answer.map_err(|e| classify("DescribeRouteTables", e))?.route_tables.unwrap_or_default());
            }
            tables.extend(page.iter().filter_map(|rt| {
                Some(RouteTable {
                    id: rt.route_table_id()?.to_string(),
                    vpc_id: rt.vpc_id()?.to_string(),
                    routes: rt
                        .routes()
                        .iter()
                        .map(|r| Route {
                            destination_cidr: r.destination_cidr_block().map(str::to_string),
                            nat_gateway_id: r.nat_gateway_id().map(str::to_string),
                            state: r.state().map(|s| s.as_str().to_string()).unwrap_or_else(|| "active".to_string()),
                        })
                        .collect(),
                })
            }));
        }
        Ok(tables)
    }

    async fn gateway_endpoints_in(&self, vpc_ids: &[String], service_names: &[String]) -> Result<Vec<GatewayEndpoint>, CloudError> {
        let mut endpoints = Vec::new();
        for chunk in vpc_ids.chunks(FILTER_VALUES_PER_CALL) {
            endpoints.extend(
                self.describe_gateway_endpoints(vec![
                    filter("vpc-id", chunk.iter().cloned()),
                    filter("service-name", service_names.iter().cloned()),
                ])
                .await?,
            );
        }
        Ok(endpoints)
    }

    async fn describe_gateway_endpoints(&self, mut filters: Vec<Filter>) -> Result<Vec<GatewayEndpoint>, CloudError> {
        filters.push(filter("vpc-endpoint-type", ["Gateway"]));
        let read = self.clients.ec2().describe_vpc_endpoints().set_filters(Some(filters)).max_results(PAGE_SIZE);
        let mut pages = self.paced(read.into_paginator().send()).await;
        let mut endpoints = Vec::new();
        while let Some(page) = pages.next().await {
            endpoints.extend(page.map_err(|e| classify("DescribeVpcEndpoints", e))?.vpc_endpoints.unwrap_or_default());
        }
        Ok(endpoints.iter().filter_map(endpoint_of).collect())
    }

    /// Bytes processed by each VPC's NAT gateways over the last 30 days. Metrics only feed
    /// estimates, so a failure here yields `None` instead of abandoning the area.
    async fn nat_bytes_30d(&self, vpc_ids: &[String]) -> Option<BTreeMap<String, u64>> {
        match self.cached(format!("GetMetricData {vpc_ids:?}"), self.read_nat_bytes(vpc_ids)).await {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                tracing::warn!(%error, "NAT gateway metrics unavailable; savings estimates omitted");
                None
            }
        }
    }

    async fn read_nat_bytes(&self, vpc_ids: &[String]) -> Result<BTreeMap<String, u64>, CloudError> {
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

        let mut nat_vpc = BTreeMap::new();
        for chunk in vpc_ids.chunks(FILTER_VALUES_PER_CALL) {
            let read = self.clients.ec2().describe_nat_gateways().filter(filter("vpc-id", chunk.iter().cloned())).max_results(PAGE_SIZE);
            let mut pages = self.paced(read.into_paginator().send()).await;
            let mut nats = Vec::new();
            while let Some(page) = pages.next().await {
                nats.extend(page.map_err(|e| classify("DescribeNatGateways", e))?.nat_gateways.unwrap_or_default());
            }
            for nat in nats {
                if let (Some(id), Some(vpc)) = (nat.nat_gateway_id(), nat.vpc_id()) {
                    nat_vpc.insert(id.to_string(), vpc.to_string());
                }
            }
        }
        let mut bytes: BTreeMap<String, u64> = vpc_ids.iter().map(|v| (v.clone(), 0)).collect();
        let queries: Vec<(String, MetricDataQuery)> = nat_vpc
            .keys()
            .flat_map(|nat| NAT_METRICS.iter().map(move |metric| (nat.clone(), *metric)))
            .enumerate()
            .map(|(n, (nat, metric))| {
                let stat = MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .namespace("AWS/NATGateway")
                            .metric_name(metric)
                            .dimensions(Dimension::builder().name("NatGatewayId").value(&nat).build())
                            .build(),
                    )
                    .period(86_400)
                    .stat("Sum")
                    .build();
                (nat, MetricDataQuery::builder().id(format!("q{n}")).metric_stat(stat).return_data(true).build())
            })
            .collect();
        let end = std::time::SystemTime::now();
        let start = end - std::time::Duration::from_secs(30 * 86_400);
        for chunk in queries.chunks(METRIC_QUERIES_PER_CALL) {
            let owners: BTreeMap<String, &str> =
                chunk.iter().filter_map(|(nat, q)| Some((q.id()?.to_string(), nat_vpc.get(nat)?.as_str()))).collect();
            let results: Vec<_> = self
                .clients
                .cloudwatch()
                .get_metric_data()
                .set_metric_data_queries(Some(chunk.iter().map(|(_, q)| q.clone()).collect()))
                .start_time(DateTime::from(start))
                .end_time(DateTime::from(end))
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| classify("GetMetricData", e))?;
            for result in results.iter().flat_map(|page| page.metric_data_results()) {
                let Some(vpc) = result.id().and_then(|id| owners.get(id)) else { continue };
                let sum: f64 = result.values().iter().sum();
                *bytes.entry(vpc.to_string()).or_default() += sum.max(0.0) as u64;
            }
        }
        Ok(bytes)
    }
}

/// The gateway endpoint half of [`crate::engine::Cloud`] (see `mod.rs`).
impl AwsCloud {
    pub(super) async fn observe_gateway_endpoints_impl(
        &self,
        desired: &GatewayEndpointsDesired,
    ) -> Result<GatewayEndpointsInventory, CloudError> {
        // Reads are named by their server-side filters (the VPC scope, then the VPCs found).
        let vpcs = self.cached(format!("DescribeVpcs {:?}", desired.vpcs), self.describe_vpcs(&desired.vpcs)).await?;
        let vpc_ids: Vec<String> = vpcs.iter().map(|v| v.id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        if vpc_ids.is_empty() {
            return Ok(GatewayEndpointsInventory { vpcs, nat_bytes_30d: Some(BTreeMap::new()), ..Default::default() });
        }
        let route_tables = self.cached(format!("DescribeRouteTables {vpc_ids:?}"), self.describe_route_tables(&vpc_ids)).await?;
        let service_names: Vec<String> = desired.services.iter().map(|s| s.service_name(&self.region)).collect();
        let endpoints = self
            .cached(format!("DescribeVpcEndpoints {vpc_ids:?} {service_names:?}"), self.gateway_endpoints_in(&vpc_ids, &service_names))
            .await?;
        let nat_bytes_30d = self.nat_bytes_30d(&vpc_ids).await;
        Ok(GatewayEndpointsInventory { vpcs, route_tables, endpoints, nat_bytes_30d })
    }

    pub(super) async fn apply_gateway_change_impl(&self, change: &GatewayEndpointsChange) -> Result<Option<String>, CloudError> {
        self.pace(PaceClass::VpcEndpointMutation).await;
        match change {
            GatewayEndpointsChange::CreateEndpoint { vpc_id, service_name, route_table_ids, client_token, tags, .. } => {
                let tags = TagSpecification::builder()
                    .resource_type(ResourceType::VpcEndpoint)
                    .set_tags(Some(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
                    .build();
                let created = self
                    .clients
                    .ec2()
                    .create_vpc_endpoint()
                    .vpc_endpoint_type(VpcEndpointType::Gateway)
                    .vpc_id(vpc_id)
                    .service_name(service_name)
                    .set_route_table_ids(Some(route_table_ids.clone()))
                    .client_token(client_token)
                    .tag_specifications(tags)
                    .send()
                    .await
                    .map_err(|e| classify("CreateVpcEndpoint", e))?;
                let id = created.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()).map(str::to_string);
                match id {
                    Some(id) => {
                        tracing::info!(%vpc_id, %service_name, endpoint = %id, "created gateway endpoint");
                        Ok(Some(id))
                    }
                    None => Err(CloudError::new("CreateVpcEndpoint", ErrorKind::ServerError, "the answer named no endpoint")),
                }
            }
            GatewayEndpointsChange::AddRouteTables { endpoint_id, route_table_ids, .. } => {
                let answer = self
                    .clients
                    .ec2()
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(endpoint_id)
                    .set_add_route_table_ids(Some(route_table_ids.clone()))
                    .send()
                    .await
                    .map_err(|e| classify("ModifyVpcEndpoint", e))?;
                if answer.r#return() == Some(false) {
                    return Err(CloudError::new(
                        "ModifyVpcEndpoint",
                        ErrorKind::ServerError,
                        format!("AWS declined to add route tables to {endpoint_id}"),
                    ));
                }
                tracing::info!(endpoint = %endpoint_id, route_tables = ?route_table_ids, "associated route tables");
                Ok(None)
            }
        }
    }

    pub(super) async fn owned_gateway_endpoints_impl(&self, policy: &str) -> Result<Vec<GatewayEndpoint>, CloudError> {
        self.describe_gateway_endpoints(vec![
            filter(&format!("tag:{TAG_MANAGED_BY}"), [MANAGED_BY_VALUE]),
            filter(&format!("tag:{TAG_POLICY}"), [policy]),
        ])
        .await
    }

    pub(super) async fn delete_gateway_endpoints_impl(&self, ids: &[String]) -> Result<(), CloudError> {
        // DeleteVpcEndpoints takes up to 25 ids per call.
        for chunk in ids.chunks(25) {
            self.pace(PaceClass::VpcEndpointMutation).await;
            let answer = self
                .clients
                .ec2()
                .delete_vpc_endpoints()
                .set_vpc_endpoint_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify("DeleteVpcEndpoints", e))?;
            // An endpoint deleted by someone else since it was listed is what the caller wanted.
            let failed: Vec<String> = answer
                .unsuccessful()
                .iter()
                .filter(|u| !u.error().and_then(|e| e.code()).is_some_and(|code| code.ends_with("NotFound")))
                .map(|u| format!("{}: {}", u.resource_id().unwrap_or("?"), u.error().and_then(|e| e.message()).unwrap_or("unknown")))
                .collect();
            if !failed.is_empty() {
                return Err(CloudError::new("DeleteVpcEndpoints", ErrorKind::InvalidRequest, failed.join("; ")));
            }
        }
        Ok(())
    }
}
