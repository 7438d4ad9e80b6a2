//! Lean decoding of EC2's largest answers: DescribeSnapshots, DescribeInstances,
//! DescribeSecurityGroups and DescribeSecurityGroupRules.
//!
//! On the large benchmark account the first two are three quarters of the XML the
//! operator reads (10 pages of 1,000 snapshots, 2.7 MB of instances), and the SDK's generic
//! decoder spent about half of an audit's CPU on them: it builds every field of every
//! snapshot and instance, comparing each element's name against every field it knows.
//! A security group's answer carries all its permissions, which the adapter reads from
//! DescribeSecurityGroupRules instead, whose rules the SDK builds member by member, moving a
//! builder of half a kilobyte for each. The decoders here read only the members the adapter
//! converts (`convert_snapshot`, `convert_instance`, `convert_security_group`,
//! `ingress_rule`) and skip every other element whole; `tests.rs` holds what those
//! conversions make of both decodings equal.
//!
//! They are attached per call (`LeanDecode::snapshots()`, `instances()`, `security_groups()`,
//! `security_group_rules()` in `customize()`), never to a client: another read of the same
//! operation gets the SDK's full answer. An answer they cannot read (an error status, markup
//! they do not expect) goes to the SDK's own decoder, so errors and surprises are decoded
//! exactly as before.

use aws_sdk_ec2::operation::describe_instances::{DescribeInstances, DescribeInstancesOutput};
use aws_sdk_ec2::operation::describe_security_group_rules::{DescribeSecurityGroupRules, DescribeSecurityGroupRulesOutput};
use aws_sdk_ec2::operation::describe_security_groups::{DescribeSecurityGroups, DescribeSecurityGroupsOutput};
use aws_sdk_ec2::operation::describe_snapshots::{DescribeSnapshots, DescribeSnapshotsOutput};
use aws_sdk_ec2::types::{
    GroupIdentifier, IamInstanceProfile, Instance, InstanceState, InstanceStateName, ReferencedSecurityGroup, Reservation, SecurityGroup,
    SecurityGroupRule, Snapshot, SnapshotState, Tag,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeTransmitInterceptorContextMut, Error, Output};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_runtime_api::client::ser_de::{DeserializeResponse, SharedResponseDeserializer};
use aws_smithy_types::DateTime;
use aws_smithy_types::config_bag::{ConfigBag, FrozenLayer};
use aws_smithy_types::date_time::Format;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Why a lean decoder gave an answer back to the SDK's decoder.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct LeanError(String);

impl From<quick_xml::Error> for LeanError {
    fn from(e: quick_xml::Error) -> Self {
        Self(e.to_string())
    }
}

type Decode = fn(&[u8]) -> Result<Output, LeanError>;

/// Puts a lean decoder in front of the SDK's for one call.
#[derive(Debug)]
pub(super) struct LeanDecode {
    lean: Lean,
}

impl LeanDecode {
    pub(super) fn snapshots() -> Self {
        Self::new(DescribeSnapshots::new(), |body| describe_snapshots(body).map(Output::erase))
    }

    pub(super) fn instances() -> Self {
        Self::new(DescribeInstances::new(), |body| describe_instances(body).map(Output::erase))
    }

    pub(super) fn security_groups() -> Self {
        Self::new(DescribeSecurityGroups::new(), |body| describe_security_groups(body).map(Output::erase))
    }

    pub(super) fn security_group_rules() -> Self {
        Self::new(DescribeSecurityGroupRules::new(), |body| describe_security_group_rules(body).map(Output::erase))
    }

    /// `operation`'s own runtime plugin holds the SDK's decoder, which the config bag hides
    /// once the lean one is in it: the fallback is taken from there.
    fn new(operation: impl RuntimePlugin, decode: Decode) -> Self {
        Self { lean: Lean { decode, sdk: operation.config() } }
    }
}

impl Intercept for LeanDecode {
    fn name(&self) -> &'static str {
        "LeanDecode"
    }

    // Once per call, before the first attempt: every attempt then finds the lean decoder.
    fn modify_before_retry_loop(
        &self,
        _context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.lean.sdk_decoder().is_some() {
            cfg.interceptor_state().store_put(SharedResponseDeserializer::new(self.lean.clone()));
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
struct Lean {
    decode: Decode,
    /// The operation's runtime-plugin layer, with the SDK's decoder in it.
    sdk: Option<FrozenLayer>,
}

impl Lean {
    fn sdk_decoder(&self) -> Option<&SharedResponseDeserializer> {
        self.sdk.as_ref()?.load::<SharedResponseDeserializer>()
    }
}

impl DeserializeResponse for Lean {
    fn deserialize_nonstreaming_with_config(&self, response: &HttpResponse, cfg: &ConfigBag) -> Result<Output, OrchestratorError<Error>> {
        if response.status().is_success()
            && let Some(body) = response.body().bytes()
        {
            match (self.decode)(body) {
                Ok(output) => return Ok(output),
                Err(e) => tracing::debug!(error = %e, "lean decoding gave up; the SDK decodes the answer"),
            }
        }
        match self.sdk_decoder() {
            Some(sdk) => sdk.deserialize_nonstreaming_with_config(response, cfg),
            // Not reached: the interceptor installs the lean decoder only over an SDK decoder.
            None => Err(OrchestratorError::other("no SDK decoder to fall back to")),
        }
    }
}

/// The `nextToken` and the `<item>`s of the list `list` of a paged answer whose root is
/// `root`; every other member of the answer skipped.
fn page<'a, T>(
    body: &'a [u8],
    root: &str,
    list: &[u8],
    item: fn(&mut Xml<'a>, &Element<'a>) -> Result<T, LeanError>,
) -> Result<(Option<String>, Option<Vec<T>>), LeanError> {
    let (mut next_token, mut items) = (None, None);
    Xml::answer(body, root, |xml, child| {
        match child.name() {
            b"nextToken" => next_token = Some(xml.text(child)?),
            name if name == list => items = Some(xml.items(child, item)?),
            _ => xml.skip(child)?,
        }
        Ok(())
    })?;
    Ok((next_token, items))
}

// Each decoder gathers its members in locals and builds the SDK's value once: the SDK's
// builders are taken and given back by value, and moving one per child element (an
// instance's is 1.8 kB, with some thirty children) was most of the decoding's memory traffic.

/// A DescribeSnapshots answer with what `convert_snapshot` reads of each snapshot.
pub(super) fn describe_snapshots(body: &[u8]) -> Result<DescribeSnapshotsOutput, LeanError> {
    let (next_token, snapshots) = page(body, "DescribeSnapshotsResponse", b"snapshotSet", snapshot)?;
    Ok(DescribeSnapshotsOutput::builder().set_next_token(next_token).set_snapshots(snapshots).build())
}

fn snapshot<'a>(xml: &mut Xml<'a>, item: &Element<'a>) -> Result<Snapshot, LeanError> {
    let (mut id, mut volume, mut size, mut started, mut state, mut description, mut tags) = Default::default();
    xml.children(item, |xml, child| {
        match child.name() {
            b"snapshotId" => id = Some(xml.text(child)?),
            b"volumeId" => volume = Some(xml.text(child)?),
            b"volumeSize" => size = Some(xml.number(child)?),
            b"startTime" => started = Some(xml.time(child)?),
            b"status" => state = Some(SnapshotState::from(xml.text(child)?.as_str())),
            b"description" => description = Some(xml.text(child)?),
            b"tagSet" => tags = Some(xml.items(child, tag)?),
            _ => xml.skip(child)?,
        }
        Ok(())
    })?;
    Ok(Snapshot::builder()
        .set_snapshot_id(id)
        .set_volume_id(volume)
        .set_volume_size(size)
        .set_start_time(started)
        .set_state(state)
        .set_description(description)
        .set_tags(tags)
        .build())
}

/// A DescribeInstances answer with what `convert_instance` reads of each instance.
pub(super) fn describe_instances(body: &[u8]) -> Result<DescribeInstancesOutput, LeanError> {
    let (next_token, reservations) = page(body, "DescribeInstancesResponse", b"reservationSet", reservation)?;
    Ok(DescribeInstancesOutput::builder().set_next_token(next_token).set_reservations(reservations).build())
}

fn reservation<'a>(xml: &mut Xml<'a>, item: &Element<'a>) -> Result<Reservation, LeanError> {
    let mut instances = None;
    xml.children(item, |xml, child| {
        match child.name() {
            b"instancesSet" => instances = Some(xml.items(child, instance)?),
            _ => xml.skip(child)?,
        }
        Ok(())
    })?;
    Ok(Reservation::builder().set_instances(instances).build())
}

fn instance<'a>(xml: &mut Xml<'a>, item: &Element<'a>) -> Result<Instance, LeanError> {
    let (mut id, mut state, mut key_name, mut groups, mut profile, mut tags) = Default::default();
    xml.children(item, |xml, child| {
        match child.name() {
            b"instanceId" => id = Some(xml.text(child)?),
            b"instanceState" => {
                let name = xml.member_text(child, b"name")?.map(|n| InstanceStateName::from(n.as_str()));
                state = Some(InstanceState::builder().set_name(name).build());
            }
            b"keyName" => key_name = Some(xml.text(child)?),
            b"groupSet" => groups = Some(xml.items(child, group)?),
            b"iamInstanceProfile" => {
                profile = Some(IamInstanceProfile::builder().set_arn(xml.member_text(child, b"arn")?).build());
            }
            b"tagSet" => tags = Some(xml.items(child, tag)?),
            _ => xml.skip(child)?,
        }
        Ok(())
    })?;
    Ok(Instance::builder()
        .set_instance_id(id)
        .set_state(state)
        .set_key_name(key_name)
        .set_security_groups(groups)
        .set_iam_instance_profile(profile)
        .set_tags(tags)
        .build())
}

/// A DescribeSecurityGroups answer with what `convert_security_group` reads of each group:
/// its id, name and tags. Each group's permissions are skipped whole: the rules are read
/// from DescribeSecurityGroupRules, which names each rule.
pub(super) fn describe_security_groups(body: &[u8]) -> Result<DescribeSecurityGroupsOutput, LeanError> {
    let (next_token, groups) = page(body, "DescribeSecurityGroupsResponse", b"securityGroupInfo", security_group)?;
    Ok(DescribeSecurityGroupsOutput::builder().set_next_token(next_token).set_security_groups(groups).build())
}

fn security_group<'a>(xml: &mut Xml<'a>, item: &Element<'a>) -> Result<SecurityGroup, LeanError> {
    let (mut id, mut name, mut tags) = Default::default();
    xml.children(item, |xml, child| {
        match child.name() {
            b"groupId" => id = Some(xml.text(child)?),
            b"groupName" => name = Some(xml.text(child)?),
            b"tagSet" => tags = Some(xml.items(child, tag)?),
            _ => xml.skip(child)?,
        }
        Ok(())
    })?;
    Ok(SecurityGroup::builder().set_group_id(id).set_group_name(name).set_tags(tags).build())
}

/// A DescribeSecurityGroupRules answer with what `ingress_rule` reads of each rule: all but
/// its owner, ARN and tags.
pub(super) fn describe_security_group_rules(body: &[u8]) -> Result<DescribeSecurityGroupRulesOutput, LeanError> {
    let (next_token, rules) = page(body, "DescribeSecurityGroupRulesResponse", b"securityGroupRuleSet", security_group_rule)?;
    Ok(DescribeSecurityGroupRulesOutput::builder().set_next_token(next_token).set_security_group_rules(rules).build())
}

fn security_group_rule<'a>(xml: &mut Xml<'a>, item: &Element<'a>) -> Result<SecurityGroupRule, LeanError> {
    let (mut id, mut group, mut egress, mut protocol, mut from, mut to) = Default::default();
    let (mut ipv4, mut ipv6, mut prefix_list, mut referenced, mut description) = Default::default();
    xml.children(item, |xml, child| {
        match child.name() {
            b"securityGroupRuleId" => id = Some(xml.text(child)?),
            b"groupId" => group = Some(xml.text(child)?),
            b"isEgress" => egress = Some(xml.boolean(child)?),
            b"ipProtocol" => protocol = Some(xml.text(child)?),
            b"fromPort" => from = Some(xml.number(child)?),
            b"toPort" => to = Some(xml.number(child)?),
            b"cidrIpv4" => ipv4 = Some(xml.text(child)?),
            b"cidrIpv6" => ipv6 = Some(xml.text(child)?),
            b"prefixListId" => prefix_list = Some(xml.text(child)?),
            b"referencedGroupInfo" => {
                referenced = Some(ReferencedSecurityGroup::builder().set_group_id(xml.member_text(child, b"groupId")?).build());
            }
            b"description" => description = Some(xml.text(child)?),
            _ => xml.skip(child)?,
        }
        Ok(())
    })?;
    Ok(SecurityGroupRule::builder()
        .set_security_group_rule_id(id)
        .set_group_id(group)
        .set_is_egress(egress)
        .set_ip_protocol(protocol)
        .set_from_port(from)
        .set_to_port(to)
        .set_cidr_ipv4(ipv4)
        .set_cidr_ipv6(ipv6)
        .set_prefix_list_id(prefix_list)
        .set_referenced_group_info(referenced)
        .set_description(description)
        .build())
}

fn group<'a>(xml: &mut Xml<'a>, item: &Element<'a>) -> Result<GroupIdentifier, LeanError> {
    Ok(GroupIdentifier::builder().set_group_id(xml.member_text(item, b"groupId")?).build())
}

fn tag<'a>(xml: &mut Xml<'a>, item: &Element<'a>) -> Result<Tag, LeanError> {
    let (mut key, mut value) = (None, None);
    xml.children(item, |xml, child| {
        match child.name() {
            b"key" => key = Some(xml.text(child)?),
            b"value" => value = Some(xml.text(child)?),
            _ => xml.skip(child)?,
        }
        Ok(())
    })?;
    Ok(Tag::builder().set_key(key).set_value(value).build())
}

/// An element whose start tag has been read.
struct Element<'a> {
    start: BytesStart<'a>,
    /// `<name/>`: no content and no end tag to read.
    empty: bool,
}

impl Element<'_> {
    fn name(&self) -> &[u8] {
        self.start.local_name().into_inner().as_bytes()
    }
}

/// A pull reader over one answer; every element is read whole or skipped whole.
struct Xml<'a> {
    reader: Reader<&'a [u8]>,
}

impl<'a> Xml<'a> {
    fn new(body: &'a [u8]) -> Self {
        // quick-xml's reader checks that each end tag closes the element open (its default).
        Self { reader: Reader::from_reader(body) }
    }

    /// The answer in `body`, whose root element must be `root`: `each` child of the root.
    fn answer(body: &'a [u8], root: &str, each: impl FnMut(&mut Self, &Element<'a>) -> Result<(), LeanError>) -> Result<(), LeanError> {
        let mut xml = Self::new(body);
        let root = xml.root(root)?;
        xml.children(&root, each)
    }

    /// The root element, which must be `name`.
    fn root(&mut self, name: &str) -> Result<Element<'a>, LeanError> {
        loop {
            match self.reader.read_event()? {
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.trim_ascii().is_empty() => {}
                Event::Start(start) if start.local_name().into_inner() == name => {
                    return Ok(Element { start, empty: false });
                }
                other => return Err(LeanError(format!("expected <{name}>, found {other:?}"))),
            }
        }
    }

    /// Calls `each` with every child element of `parent`, then reads `parent`'s end tag.
    fn children(
        &mut self,
        parent: &Element<'a>,
        mut each: impl FnMut(&mut Self, &Element<'a>) -> Result<(), LeanError>,
    ) -> Result<(), LeanError> {
        if parent.empty {
            return Ok(());
        }
        loop {
            match self.reader.read_event()? {
                Event::Start(start) => each(self, &Element { start, empty: false })?,
                Event::Empty(start) => each(self, &Element { start, empty: true })?,
                Event::End(_) => return Ok(()),
                Event::Comment(_) | Event::PI(_) => {}
                Event::Text(t) if t.trim_ascii().is_empty() => {}
                other => return Err(LeanError(format!("unexpected {other:?}"))),
            }
        }
    }

    /// The `<item>` children of a list element, each read by `item`; other children skipped.
    fn items<T>(&mut self, list: &Element<'a>, item: fn(&mut Self, &Element<'a>) -> Result<T, LeanError>) -> Result<Vec<T>, LeanError> {
        let mut items = Vec::new();
        self.children(list, |xml, child| {
            if child.name() == b"item" {
                items.push(item(xml, child)?)
            } else {
                xml.skip(child)?
            }
            Ok(())
        })?;
        Ok(items)
    }

    /// The text of `element`'s child `name`, the one member read of it; other children skipped.
    fn member_text(&mut self, element: &Element<'a>, name: &[u8]) -> Result<Option<String>, LeanError> {
        let mut text = None;
        self.children(element, |xml, child| {
            if child.name() == name {
                text = Some(xml.text(child)?);
            } else {
                xml.skip(child)?;
            }
            Ok(())
        })?;
        Ok(text)
    }

    /// The text of a leaf element, unescaped.
    fn text(&mut self, element: &Element<'a>) -> Result<String, LeanError> {
        if element.empty {
            return Ok(String::new());
        }
        let raw = self.reader.read_text(element.start.name())?;
        let raw: &str = &raw;
        // Markup inside a leaf (a CDATA section, a nested element) is the SDK's to read.
        if raw.contains('<') {
            return Err(LeanError(format!("markup in <{}>", String::from_utf8_lossy(element.name()))));
        }
        Ok(quick_xml::escape::unescape(raw).map_err(|e| LeanError(e.to_string()))?.into_owned())
    }

    fn number(&mut self, element: &Element<'a>) -> Result<i32, LeanError> {
        let text = self.text(element)?;
        text.parse().map_err(|_| LeanError(format!("<{}> is not a number: {text:?}", String::from_utf8_lossy(element.name()))))
    }

    /// `true` or `false`, as the SDK reads a boolean.
    fn boolean(&mut self, element: &Element<'a>) -> Result<bool, LeanError> {
        match self.text(element)?.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(LeanError(format!("<{}> is not a boolean: {other:?}", String::from_utf8_lossy(element.name())))),
        }
    }

    /// A timestamp as EC2 writes them (RFC 3339 with an offset), parsed as the SDK does.
    fn time(&mut self, element: &Element<'a>) -> Result<DateTime, LeanError> {
        let text = self.text(element)?;
        DateTime::from_str(&text, Format::DateTimeWithOffset)
            .map_err(|e| LeanError(format!("<{}> {text:?}: {e}", String::from_utf8_lossy(element.name()))))
    }

    fn skip(&mut self, element: &Element<'a>) -> Result<(), LeanError> {
        if !element.empty {
            self.reader.read_to_end(element.start.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
