//! Validation of the `gatewayEndpoints` section.

use std::collections::{BTreeMap, BTreeSet};

use super::{Errors, check_tags};
use crate::api::{GatewayEndpointsSpec, GatewayService, RouteTableScope};

/// As the CRD schema's maxItems.
const MAX_VPC_IDS: usize = 200;

/// The validated gatewayEndpoints section.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayEndpointsDesired {
    /// Unique, sorted.
    pub services: Vec<GatewayService>,
    pub vpcs: VpcScope,
    pub route_tables: RouteTableScope,
}

/// Which VPCs are in scope.
#[derive(Clone, Debug, PartialEq)]
pub enum VpcScope {
    /// Exactly these VPCs (those that exist).
    Ids(BTreeSet<String>),
    /// VPCs carrying all these tags; empty: every VPC of the region.
    Tags(BTreeMap<String, String>),
}

impl VpcScope {
    pub fn includes(&self, vpc_id: &str, tags: &BTreeMap<String, String>) -> bool {
        match self {
            VpcScope::Ids(ids) => ids.contains(vpc_id),
            VpcScope::Tags(want) => crate::api::carries_all(tags, want),
        }
    }
}

pub(super) fn check_gateway_endpoints(ge: &GatewayEndpointsSpec, errors: &mut Errors) -> GatewayEndpointsDesired {
    let mut services: Vec<GatewayService> = ge.services.clone();
    if services.is_empty() {
        errors.push("spec.gatewayEndpoints.services", "must name at least one service (s3, dynamodb)");
    }
    let unique: BTreeSet<GatewayService> = services.iter().copied().collect();
    if unique.len() != services.len() {
        errors.push("spec.gatewayEndpoints.services", "must not name a service twice");
    }
    services = unique.into_iter().collect();
    let vpcs = match (&ge.vpc_ids, &ge.vpc_selector) {
        (Some(_), Some(_)) => {
            errors.push("spec.gatewayEndpoints.vpcIds", "set gatewayEndpoints.vpcIds or gatewayEndpoints.vpcSelector, not both");
            VpcScope::Ids(BTreeSet::new())
        }
        (Some(ids), None) => {
            if ids.is_empty() {
                errors.push("spec.gatewayEndpoints.vpcIds", "must not be empty when set; omit it to select by tags");
            }
            if ids.len() > MAX_VPC_IDS {
                errors.push("spec.gatewayEndpoints.vpcIds", format!("{} ids; at most {MAX_VPC_IDS} (use vpcSelector)", ids.len()));
            }
            let mut seen = BTreeSet::new();
            for (i, id) in ids.iter().enumerate() {
                if !is_vpc_id(&id.0) {
                    errors.push(
                        format!("spec.gatewayEndpoints.vpcIds[{i}]"),
                        format!("{:?} is not a VPC id (vpc- and 8 or 17 hex digits)", id.0),
                    );
                }
                if !seen.insert(id.0.clone()) {
                    errors.push(format!("spec.gatewayEndpoints.vpcIds[{i}]"), format!("{:?} is listed twice", id.0));
                }
            }
            VpcScope::Ids(seen)
        }
        (None, selector) => {
            let tags = selector.as_ref().map(|s| s.tags.clone()).unwrap_or_default();
            check_tags("spec.gatewayEndpoints.vpcSelector.tags", &tags, errors);
            VpcScope::Tags(tags)
        }
    };
    GatewayEndpointsDesired { services, vpcs, route_tables: ge.route_tables }
}

fn is_vpc_id(id: &str) -> bool {
    id.strip_prefix("vpc-")
        .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fields, spec};
    use super::super::validate;
    use super::*;
    use crate::api::{TagSelector, VpcId};

    #[test]
    fn vpc_ids_and_selector_conflict() {
        let mut s = spec();
        s.gateway_endpoints = Some(GatewayEndpointsSpec {
            services: vec![GatewayService::S3],
            vpc_selector: Some(TagSelector::default()),
            vpc_ids: Some(vec![VpcId("vpc-12345678".into())]),
            route_tables: RouteTableScope::All,
        });
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.vpcIds"]);
    }

    #[test]
    fn malformed_and_duplicate_vpc_ids_name_their_index() {
        let mut s = spec();
        let ge = s.gateway_endpoints.as_mut().expect("section");
        ge.vpc_ids = Some(vec![VpcId("vpc-12345678".into()), VpcId("subnet-1".into()), VpcId("vpc-12345678".into())]);
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.vpcIds[1]", "spec.gatewayEndpoints.vpcIds[2]"]);
    }

    #[test]
    fn duplicate_or_empty_services_are_rejected() {
        let mut s = spec();
        s.gateway_endpoints.as_mut().expect("section").services = vec![GatewayService::S3, GatewayService::S3];
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.services"]);
        s.gateway_endpoints.as_mut().expect("section").services = vec![];
        assert_eq!(fields(validate("p", &s)), ["spec.gatewayEndpoints.services"]);
    }
}
