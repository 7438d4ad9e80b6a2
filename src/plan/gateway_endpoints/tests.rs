use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::api::validate::VpcScope;

const REGION: &str = "eu-west-1";
const POLICY: &str = "prod";

fn desired(services: &[GatewayService], scope: RouteTableScope) -> GatewayEndpointsDesired {
    GatewayEndpointsDesired { services: services.to_vec(), vpcs: VpcScope::Tags(BTreeMap::new()), route_tables: scope }
}

fn vpc(id: &str, tags: &[(&str, &str)]) -> Vpc {
    Vpc { id: id.into(), tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

fn private_rt(id: &str, vpc_id: &str) -> RouteTable {
    RouteTable {
        id: id.into(),
        vpc_id: vpc_id.into(),
        routes: vec![Route { destination_cidr: Some("0.0.0.0/0".into()), nat_gateway_id: Some("nat-1".into()), state: "active".into() }],
    }
}

fn public_rt(id: &str, vpc_id: &str) -> RouteTable {
    RouteTable {
        id: id.into(),
        vpc_id: vpc_id.into(),
        routes: vec![Route { destination_cidr: Some("0.0.0.0/0".into()), nat_gateway_id: None, state: "active".into() }],
    }
}

fn endpoint(id: &str, vpc_id: &str, service: GatewayService, rts: &[&str], owner: Option<&str>) -> GatewayEndpoint {
    GatewayEndpoint {
        id: id.into(),
        vpc_id: vpc_id.into(),
        service_name: service.service_name(REGION),
        state: "available".into(),
        route_table_ids: rts.iter().map(|s| s.to_string()).collect(),
        tags: owner.map(ownership_tags).unwrap_or_default(),
    }
}

fn inventory() -> GatewayEndpointsInventory {
    GatewayEndpointsInventory {
        vpcs: vec![vpc("vpc-a", &[("env", "prod")]), vpc("vpc-b", &[("env", "dev")])],
        route_tables: vec![
            private_rt("rtb-a1", "vpc-a"),
            private_rt("rtb-a2", "vpc-a"),
            public_rt("rtb-a3", "vpc-a"),
            private_rt("rtb-b1", "vpc-b"),
        ],
        endpoints: vec![],
        nat_bytes_30d: None,
    }
}

#[test]
fn missing_endpoint_is_created_with_the_private_route_tables() {
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inventory(), true);
    let GatewayEndpointsChange::CreateEndpoint { vpc_id, route_table_ids, service_name, tags, .. } = &plan.actions[0] else {
        panic!("expected a create, got {:?}", plan.actions);
    };
    assert_eq!(vpc_id, "vpc-a");
    assert_eq!(route_table_ids, &["rtb-a1", "rtb-a2"]);
    assert_eq!(service_name, "com.amazonaws.eu-west-1.s3");
    assert!(is_owned_by(tags, POLICY));
    assert_eq!(plan.actions.len(), 2, "one create per VPC");
}

#[test]
fn vpcs_shared_with_a_conflicting_policy_of_smaller_name_are_left_to_it() {
    let mine = desired(&[GatewayService::S3], RouteTableScope::Private);
    let theirs = ("alpha".to_string(), VpcScope::Tags(BTreeMap::from([("env".into(), "prod".into())])));
    let plan = plan_with_peers("beta", REGION, &mine, std::slice::from_ref(&theirs), &inventory(), &Prices::default(), true);
    assert_eq!(plan.yielded, [("vpc-a".to_string(), "alpha".to_string())]);
    assert!(plan.drift.iter().chain(&plan.actions).all(|c| c.vpc_id() == "vpc-b"), "nothing planned in vpc-a: {:?}", plan.drift);
    assert_eq!(plan.actions.len(), 1, "vpc-b, which alpha does not govern, is still fixed");

    // The policy with the smaller name yields nothing and fixes both.
    let alpha = plan_with_peers("alpha", REGION, &mine, &[], &inventory(), &Prices::default(), true);
    assert_eq!((alpha.actions.len(), alpha.yielded.len()), (2, 0));
}

#[test]
fn all_scope_includes_public_route_tables() {
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::All), &inventory(), true);
    let GatewayEndpointsChange::CreateEndpoint { route_table_ids, .. } = &plan.actions[0] else { panic!() };
    assert_eq!(route_table_ids, &["rtb-a1", "rtb-a2", "rtb-a3"]);
}

#[test]
fn tag_selector_limits_the_vpcs() {
    let mut d = desired(&[GatewayService::S3], RouteTableScope::Private);
    d.vpcs = VpcScope::Tags(BTreeMap::from([("env".into(), "prod".into())]));
    let plan = plan(POLICY, REGION, &d, &inventory(), true);
    assert_eq!(plan.vpcs.iter().map(|v| v.vpc_id.as_str()).collect::<Vec<_>>(), ["vpc-a"]);
}

#[test]
fn vpc_ids_scope_ignores_unknown_and_other_vpcs() {
    let mut d = desired(&[GatewayService::S3], RouteTableScope::Private);
    d.vpcs = VpcScope::Ids(BTreeSet::from(["vpc-b".to_string(), "vpc-gone".to_string()]));
    let plan = plan(POLICY, REGION, &d, &inventory(), true);
    assert_eq!(plan.vpcs.iter().map(|v| v.vpc_id.as_str()).collect::<Vec<_>>(), ["vpc-b"]);
}

#[test]
fn existing_endpoint_of_someone_else_is_adopted_and_extended_not_duplicated() {
    let mut inv = inventory();
    inv.endpoints.push(endpoint("vpce-hand", "vpc-a", GatewayService::S3, &["rtb-a1", "rtb-a3"], None));
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inv, true);
    let for_a: Vec<_> = plan.actions.iter().filter(|c| c.vpc_id() == "vpc-a").collect();
    assert_eq!(
        for_a,
        [&GatewayEndpointsChange::AddRouteTables {
            endpoint_id: "vpce-hand".into(),
            vpc_id: "vpc-a".into(),
            service: GatewayService::S3,
            route_table_ids: vec!["rtb-a2".into()],
        }]
    );
    assert_eq!(plan.vpcs[0].services[0].ownership, Ownership::Adopted);
    assert_eq!(plan.adopted_endpoints(), 1);
}

#[test]
fn our_endpoint_is_reported_as_managed_and_in_sync_needs_nothing() {
    let mut inv = inventory();
    inv.endpoints.push(endpoint("vpce-1", "vpc-a", GatewayService::S3, &["rtb-a1", "rtb-a2"], Some(POLICY)));
    inv.endpoints.push(endpoint("vpce-2", "vpc-b", GatewayService::S3, &["rtb-b1"], Some(POLICY)));
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inv, true);
    assert!(plan.drift.is_empty() && plan.actions.is_empty());
    assert!(plan.vpcs.iter().all(|v| v.services[0].ownership == Ownership::Managed));
}

#[test]
fn endpoint_tagged_for_another_policy_is_adopted() {
    let mut inv = inventory();
    inv.endpoints.push(endpoint("vpce-1", "vpc-a", GatewayService::S3, &["rtb-a1", "rtb-a2"], Some("other")));
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inv, true);
    assert_eq!(plan.vpcs[0].services[0].ownership, Ownership::Adopted);
}

#[test]
fn a_deleted_endpoint_does_not_count_and_changes_the_token() {
    let base = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inventory(), true);
    let mut inv = inventory();
    let mut gone = endpoint("vpce-old", "vpc-a", GatewayService::S3, &[], Some(POLICY));
    gone.state = "deleted".into();
    inv.endpoints.push(gone);
    let again = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inv, true);
    let token = |p: &GatewayEndpointsPlan| match &p.actions[0] {
        GatewayEndpointsChange::CreateEndpoint { client_token, .. } => client_token.clone(),
        other => panic!("expected create, got {other:?}"),
    };
    assert_ne!(token(&base), token(&again));
}

#[test]
fn client_token_is_stable_across_runs_and_distinct_per_service_and_vpc() {
    let d = desired(&[GatewayService::S3, GatewayService::Dynamodb], RouteTableScope::Private);
    let first = plan(POLICY, REGION, &d, &inventory(), true);
    let second = plan(POLICY, REGION, &d, &inventory(), true);
    assert_eq!(first.actions, second.actions);
    let tokens: BTreeSet<String> = first
        .actions
        .iter()
        .filter_map(|c| match c {
            GatewayEndpointsChange::CreateEndpoint { client_token, .. } => Some(client_token.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tokens.len(), 4);
}

#[test]
fn audit_mode_reports_drift_but_plans_no_action() {
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inventory(), false);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.missing_endpoints(), 2);
    assert_eq!(plan.missing_associations(), 3);
}

#[test]
fn nat_cost_counts_only_drifted_vpcs_as_waste() {
    let mut inv = inventory();
    inv.endpoints.push(endpoint("vpce-2", "vpc-b", GatewayService::S3, &["rtb-b1"], Some(POLICY)));
    inv.nat_bytes_30d = Some(BTreeMap::from([("vpc-a".into(), 100 * 1_073_741_824), ("vpc-b".into(), 1_073_741_824_000)]));
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inv, true);
    assert!((plan.monthly_waste_usd() - 4.5).abs() < 1e-9, "{}", plan.monthly_waste_usd());
    assert!((plan.vpcs[1].nat_monthly_usd.unwrap_or_default() - 45.0).abs() < 1e-9);
}

#[test]
fn per_vpc_nat_figures_add_up_to_the_total_shown() {
    let mut inv = inventory();
    // $0.016 a VPC, shown as $0.02 each; rounding only the total would show $0.03.
    let bytes = 381_822_592;
    inv.nat_bytes_30d = Some(BTreeMap::from([("vpc-a".into(), bytes), ("vpc-b".into(), bytes)]));
    let plan = plan(POLICY, REGION, &desired(&[GatewayService::S3], RouteTableScope::Private), &inv, true);
    let shown: Vec<String> = plan.vpcs.iter().filter_map(|v| v.nat_monthly_usd).map(|usd| format!("{usd:.2}")).collect();
    assert_eq!(shown, ["0.02", "0.02"]);
    assert_eq!(format!("{:.2}", plan.monthly_waste_usd()), "0.04");
}

#[test]
fn cleanup_deletes_only_our_live_endpoints() {
    let mut gone = endpoint("vpce-3", "vpc-a", GatewayService::S3, &[], Some(POLICY));
    gone.state = "deleted".into();
    let endpoints = vec![
        endpoint("vpce-1", "vpc-a", GatewayService::S3, &[], Some(POLICY)),
        endpoint("vpce-2", "vpc-a", GatewayService::Dynamodb, &[], Some("other")),
        endpoint("vpce-4", "vpc-b", GatewayService::S3, &[], None),
        gone,
    ];
    assert_eq!(plan_cleanup(POLICY, &endpoints), ["vpce-1"]);
}

fn arb_inventory() -> impl Strategy<Value = GatewayEndpointsInventory> {
    let vpcs = prop::collection::btree_set(0u8..6, 0..5);
    (
        vpcs,
        prop::collection::vec((0u8..6, 0u8..12, any::<bool>()), 0..20),
        prop::collection::vec((0u8..6, any::<bool>(), prop::collection::btree_set(0u8..12, 0..4), 0u8..3, 0u8..4), 0..8),
    )
        .prop_map(|(vpc_ids, rts, eps)| {
            let vpcs = vpc_ids.iter().map(|i| vpc(&format!("vpc-{i}"), &[])).collect();
            let mut seen = BTreeSet::new();
            let route_tables: Vec<RouteTable> = rts
                .into_iter()
                .filter(|(_, rt, _)| seen.insert(*rt))
                .map(|(v, rt, private)| {
                    if private {
                        private_rt(&format!("rtb-{rt}"), &format!("vpc-{v}"))
                    } else {
                        public_rt(&format!("rtb-{rt}"), &format!("vpc-{v}"))
                    }
                })
                .collect();
            let endpoints = eps
                .into_iter()
                .enumerate()
                .map(|(n, (v, s3, rts, owner, state))| {
                    let service = if s3 { GatewayService::S3 } else { GatewayService::Dynamodb };
                    let rts: Vec<String> = rts.iter().map(|r| format!("rtb-{r}")).collect();
                    let rts: Vec<&str> = rts.iter().map(String::as_str).collect();
                    let owner = [None, Some(POLICY), Some("other")][owner as usize];
                    let mut e = endpoint(&format!("vpce-{n}"), &format!("vpc-{v}"), service, &rts, owner);
                    e.state = ["available", "pending", "deleting", "deleted"][state as usize].into();
                    e
                })
                .collect();
            // AWS only associates an endpoint with route tables of its own VPC.
            let mut endpoints: Vec<GatewayEndpoint> = endpoints;
            for e in &mut endpoints {
                e.route_table_ids.retain(|rt| route_tables.iter().any(|t: &RouteTable| &t.id == rt && t.vpc_id == e.vpc_id));
            }
            GatewayEndpointsInventory { vpcs, route_tables, endpoints, nat_bytes_30d: None }
        })
}

fn arb_desired() -> impl Strategy<Value = GatewayEndpointsDesired> {
    (prop::sample::subsequence(vec![GatewayService::S3, GatewayService::Dynamodb], 1..=2), any::<bool>())
        .prop_map(|(services, all)| desired(&services, if all { RouteTableScope::All } else { RouteTableScope::Private }))
}

/// Applies changes the way AWS would, to check convergence.
fn apply(inv: &mut GatewayEndpointsInventory, changes: &[GatewayEndpointsChange]) {
    for (n, change) in changes.iter().enumerate() {
        match change {
            GatewayEndpointsChange::CreateEndpoint { vpc_id, service_name, route_table_ids, tags, .. } => {
                inv.endpoints.push(GatewayEndpoint {
                    id: format!("vpce-new-{n}"),
                    vpc_id: vpc_id.clone(),
                    service_name: service_name.clone(),
                    state: "available".into(),
                    route_table_ids: route_table_ids.iter().cloned().collect(),
                    tags: tags.clone(),
                })
            }
            GatewayEndpointsChange::AddRouteTables { endpoint_id, route_table_ids, .. } => {
                let e = inv.endpoints.iter_mut().find(|e| &e.id == endpoint_id).expect("endpoint exists");
                e.route_table_ids.extend(route_table_ids.iter().cloned());
            }
        }
    }
}

proptest! {
    #[test]
    fn audit_never_plans_a_mutation(inv in arb_inventory(), d in arb_desired()) {
        let plan = plan(POLICY, REGION, &d, &inv, false);
        prop_assert!(plan.actions.is_empty());
    }

    #[test]
    fn never_a_second_endpoint_per_service_per_vpc(inv in arb_inventory(), d in arb_desired()) {
        let plan = plan(POLICY, REGION, &d, &inv, true);
        for change in &plan.actions {
            if let GatewayEndpointsChange::CreateEndpoint { vpc_id, service_name, .. } = change {
                prop_assert!(!inv.endpoints.iter().any(|e| &e.vpc_id == vpc_id && &e.service_name == service_name && e.is_live()));
                let creates = plan.actions.iter().filter(|c| matches!(c, GatewayEndpointsChange::CreateEndpoint { vpc_id: v, service_name: s, .. } if v == vpc_id && s == service_name)).count();
                prop_assert_eq!(creates, 1);
            }
        }
    }

    #[test]
    fn existing_associations_are_only_ever_added_to(inv in arb_inventory(), d in arb_desired()) {
        let plan = plan(POLICY, REGION, &d, &inv, true);
        for change in &plan.actions {
            if let GatewayEndpointsChange::AddRouteTables { endpoint_id, route_table_ids, vpc_id, .. } = change {
                let e = inv.endpoints.iter().find(|e| &e.id == endpoint_id).expect("adds go to existing endpoints");
                prop_assert!(e.is_live());
                prop_assert_eq!(&e.vpc_id, vpc_id);
                prop_assert!(!route_table_ids.is_empty());
                // Route tables already covered by any endpoint of the service are never re-added.
                for rt in route_table_ids {
                    prop_assert!(!inv.endpoints.iter().any(|o| o.is_live() && o.service_name == e.service_name && o.route_table_ids.contains(rt)));
                }
            }
        }
    }

    #[test]
    fn one_enforce_round_converges(inv in arb_inventory(), d in arb_desired()) {
        let first = plan(POLICY, REGION, &d, &inv, true);
        let mut after = inv.clone();
        apply(&mut after, &first.actions);
        let second = plan(POLICY, REGION, &d, &after, true);
        prop_assert!(second.drift.is_empty(), "{:?}", second.drift);
    }
}
