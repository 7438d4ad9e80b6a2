//! The `Notifier` kind: where a run's news goes (Slack, Discord or any webhook), for which
//! policies and which kinds of news. Flux's Provider and Alert in one object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Sends one message per CostPolicy run that changed something or found something new.
// The derive repeats `type_` once per printer column, which the lint mistakes for a duplicate.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "frugal.dev",
    version = "v1alpha1",
    kind = "Notifier",
    plural = "notifiers",
    category = "frugal",
    status = "NotifierStatus",
    doc = "Notifier sends one message per CostPolicy run that changed something or found something new, to Slack, Discord or a webhook.",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(
        name = "Delivered",
        type_ = "string",
        json_path = ".status.lastDelivery.outcome",
        description = "Outcome of the last message"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct NotifierSpec {
    /// The receiver: slack (an incoming webhook), discord (a channel webhook) or webhook (any
    /// HTTP endpoint, which gets frugal's JSON body, see docs/RUNBOOK.md).
    #[serde(rename = "type")]
    pub type_: NotifierType,

    /// The Secret that holds the webhook URL. The URL is a secret: it is never logged, nor
    /// written to a status or an Event.
    pub secret_ref: SecretRef,

    /// Which CostPolicies this notifier reports on, by their labels. Absent or empty: every
    /// policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_selector: Option<LabelSelector>,

    /// Which news is sent: Changes (the operator changed AWS), NewFindings (an area found more
    /// than in the run before), Errors (a new or different failure), Stalled (the policy
    /// cannot be acted on). Default: all four.
    #[serde(default = "NotifyOn::all")]
    #[schemars(length(min = 1))]
    pub events: Vec<NotifyOn>,

    /// True: nothing is sent (the Secret is still checked). Default: false.
    #[serde(default)]
    pub suspend: bool,
}

/// The kind of receiver, which decides the message's shape.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotifierType {
    /// A Slack incoming webhook (https://hooks.slack.com/services/...).
    Slack,
    /// A Discord channel webhook (https://discord.com/api/webhooks/...).
    Discord,
    /// Any HTTP(S) endpoint; it receives frugal's documented JSON body.
    Webhook,
}

impl NotifierType {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifierType::Slack => "slack",
            NotifierType::Discord => "discord",
            NotifierType::Webhook => "webhook",
        }
    }
}

/// A kind of news a run can have.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub enum NotifyOn {
    /// The operator changed something in AWS.
    Changes,
    /// An area has more open findings than in the run before.
    NewFindings,
    /// A failure that the run before did not have (or with another message).
    Errors,
    /// The policy became Stalled (invalid spec, role not allowed).
    Stalled,
}

impl NotifyOn {
    pub const ALL: [NotifyOn; 4] = [NotifyOn::Changes, NotifyOn::NewFindings, NotifyOn::Errors, NotifyOn::Stalled];

    fn all() -> Vec<NotifyOn> {
        Self::ALL.to_vec()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyOn::Changes => "Changes",
            NotifyOn::NewFindings => "NewFindings",
            NotifyOn::Errors => "Errors",
            NotifyOn::Stalled => "Stalled",
        }
    }
}

/// A key of a Secret in the operator's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretRef {
    /// The Secret's namespace. The operator reads Secrets of its own namespace only (its Role
    /// grants nothing else): another namespace is refused with Ready=False. Default: the
    /// operator's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,

    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,

    /// The key whose value is the webhook URL. Default: address.
    #[serde(default = "default_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// The key Flux's Providers use for the same thing.
pub const DEFAULT_SECRET_KEY: &str = "address";

fn default_key() -> String {
    DEFAULT_SECRET_KEY.to_string()
}

/// What the operator knows about a notifier.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotifierStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready: True when the Secret holds a usable URL; False with a reason and a message that
    /// names the field at fault (spec.secretRef.name, spec.secretRef.key, ...).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The last message this notifier sent, as this operator process knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivery: Option<DeliveryStatus>,
}

/// One message's fate.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStatus {
    /// When the delivery ended (RFC 3339).
    pub time: String,
    /// Delivered, Failed (the receiver refused it, or kept failing until the retry bound) or
    /// Dropped (the queue was full).
    pub outcome: String,
    /// The CostPolicy whose run it described.
    pub policy: String,
    /// Why it failed (an HTTP status or a connection error class; never the URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Reasons of a Notifier's conditions.
pub mod reason {
    /// The Secret holds a usable URL.
    pub const READY: &str = "Ready";
    /// The Secret does not exist.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// The Secret has no such key (or it is empty).
    pub const SECRET_KEY_MISSING: &str = "SecretKeyMissing";
    /// The value is not an http(s) URL.
    pub const INVALID_ADDRESS: &str = "InvalidAddress";
    /// The Secret is not in the operator's namespace.
    pub const SECRET_NAMESPACE_NOT_ALLOWED: &str = "SecretNamespaceNotAllowed";
    /// spec.policySelector is not a valid label selector.
    pub const INVALID_SELECTOR: &str = "InvalidSelector";
    /// The Secret could not be read (the API server failed or refused).
    pub const SECRET_UNREADABLE: &str = "SecretUnreadable";
    /// spec.suspend is true.
    pub const SUSPENDED: &str = "Suspended";
}
