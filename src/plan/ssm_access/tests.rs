use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::api::validate::{InstanceProfileDesired, InstanceScope, SecurityGroupScope};

fn desired() -> SsmAccessDesired {
    SsmAccessDesired {
        revoke_world_ssh: true,
        revoke_all_traffic_from_world: false,
        allowed_ssh_cidrs: vec![Cidr::parse("10.0.0.0/8").expect("cidr")],
        security_groups: SecurityGroupScope::Tags(BTreeMap::new()),
        instances: None,
        instance_profile: None,
        default_host_management_role: None,
        key_pairs: KeyPairPolicy::Report,
    }
}

fn v4(c: &str) -> Source {
    Source::Ipv4(c.into())
}

fn rule(id: &str, protocol: &str, from: i32, to: i32, source: Source) -> IngressRule {
    IngressRule { rule_id: id.into(), protocol: protocol.into(), from_port: from, to_port: to, source, description: None }
}

fn group(id: &str, ingress: Vec<IngressRule>) -> SecurityGroup {
    SecurityGroup { id: id.into(), name: id.into(), tags: Tags::new(), ingress }
}

fn inv(groups: Vec<SecurityGroup>) -> SsmAccessInventory {
    SsmAccessInventory { security_groups: groups, ..Default::default() }
}

#[test]
fn tcp_22_from_the_world_is_revoked_by_rule_id_and_nothing_else() {
    let g = group(
        "sg-1",
        vec![
            rule("sgr-ssh", "tcp", 22, 22, v4("0.0.0.0/0")),
            rule("sgr-https", "tcp", 443, 443, v4("0.0.0.0/0")),
            rule("sgr-office", "tcp", 22, 22, v4("10.0.0.0/8")),
        ],
    );
    let plan = plan("p", &desired(), &inv(vec![g]), true);
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].rule_calls(), [RuleCall::Revoke { group_id: "sg-1", rule_id: "sgr-ssh" }]);
    assert_eq!(plan.count(FindingKind::WorldSsh), 1);
    assert_eq!(plan.count(FindingKind::SshFromUnlistedCidr), 0);
}

#[test]
fn a_wide_tcp_range_is_split_and_the_remainder_authorized_before_the_revoke() {
    let mut wide = rule("sgr-wide", "tcp", 0, 65535, v4("0.0.0.0/0"));
    wide.description = Some("legacy".into());
    let plan = plan("p", &desired(), &inv(vec![group("sg-1", vec![wide])]), true);
    let [change] = plan.actions.as_slice() else { panic!("one change: {:?}", plan.actions) };
    let source = v4("0.0.0.0/0");
    let ranges = [PortRange { from: 0, to: 21 }, PortRange { from: 23, to: 65535 }];
    assert_eq!(
        change.rule_calls(),
        [
            RuleCall::Authorize {
                group_id: "sg-1",
                protocol: "tcp",
                ranges: &ranges,
                source: &source,
                description: "legacy (split by frugal)"
            },
            RuleCall::Revoke { group_id: "sg-1", rule_id: "sgr-wide" },
        ]
    );
    assert_eq!(change.describe(), "sg-1 ingress tcp 0-65535 from 0.0.0.0/0  →  tcp 0-21, tcp 23-65535 from 0.0.0.0/0 [sgr-wide]");
}

#[test]
fn a_split_range_is_reported_as_still_open_to_the_world_now_and_on_later_runs() {
    let wide = rule("sgr-wide", "tcp", 0, 65535, v4("0.0.0.0/0"));
    let plan_now = plan("p", &desired(), &inv(vec![group("sg-1", vec![wide])]), true);
    assert_eq!(plan_now.count(FindingKind::WideRangeFromWorld), 1, "the split itself says the rest stays open");
    // After the split: the two halves carry the split note; an unrelated world-open port does not.
    let mut low = rule("sgr-low", "tcp", 0, 21, v4("0.0.0.0/0"));
    low.description = Some(SPLIT_NOTE.into());
    let mut high = rule("sgr-high", "tcp", 23, 65535, Source::Ipv6("::/0".into()));
    high.description = Some(format!("legacy {SPLIT_NOTE}"));
    let https = rule("sgr-https", "tcp", 443, 443, v4("0.0.0.0/0"));
    let mut office = rule("sgr-office", "tcp", 23, 65535, v4("10.0.0.0/8"));
    office.description = Some(SPLIT_NOTE.into());
    let later = plan("p", &desired(), &inv(vec![group("sg-1", vec![low, high, https, office])]), true);
    assert!(later.actions.is_empty());
    let reported: Vec<&str> =
        later.permissions.iter().filter(|p| p.kind == FindingKind::WideRangeFromWorld).map(|p| p.rule.rule_id.as_str()).collect();
    assert_eq!(reported, ["sgr-high", "sgr-low"]);
    assert!(later.permissions.iter().all(|p| p.fix == Fix::Report));
}

#[test]
fn ranges_starting_or_ending_at_22_leave_one_part() {
    assert_eq!(remainder(22, 25), [PortRange { from: 23, to: 25 }]);
    assert_eq!(remainder(0, 22), [PortRange { from: 0, to: 21 }]);
    assert_eq!(remainder(22, 22), []);
    assert_eq!(remainder(21, 23), [PortRange { from: 21, to: 21 }, PortRange { from: 23, to: 23 }]);
}

#[test]
fn ipv6_world_is_handled_like_ipv4() {
    let g = group(
        "sg-1",
        vec![rule("sgr-6", "tcp", 20, 30, Source::Ipv6("::/0".into())), rule("sgr-6b", "tcp", 22, 22, Source::Ipv6("::/0".into()))],
    );
    let plan = plan("p", &desired(), &inv(vec![g]), true);
    assert_eq!(plan.actions.len(), 2);
    assert!(matches!(&plan.actions[1], SsmAccessChange::RevokeIngress { rule, .. } if rule.rule_id == "sgr-6b"));
    assert!(
        matches!(&plan.actions[0], SsmAccessChange::SplitIngress { remainder, .. } if remainder == &[PortRange { from: 20, to: 21 }, PortRange { from: 23, to: 30 }])
    );
}

#[test]
fn all_traffic_from_the_world_is_reported_unless_the_spec_allows_revoking_it() {
    let g = group("sg-1", vec![rule("sgr-all", "-1", -1, -1, v4("0.0.0.0/0"))]);
    let reported = plan("p", &desired(), &inv(vec![g.clone()]), true);
    assert!(reported.drift.is_empty());
    assert_eq!(reported.permissions[0].fix, Fix::Report);
    assert_eq!(reported.count(FindingKind::AllTrafficFromWorld), 1);
    let mut allow = desired();
    allow.revoke_all_traffic_from_world = true;
    let revoked = plan("p", &allow, &inv(vec![g]), true);
    assert_eq!(revoked.actions[0].rule_calls(), [RuleCall::Revoke { group_id: "sg-1", rule_id: "sgr-all" }]);
}

#[test]
fn prefix_lists_group_references_and_allowed_cidrs_are_never_touched() {
    let g = group(
        "sg-1",
        vec![
            rule("sgr-pl", "tcp", 0, 65535, Source::PrefixList("pl-1".into())),
            rule("sgr-ref", "-1", -1, -1, Source::Group("sg-2".into())),
            rule("sgr-ok", "tcp", 22, 22, v4("10.1.0.0/16")),
            rule("sgr-other", "tcp", 22, 22, v4("192.0.2.0/24")),
        ],
    );
    let mut d = desired();
    d.revoke_all_traffic_from_world = true;
    let plan = plan("p", &d, &inv(vec![g]), true);
    assert!(plan.drift.is_empty());
    assert_eq!(plan.permissions.len(), 1);
    assert_eq!((plan.permissions[0].kind, plan.permissions[0].fix), (FindingKind::SshFromUnlistedCidr, Fix::Report));
}

#[test]
fn without_revoke_world_ssh_the_permission_is_only_reported() {
    let mut d = desired();
    d.revoke_world_ssh = false;
    let plan = plan("p", &d, &inv(vec![group("sg-1", vec![rule("sgr-1", "tcp", 22, 22, v4("0.0.0.0/0"))])]), true);
    assert!(plan.drift.is_empty());
    assert_eq!(plan.permissions[0].fix, Fix::Report);
}

#[test]
fn a_remainder_already_present_is_not_authorized_again() {
    // A run that authorized the remainder and then crashed before the revoke.
    let g = group(
        "sg-1",
        vec![
            rule("sgr-wide", "tcp", 0, 65535, v4("0.0.0.0/0")),
            rule("sgr-low", "tcp", 0, 21, v4("0.0.0.0/0")),
            rule("sgr-high", "tcp", 23, 65535, v4("0.0.0.0/0")),
        ],
    );
    let plan = plan("p", &desired(), &inv(vec![g]), true);
    assert_eq!(plan.actions[0].rule_calls(), [RuleCall::Revoke { group_id: "sg-1", rule_id: "sgr-wide" }]);
}

#[test]
fn every_offending_permission_of_every_group_is_fixed_in_one_plan() {
    let groups = (0..5)
        .map(|n| {
            group(
                &format!("sg-{n}"),
                vec![
                    rule(&format!("sgr-{n}a"), "tcp", 22, 22, v4("0.0.0.0/0")),
                    rule(&format!("sgr-{n}b"), "tcp", 0, 1000, Source::Ipv6("::/0".into())),
                ],
            )
        })
        .collect();
    let plan = plan("p", &desired(), &inv(groups), true);
    assert_eq!(plan.actions.len(), 10);
}

#[test]
fn groups_out_of_scope_are_ignored_and_instances_follow_their_groups() {
    let mut d = desired();
    d.security_groups = SecurityGroupScope::Tags(BTreeMap::from([("env".into(), "prod".into())]));
    let mut prod = group("sg-prod", vec![rule("sgr-1", "tcp", 22, 22, v4("0.0.0.0/0"))]);
    prod.tags.insert("env".into(), "prod".into());
    let dev = group("sg-dev", vec![rule("sgr-2", "tcp", 22, 22, v4("0.0.0.0/0"))]);
    let mut inventory = inv(vec![prod, dev]);
    inventory.instances = vec![
        Instance { id: "i-prod".into(), state: "running".into(), security_group_ids: vec!["sg-prod".into()], ..Default::default() },
        Instance { id: "i-dev".into(), state: "running".into(), security_group_ids: vec!["sg-dev".into()], ..Default::default() },
    ];
    let plan = plan("p", &d, &inventory, true);
    assert_eq!(plan.groups_in_scope, 1);
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.instances.iter().map(|i| i.instance_id.as_str()).collect::<Vec<_>>(), ["i-prod"]);
}

#[test]
fn an_instance_selector_scopes_instances_by_their_own_tags_or_ids_whatever_their_groups() {
    let mut inventory = inv(vec![group("sg-default", vec![])]);
    let tagged = |id: &str, env: &str| Instance {
        id: id.into(),
        state: "running".into(),
        security_group_ids: vec!["sg-default".into()],
        tags: Tags::from([("env".to_string(), env.to_string())]),
        ..Default::default()
    };
    inventory.instances = vec![
        tagged("i-prod", "prod"),
        tagged("i-dev", "dev"),
        Instance { id: "i-other".into(), state: "running".into(), ..Default::default() },
    ];
    let mut d = desired();
    // The security groups alone would hold nothing: an untagged default group is out of scope.
    d.security_groups = SecurityGroupScope::Tags(BTreeMap::from([("env".into(), "prod".into())]));
    let in_scope =
        |d: &SsmAccessDesired| plan("p", d, &inventory, true).instances.iter().map(|i| i.instance_id.clone()).collect::<Vec<_>>();
    assert_eq!(in_scope(&d), Vec::<String>::new(), "without instanceSelector, instances follow their groups");
    d.instances = Some(InstanceScope::Tags(BTreeMap::from([("env".into(), "prod".into())])));
    assert_eq!(in_scope(&d), ["i-prod"]);
    d.instances = Some(InstanceScope::Ids(BTreeSet::from(["i-dev".to_string(), "i-other".to_string()])));
    assert_eq!(in_scope(&d), ["i-dev", "i-other"]);
}

fn instances_inventory() -> SsmAccessInventory {
    let profile = |name: &str, grants_ssm| InstanceProfile {
        name: name.into(),
        arn: format!("arn:aws:iam::1:instance-profile/{name}"),
        grants_ssm,
        tags: Tags::new(),
    };
    SsmAccessInventory {
        instances: vec![
            Instance { id: "i-bare".into(), state: "running".into(), key_name: Some("used".into()), ..Default::default() },
            Instance { id: "i-stopped".into(), state: "stopped".into(), ..Default::default() },
            Instance {
                id: "i-weak".into(),
                state: "running".into(),
                profile_arn: Some("arn:aws:iam::1:instance-profile/weak".into()),
                ..Default::default()
            },
            Instance {
                id: "i-good".into(),
                state: "running".into(),
                profile_arn: Some("arn:aws:iam::1:instance-profile/ops/good".into()),
                ..Default::default()
            },
            Instance { id: "i-gone".into(), state: "terminated".into(), key_name: Some("old".into()), ..Default::default() },
        ],
        profiles: BTreeMap::from([("weak".into(), profile("weak", false)), ("good".into(), profile("good", true))]),
        ssm_instances: BTreeMap::from([("i-good".into(), "Online".into())]),
        key_pairs: vec![
            KeyPair { id: "key-1".into(), name: "used".into() },
            KeyPair { id: "key-2".into(), name: "template".into() },
            KeyPair { id: "key-3".into(), name: "stray".into() },
            KeyPair { id: "key-4".into(), name: "old".into() },
        ],
        launch_template_key_names: BTreeSet::from(["template".into()]),
        ..Default::default()
    }
}

#[test]
fn instances_are_classified_and_only_those_without_a_profile_get_one() {
    let mut d = desired();
    d.instance_profile = Some(InstanceProfileDesired { name: "frugal-ssm".into(), attach_when_missing: true, create: true });
    let plan = plan("p", &d, &instances_inventory(), true);
    let states: Vec<(&str, InstanceState)> = plan.instances.iter().map(|i| (i.instance_id.as_str(), i.state)).collect();
    assert_eq!(
        states,
        [
            ("i-bare", InstanceState::NoProfile),
            ("i-good", InstanceState::Managed),
            ("i-stopped", InstanceState::NoProfile),
            ("i-weak", InstanceState::ProfileWithoutSsmPolicy),
        ]
    );
    assert_eq!(
        plan.actions,
        [
            SsmAccessChange::CreateInstanceProfile { name: "frugal-ssm".into() },
            SsmAccessChange::AttachInstanceProfile { instance_id: "i-bare".into(), profile_name: "frugal-ssm".into() },
            SsmAccessChange::AttachInstanceProfile { instance_id: "i-stopped".into(), profile_name: "frugal-ssm".into() },
        ]
    );
}

#[test]
fn a_missing_profile_without_create_is_reported_and_nothing_is_attached() {
    let mut d = desired();
    d.instance_profile = Some(InstanceProfileDesired { name: "frugal-ssm".into(), attach_when_missing: true, create: false });
    let plan = plan("p", &d, &instances_inventory(), true);
    assert!(plan.drift.is_empty());
    assert!(plan.configured_profile_missing);
}

#[test]
fn an_existing_profile_is_attached_without_being_created() {
    let mut d = desired();
    d.instance_profile = Some(InstanceProfileDesired { name: "good".into(), attach_when_missing: true, create: true });
    let plan = plan("p", &d, &instances_inventory(), true);
    assert_eq!(plan.drift.len(), 2);
    assert!(plan.drift.iter().all(|c| matches!(c, SsmAccessChange::AttachInstanceProfile { .. })));
    assert!(plan.instances.iter().find(|i| i.instance_id == "i-good").is_some_and(|i| i.configured_profile));
}

#[test]
fn only_key_pairs_used_by_nothing_are_deleted() {
    let mut d = desired();
    let report = plan("p", &d, &instances_inventory(), true);
    assert!(report.drift.is_empty());
    assert_eq!(report.unused_key_pairs().map(|k| k.key_name.as_str()).collect::<Vec<_>>(), ["stray"]);
    d.key_pairs = KeyPairPolicy::DeleteUnused;
    let delete = plan("p", &d, &instances_inventory(), true);
    assert_eq!(delete.actions, [SsmAccessChange::DeleteKeyPair { key_pair_id: "key-3".into(), key_name: "stray".into() }]);
}

#[test]
fn default_host_management_is_set_only_when_it_differs() {
    let mut d = desired();
    d.default_host_management_role = Some("service-role/Dhmc".into());
    let mut inventory = SsmAccessInventory { default_host_management_role: Some("$None".into()), ..Default::default() };
    assert_eq!(
        plan("p", &d, &inventory, true).actions,
        [SsmAccessChange::SetDefaultHostManagementRole { role: "service-role/Dhmc".into(), previous: None }]
    );
    inventory.default_host_management_role = Some("arn:aws:iam::123456789012:role/service-role/Dhmc".into());
    assert!(plan("p", &d, &inventory, true).actions.is_empty());
}

#[test]
fn a_dhmc_role_that_cannot_work_is_a_finding_naming_why() {
    let mut d = desired();
    let problem = |d: &SsmAccessDesired, facts: Option<RoleFacts>| {
        let inventory = SsmAccessInventory { dhmc_role_facts: facts, ..Default::default() };
        plan("p", d, &inventory, true).default_host_management_problem
    };
    assert_eq!(problem(&d, None), None, "nothing to say when DHMC is not enabled");
    d.default_host_management_role = Some("service-role/Dhmc".into());
    let ready = RoleFacts { exists: true, trusted_by_ssm: true, grants_ssm: true };
    assert_eq!(problem(&d, Some(ready)), None);
    let missing = problem(&d, Some(RoleFacts::default())).expect("a problem");
    assert!(missing.contains("service-role/Dhmc does not exist"), "{missing}");
    let untrusted = problem(&d, Some(RoleFacts { trusted_by_ssm: false, ..ready })).expect("a problem");
    assert!(untrusted.contains("does not trust ssm.amazonaws.com"), "{untrusted}");
    let bare = problem(&d, Some(RoleFacts { grants_ssm: false, ..ready })).expect("a problem");
    assert!(bare.contains("AmazonSSMManagedEC2InstanceDefaultPolicy"), "{bare}");
}

#[test]
fn audit_mode_plans_the_drift_but_no_action() {
    let mut d = desired();
    d.key_pairs = KeyPairPolicy::DeleteUnused;
    d.instance_profile = Some(InstanceProfileDesired { name: "p".into(), attach_when_missing: true, create: true });
    let mut inventory = instances_inventory();
    inventory.security_groups = vec![group("sg-1", vec![rule("sgr-1", "tcp", 0, 65535, v4("0.0.0.0/0"))])];
    let plan = plan("p", &d, &inventory, false);
    assert!(!plan.drift.is_empty());
    assert!(plan.actions.is_empty());
}

// ---------- property tests ----------

fn arb_source() -> impl Strategy<Value = Source> {
    prop_oneof![
        3 => Just(v4("0.0.0.0/0")),
        2 => Just(Source::Ipv6("::/0".into())),
        1 => Just(v4("10.0.0.0/8")),
        1 => Just(v4("192.0.2.0/24")),
        1 => Just(Source::PrefixList("pl-1".into())),
        1 => Just(Source::Group("sg-other".into())),
    ]
}

fn arb_rule() -> impl Strategy<Value = (String, i32, i32, Source)> {
    let ports = prop_oneof![Just(0), Just(20), Just(21), Just(22), Just(23), Just(80), Just(65535), 0..65536i32];
    (
        prop_oneof![4 => Just("tcp".to_string()), 1 => Just("udp".to_string()), 1 => Just("-1".to_string()), 1 => Just("icmp".to_string())],
        ports.clone(),
        ports,
        arb_source(),
    )
        .prop_map(|(p, a, b, s)| if p == "-1" { (p, -1, -1, s) } else { (p, a.min(b), a.max(b), s) })
}

fn arb_groups() -> impl Strategy<Value = Vec<SecurityGroup>> {
    prop::collection::vec(prop::collection::vec(arb_rule(), 0..8), 1..4).prop_map(|groups| {
        groups
            .into_iter()
            .enumerate()
            .map(|(g, rules)| {
                // AWS refuses exact duplicates, so the generated group has none either.
                let mut seen = BTreeSet::new();
                let ingress = rules
                    .into_iter()
                    .filter(|r| seen.insert(r.clone()))
                    .enumerate()
                    .map(|(n, (p, from, to, source))| rule(&format!("sgr-{g}-{n}"), &p, from, to, source))
                    .collect();
                group(&format!("sg-{g}"), ingress)
            })
            .collect()
    })
}

/// Executes the plan's EC2 calls one by one against an in-memory copy of the groups,
/// checking after every call that no tcp port other than 22 lost access from any source.
fn simulate(groups: &[SecurityGroup], actions: &[SsmAccessChange]) -> Result<Vec<SecurityGroup>, TestCaseError> {
    let mut state: Vec<SecurityGroup> = groups.to_vec();
    let before: Vec<BTreeMap<Source, Vec<bool>>> = state.iter().map(tcp_coverage).collect();
    let mut next_id = 0;
    for change in actions {
        for call in change.rule_calls() {
            match call {
                RuleCall::Authorize { group_id, protocol, ranges, source, description } => {
                    let g = state.iter_mut().find(|g| g.id == group_id).expect("group exists");
                    for range in ranges {
                        prop_assert!(
                            range.from <= range.to && !(range.from..=range.to).contains(&SSH_PORT),
                            "authorized {range} contains 22"
                        );
                        next_id += 1;
                        let mut new = rule(&format!("sgr-new-{next_id}"), protocol, range.from, range.to, source.clone());
                        new.description = Some(description.to_string());
                        prop_assert!(
                            !g.ingress.iter().any(|r| r.protocol == new.protocol
                                && r.source == new.source
                                && (r.from_port, r.to_port) == (new.from_port, new.to_port)),
                            "duplicate authorization {new:?}"
                        );
                        g.ingress.push(new);
                    }
                }
                RuleCall::Revoke { group_id, rule_id } => {
                    let g = state.iter_mut().find(|g| g.id == group_id).expect("group exists");
                    let before_len = g.ingress.len();
                    g.ingress.retain(|r| r.rule_id != rule_id);
                    prop_assert_eq!(before_len, g.ingress.len() + 1, "revoked a rule that does not exist");
                }
            }
            for (g, covered_before) in state.iter().zip(&before) {
                let now = tcp_coverage(g);
                for (source, ports) in covered_before {
                    for (port, was) in ports.iter().enumerate() {
                        if *was && port != SSH_PORT as usize {
                            prop_assert!(now.get(source).is_some_and(|p| p[port]), "{} lost tcp/{port} from {source}", g.id);
                        }
                    }
                }
            }
        }
    }
    Ok(state)
}

fn tcp_coverage(group: &SecurityGroup) -> BTreeMap<Source, Vec<bool>> {
    let mut coverage: BTreeMap<Source, Vec<bool>> = BTreeMap::new();
    for r in group.ingress.iter().filter(|r| r.is_tcp()) {
        let ports = coverage.entry(r.source.clone()).or_insert_with(|| vec![false; 65536]);
        for p in r.from_port.max(0)..=r.to_port.min(65535) {
            ports[p as usize] = true;
        }
    }
    coverage
}

fn is_offending(desired: &SsmAccessDesired, r: &IngressRule) -> bool {
    r.source.is_world()
        && ((r.is_tcp() && r.reaches_ssh() && desired.revoke_world_ssh) || (r.is_all_traffic() && desired.revoke_all_traffic_from_world))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn only_offending_permissions_are_revoked_and_no_other_port_is_ever_lost(
        groups in arb_groups(), revoke_ssh in any::<bool>(), revoke_all in any::<bool>()
    ) {
        let mut d = desired();
        d.revoke_world_ssh = revoke_ssh;
        d.revoke_all_traffic_from_world = revoke_all;
        let plan = plan("p", &d, &inv(groups.clone()), true);
        let offending: BTreeSet<(&str, &str)> = groups
            .iter()
            .flat_map(|g| g.ingress.iter().filter(|r| is_offending(&d, r)).map(move |r| (g.id.as_str(), r.rule_id.as_str())))
            .collect();
        let revoked: BTreeSet<(&str, &str)> = plan
            .actions
            .iter()
            .flat_map(SsmAccessChange::rule_calls)
            .filter_map(|c| match c { RuleCall::Revoke { group_id, rule_id } => Some((group_id, rule_id)), RuleCall::Authorize { .. } => None })
            .collect();
        // Exactly the offending set: nothing outside it, and every one of it in one run.
        prop_assert_eq!(&revoked, &offending);
        let after = simulate(&groups, &plan.actions)?;
        for g in &after {
            for r in &g.ingress {
                prop_assert!(!is_offending(&d, r), "still offending after the plan: {r:?}");
                // Rules from anything but the world are exactly what they were.
                if !r.source.is_world() {
                    prop_assert!(groups.iter().any(|orig| orig.id == g.id && orig.ingress.contains(r)));
                }
            }
            let orig = groups.iter().find(|o| o.id == g.id).expect("same groups");
            for r in orig.ingress.iter().filter(|r| !r.source.is_world() || !r.reaches_ssh()) {
                prop_assert!(g.ingress.contains(r), "untouchable rule {r:?} is gone");
            }
        }
        // Converged: planning again on the result changes no security group.
        let again = plan_again(&d, after);
        prop_assert!(again.iter().all(|c| !c.is_security_group_change()), "second plan: {again:?}");
    }

    #[test]
    fn within_a_change_authorize_always_precedes_revoke(groups in arb_groups()) {
        let plan = plan("p", &desired(), &inv(groups), true);
        for change in &plan.actions {
            let calls = change.rule_calls();
            let revoke_at = calls.iter().position(|c| matches!(c, RuleCall::Revoke { .. }));
            let last_authorize = calls.iter().rposition(|c| matches!(c, RuleCall::Authorize { .. }));
            if let (Some(r), Some(a)) = (revoke_at, last_authorize) {
                prop_assert!(a < r);
            }
            prop_assert_eq!(calls.iter().filter(|c| matches!(c, RuleCall::Revoke { .. })).count(), 1);
        }
    }

    #[test]
    fn audit_mode_never_plans_an_action(groups in arb_groups(), delete_keys in any::<bool>(), attach in any::<bool>()) {
        let mut d = desired();
        d.revoke_all_traffic_from_world = true;
        d.key_pairs = if delete_keys { KeyPairPolicy::DeleteUnused } else { KeyPairPolicy::Report };
        d.instance_profile = Some(InstanceProfileDesired { name: "p".into(), attach_when_missing: attach, create: true });
        d.default_host_management_role = Some("r".into());
        let mut inventory = instances_inventory();
        inventory.security_groups = groups;
        let plan = plan("p", &d, &inventory, false);
        prop_assert!(plan.actions.is_empty());
    }

    #[test]
    fn a_used_key_pair_is_never_deleted(names in prop::collection::vec("[a-c]", 0..6), instance_keys in prop::collection::vec("[a-c]", 0..3), lt_keys in prop::collection::vec("[a-c]", 0..3)) {
        let mut d = desired();
        d.key_pairs = KeyPairPolicy::DeleteUnused;
        let inventory = SsmAccessInventory {
            instances: instance_keys.iter().enumerate().map(|(n, k)| Instance { id: format!("i-{n}"), state: "stopped".into(), key_name: Some(k.clone()), ..Default::default() }).collect(),
            key_pairs: names.iter().enumerate().map(|(n, k)| KeyPair { id: format!("key-{n}"), name: k.clone() }).collect(),
            launch_template_key_names: lt_keys.iter().cloned().collect(),
            ..Default::default()
        };
        for change in plan("p", &d, &inventory, true).actions {
            if let SsmAccessChange::DeleteKeyPair { key_name, .. } = change {
                prop_assert!(!instance_keys.contains(&key_name) && !lt_keys.contains(&key_name));
            }
        }
    }
}

fn plan_again(d: &SsmAccessDesired, groups: Vec<SecurityGroup>) -> Vec<SsmAccessChange> {
    plan("p", d, &inv(groups), true).actions
}

#[test]
fn a_same_named_role_this_policy_does_not_own_is_never_used_to_create_the_profile() {
    let mut d = desired();
    d.instance_profile = Some(InstanceProfileDesired { name: "frugal-ssm".into(), attach_when_missing: true, create: true });
    let mut inventory = instances_inventory();
    inventory.configured_role = Some(Tags::from([("team".to_string(), "payments".to_string())]));
    let plan = plan("p", &d, &inventory, true);
    assert!(plan.drift.is_empty(), "no create, no attach: {:?}", plan.drift);
    let conflict = plan.configured_profile_conflict.expect("conflict reported");
    assert!(conflict.contains("role frugal-ssm exists and is not managed by this policy"), "{conflict}");
    assert!(!plan.configured_profile_missing);

    // Another frugal policy's role is not ours either.
    inventory.configured_role = Some(crate::plan::ownership_tags("other"));
    assert!(plan_of(&d, &inventory).is_empty());
    // Our own role (a crash after CreateRole): creation is finished.
    inventory.configured_role = Some(crate::plan::ownership_tags("p"));
    assert_eq!(plan_of(&d, &inventory)[0], SsmAccessChange::CreateInstanceProfile { name: "frugal-ssm".into() });
}

fn plan_of(d: &SsmAccessDesired, inventory: &SsmAccessInventory) -> Vec<SsmAccessChange> {
    plan("p", d, inventory, true).actions
}

#[test]
fn only_instances_ssm_lists_online_are_managed() {
    let mut inventory = instances_inventory();
    inventory.ssm_instances.insert("i-weak".into(), "ConnectionLost".into());
    inventory.ssm_instances.insert("i-stopped".into(), "Inactive".into());
    let plan = plan("p", &desired(), &inventory, true);
    let states: Vec<(&str, InstanceState, Option<&str>)> =
        plan.instances.iter().map(|i| (i.instance_id.as_str(), i.state, i.ping_status.as_deref())).collect();
    assert_eq!(
        states,
        [
            ("i-bare", InstanceState::NoProfile, None),
            ("i-good", InstanceState::Managed, Some("Online")),
            ("i-stopped", InstanceState::NotOnline, Some("Inactive")),
            ("i-weak", InstanceState::NotOnline, Some("ConnectionLost")),
        ]
    );
}
