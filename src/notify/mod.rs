//! Notifications: one message per CostPolicy run that has news, to each Notifier that covers
//! the policy and wants that kind of news.
//!
//! `news` (what a run has to tell, from the status before and after) → `payload` (the body
//! for Slack, Discord or a webhook) → `delivery` (a bounded queue, retries, metrics). The
//! webhook URL is an [`Address`], which never shows itself. The Notifier controller
//! (`controller/notifier.rs`) reads the Secrets and keeps [`Notify`]'s resolved receivers.

pub mod address;
pub mod delivery;
pub mod news;
pub mod payload;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};
use kube::runtime::reflector::Store;

use crate::api::Notifier;
use crate::api::notifier::DeliveryStatus;

pub use address::Address;
pub use delivery::{Message, Outbox, Outcome, RetryPolicy};
pub use news::News;

/// A Notifier whose Secret was read and found usable, for one generation of its spec.
#[derive(Clone, Debug)]
pub struct Receiver {
    pub generation: Option<i64>,
    pub address: Address,
    pub selector: Selector,
}

/// What the policy controller and the Notifier controller share.
pub struct Notify {
    outbox: Outbox,
    /// The Notifiers as the API server has them (the Notifier controller's store).
    notifiers: Store<Notifier>,
    /// Receivers by Notifier uid.
    receivers: Mutex<HashMap<String, Receiver>>,
    /// The last delivery of each Notifier, by name.
    deliveries: Arc<Mutex<HashMap<String, DeliveryStatus>>>,
}

impl Notify {
    /// Starts the delivery task.
    pub fn start(
        client: delivery::HttpClient,
        retry: RetryPolicy,
        metrics: Arc<crate::metrics::Metrics>,
        notifiers: Store<Notifier>,
    ) -> Self {
        let deliveries: Arc<Mutex<HashMap<String, DeliveryStatus>>> = Arc::default();
        let record = deliveries.clone();
        let on_done: delivery::OnDone = Arc::new(move |message: &Message, outcome: Outcome, failure: Option<&delivery::Failure>| {
            let status = DeliveryStatus {
                time: jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string(),
                outcome: outcome.status().to_string(),
                policy: message.policy.clone(),
                message: failure.map(ToString::to_string),
            };
            record.lock().unwrap_or_else(PoisonError::into_inner).insert(message.notifier.clone(), status);
        });
        let outbox = Outbox::start(client, retry, metrics, on_done);
        Self { outbox, notifiers, receivers: Mutex::default(), deliveries }
    }

    /// Keeps (or, with None, forgets) the receiver of the Notifier of this uid.
    pub fn set_receiver(&self, uid: &str, receiver: Option<Receiver>) {
        let mut receivers = self.receivers.lock().unwrap_or_else(PoisonError::into_inner);
        match receiver {
            Some(receiver) => receivers.insert(uid.to_string(), receiver),
            None => receivers.remove(uid),
        };
    }

    /// The last delivery of the Notifier of this name, as this process knows it.
    pub fn last_delivery(&self, notifier: &str) -> Option<DeliveryStatus> {
        self.deliveries.lock().unwrap_or_else(PoisonError::into_inner).get(notifier).cloned()
    }

    /// Whether any Notifier would get a message for this news.
    pub fn has_listeners(&self, policy_labels: &BTreeMap<String, String>, news: &News) -> bool {
        let notifiers = self.notifiers.state();
        let receivers = self.receivers.lock().unwrap_or_else(PoisonError::into_inner);
        notifiers.iter().any(|notifier| listens(notifier, &receivers, policy_labels, news).is_some())
    }

    /// Queues one message per Notifier that covers the policy (by its labels) and wants some of
    /// the news. Never waits.
    pub fn send(&self, policy_labels: &BTreeMap<String, String>, news: &News) {
        let notifiers = self.notifiers.state();
        let receivers = self.receivers.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for message in messages(&notifiers, &receivers, policy_labels, news) {
            self.outbox.send(message);
        }
    }
}

/// The messages for a run's news: one per Notifier that listens (see [`listens`]).
pub fn messages(
    notifiers: &[Arc<Notifier>],
    receivers: &HashMap<String, Receiver>,
    policy_labels: &BTreeMap<String, String>,
    news: &News,
) -> Vec<Message> {
    notifiers
        .iter()
        .filter_map(|notifier| {
            let (receiver, news) = listens(notifier, receivers, policy_labels, news)?;
            let body = serde_json::to_vec(&payload::body(notifier.spec.type_, &news)).ok()?;
            Some(Message {
                notifier: notifier.name_any(),
                policy: news.target.policy.clone(),
                address: receiver.address.clone(),
                body: body.into(),
            })
        })
        .collect()
}

/// The receiver and the part of the news for `notifier`, when it is not suspended, has a
/// receiver for its current generation, selects the policy and wants some of the news.
fn listens<'r>(
    notifier: &Notifier,
    receivers: &'r HashMap<String, Receiver>,
    policy_labels: &BTreeMap<String, String>,
    news: &News,
) -> Option<(&'r Receiver, News)> {
    if notifier.spec.suspend || notifier.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let receiver = receivers.get(notifier.metadata.uid.as_deref()?)?;
    if receiver.generation != notifier.metadata.generation || !receiver.selector.matches(policy_labels) {
        return None;
    }
    Some((receiver, news.only(&notifier.spec.events)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::notifier::{NotifierType, NotifyOn, SecretRef};
    use crate::api::{Mode, NotifierSpec};
    use crate::notify::news::{AreaChanges, Money, Target};

    fn notifier(name: &str, type_: NotifierType, events: Vec<NotifyOn>) -> Arc<Notifier> {
        let mut notifier = Notifier::new(
            name,
            NotifierSpec {
                type_,
                secret_ref: SecretRef { namespace: None, name: "hook".into(), key: "address".into() },
                policy_selector: None,
                events,
                suspend: false,
            },
        );
        notifier.metadata.uid = Some(format!("uid-{name}"));
        notifier.metadata.generation = Some(1);
        Arc::new(notifier)
    }

    fn receiver(labels: &[(&'static str, &'static str)]) -> Receiver {
        Receiver {
            generation: Some(1),
            address: Address::parse("https://hooks.example.com/x").expect("url"),
            selector: labels.iter().copied().collect(),
        }
    }

    fn news() -> News {
        News {
            target: Target { policy: "prod".into(), account: "111122223333".into(), region: "eu-west-1".into(), mode: Mode::Enforce },
            changes: vec![AreaChanges { area: "backup".into(), count: 1, items: vec!["created the plan".into()] }],
            new_findings: vec![],
            errors: vec![],
            stalled: None,
            money: Money::default(),
            time: "2026-12-03T03:00:00Z".into(),
        }
    }

    #[test]
    fn one_message_per_notifier_that_selects_the_policy_and_wants_the_news() {
        let notifiers = vec![
            notifier("slack", NotifierType::Slack, NotifyOn::ALL.to_vec()),
            notifier("errors-only", NotifierType::Discord, vec![NotifyOn::Errors]),
            notifier("team-b", NotifierType::Webhook, NotifyOn::ALL.to_vec()),
            notifier("unresolved", NotifierType::Webhook, NotifyOn::ALL.to_vec()),
        ];
        let receivers = HashMap::from([
            ("uid-slack".to_string(), receiver(&[])),
            ("uid-errors-only".to_string(), receiver(&[])),
            ("uid-team-b".to_string(), receiver(&[("team", "b")])),
        ]);
        let labels = BTreeMap::from([("team".to_string(), "a".to_string())]);
        let sent: Vec<String> = messages(&notifiers, &receivers, &labels, &news()).into_iter().map(|m| m.notifier).collect();
        assert_eq!(sent, ["slack"]);
    }

    #[test]
    fn a_suspended_or_changed_notifier_sends_nothing() {
        let mut suspended = (*notifier("slack", NotifierType::Slack, NotifyOn::ALL.to_vec())).clone();
        suspended.spec.suspend = true;
        let receivers = HashMap::from([("uid-slack".to_string(), receiver(&[]))]);
        assert!(messages(&[Arc::new(suspended.clone())], &receivers, &BTreeMap::new(), &news()).is_empty());
        suspended.spec.suspend = false;
        suspended.metadata.generation = Some(2);
        assert!(messages(&[Arc::new(suspended)], &receivers, &BTreeMap::new(), &news()).is_empty(), "its Secret is read again first");
    }
}
