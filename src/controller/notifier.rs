//! The Notifier controller: `check` (the Secret's namespace, the selector) → `read` (the
//! Secret, a `get` in the operator's namespace) → `resolve` (the key's value as an
//! [`Address`]) → the receiver kept in [`Notify`] → `Ready` written to the Notifier's status.
//!
//! Secrets are not watched (that would need list and watch on every Secret of the namespace):
//! each Notifier is checked again every [`RECHECK`], so a rotated or fixed Secret is seen
//! within that time. A problem is a `Ready=False` condition whose message names the field;
//! the URL never appears in it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::core::Selector;
use kube::runtime::controller::Action;
use kube::{Api, Client, ResourceExt};

use crate::api::conditions::{self, ConditionUpdate};
use crate::api::notifier::{NotifierSpec, reason};
use crate::api::{Notifier, NotifierStatus};
use crate::notify::{Address, Notify, Receiver};

/// How often a Notifier's Secret is read again.
pub const RECHECK: Duration = Duration::from_secs(60);

/// What the Notifier controller's reconciles share.
pub struct NotifierContext {
    pub client: Client,
    pub notify: Arc<Notify>,
    /// The only namespace whose Secrets are read (the operator's, where its Role grants `get`).
    pub secret_namespace: String,
}

/// Why a Notifier cannot send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(reason: &'static str, message: String) -> Self {
        Self { reason, message }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// The Secret's namespace and name, and the selector, or why they are refused.
pub fn check(spec: &NotifierSpec, secret_namespace: &str) -> Result<(String, Selector), Refusal> {
    let reference = &spec.secret_ref;
    if let Some(namespace) = reference.namespace.as_deref().filter(|n| *n != secret_namespace) {
        return Err(Refusal::new(
            reason::SECRET_NAMESPACE_NOT_ALLOWED,
            format!(
                "spec.secretRef.namespace: the operator reads Secrets in its own namespace {secret_namespace} only, not in {namespace}"
            ),
        ));
    }
    let selector = match spec.policy_selector.clone() {
        None => Selector::default(),
        Some(selector) => Selector::try_from(selector)
            .map_err(|e| Refusal::new(reason::INVALID_SELECTOR, format!("spec.policySelector is not a valid label selector: {e}")))?,
    };
    Ok((secret_namespace.to_string(), selector))
}

/// The URL under the key of the Secret (None: there is no such Secret), or why there is none.
/// Messages name the field and the Secret, never the value.
pub fn resolve(spec: &NotifierSpec, namespace: &str, secret: Option<&Secret>) -> Result<Address, Refusal> {
    let reference = &spec.secret_ref;
    let (name, key) = (&reference.name, &reference.key);
    let Some(secret) = secret else {
        return Err(Refusal::new(reason::SECRET_NOT_FOUND, format!("spec.secretRef.name: Secret {namespace}/{name} not found")));
    };
    let value = secret.data.as_ref().and_then(|data| data.get(key)).map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned());
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return Err(Refusal::new(
            reason::SECRET_KEY_MISSING,
            format!("spec.secretRef.key: Secret {namespace}/{name} has no key {key:?} (or it is empty)"),
        ));
    };
    Address::parse(&value).map_err(|e| {
        Refusal::new(reason::INVALID_ADDRESS, format!("spec.secretRef.key: the value of {key:?} in Secret {namespace}/{name} {e}"))
    })
}

/// Reads the Secret, keeps the receiver (or forgets it), writes status; checks again later.
pub async fn reconcile(notifier: Arc<Notifier>, ctx: Arc<NotifierContext>) -> Result<Action, NotifierError> {
    let name = notifier.name_any();
    let uid = notifier.metadata.uid.clone().unwrap_or_default();
    let resolved = match check(&notifier.spec, &ctx.secret_namespace) {
        Err(refusal) => Err(refusal),
        Ok((namespace, selector)) => {
            let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
            match secrets.get_opt(&notifier.spec.secret_ref.name).await {
                // The API server's message says what failed (forbidden, unavailable), not the data.
                Err(error) => Err(Refusal::new(
                    reason::SECRET_UNREADABLE,
                    format!("spec.secretRef.name: cannot read Secret {namespace}/{}: {error}", notifier.spec.secret_ref.name),
                )),
                Ok(secret) => resolve(&notifier.spec, &namespace, secret.as_ref()).map(|address| Receiver {
                    generation: notifier.metadata.generation,
                    address,
                    selector,
                }),
            }
        }
    };
    let condition = match &resolved {
        Ok(_) if notifier.spec.suspend => {
            ConditionUpdate::new(conditions::READY, true, reason::SUSPENDED, "spec.suspend is true: nothing is sent")
        }
        Ok(_) => ConditionUpdate::new(conditions::READY, true, reason::READY, "the Secret holds a usable URL"),
        Err(refusal) => ConditionUpdate::new(conditions::READY, false, refusal.reason, refusal.message.clone()),
    };
    if let Err(refusal) = &resolved {
        tracing::info!(notifier = %name, reason = refusal.reason, message = %refusal.message, "notifier not ready");
    }
    ctx.notify.set_receiver(&uid, resolved.ok());

    let previous = notifier.status.clone().unwrap_or_default();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let status = NotifierStatus {
        observed_generation: notifier.metadata.generation,
        conditions: conditions::merge(&previous.conditions, vec![condition], notifier.metadata.generation, &now),
        last_delivery: ctx.notify.last_delivery(&name).or(previous.last_delivery.clone()),
    };
    if status != previous {
        write_status(&ctx.client, &notifier, &status).await?;
    }
    Ok(Action::requeue(RECHECK))
}

/// A JSON patch of the status subresource, guarded by the Notifier's uid.
async fn write_status(client: &Client, notifier: &Notifier, status: &NotifierStatus) -> Result<(), kube::Error> {
    let api: Api<Notifier> = Api::all(client.clone());
    let patch = super::status::uid_guarded(notifier.metadata.uid.as_deref(), status)?;
    api.patch_status(&notifier.name_any(), &super::status::status_params(), &patch).await.map(drop)
}

pub fn error_policy(notifier: Arc<Notifier>, error: &NotifierError, _ctx: Arc<NotifierContext>) -> Action {
    tracing::warn!(notifier = %notifier.name_any(), %error, "notifier status not written; retrying");
    Action::requeue(Duration::from_secs(15))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;

    use super::*;
    use crate::api::notifier::{NotifierType, NotifyOn, SecretRef};

    const URL: &str = "https://hooks.slack.com/services/T0/B0/secret-token";

    fn spec(namespace: Option<&str>, key: &str) -> NotifierSpec {
        NotifierSpec {
            type_: NotifierType::Slack,
            secret_ref: SecretRef { namespace: namespace.map(str::to_string), name: "slack".into(), key: key.into() },
            policy_selector: None,
            events: NotifyOn::ALL.to_vec(),
            suspend: false,
        }
    }

    fn secret(key: &str, value: &str) -> Secret {
        Secret { data: Some(BTreeMap::from([(key.to_string(), ByteString(value.as_bytes().to_vec()))])), ..Secret::default() }
    }

    #[test]
    fn a_secret_in_another_namespace_is_refused_naming_the_field() {
        let refusal = check(&spec(Some("team-a"), "address"), "frugal-system").expect_err("refused");
        assert_eq!(refusal.reason, reason::SECRET_NAMESPACE_NOT_ALLOWED);
        assert!(refusal.message.starts_with("spec.secretRef.namespace:"), "{}", refusal.message);
        assert!(check(&spec(Some("frugal-system"), "address"), "frugal-system").is_ok());
        assert!(check(&spec(None, "address"), "frugal-system").is_ok());
    }

    #[test]
    fn a_missing_secret_key_or_bad_url_names_the_field_and_never_the_value() {
        let spec = spec(None, "address");
        let missing = resolve(&spec, "frugal-system", None).expect_err("no Secret");
        assert_eq!(
            (missing.reason, missing.message.as_str()),
            (reason::SECRET_NOT_FOUND, "spec.secretRef.name: Secret frugal-system/slack not found")
        );
        let no_key = resolve(&spec, "frugal-system", Some(&secret("url", URL))).expect_err("no key");
        assert_eq!(no_key.reason, reason::SECRET_KEY_MISSING);
        assert!(no_key.message.starts_with("spec.secretRef.key:") && no_key.message.contains("\"address\""), "{}", no_key.message);
        let bad = resolve(&spec, "frugal-system", Some(&secret("address", "ftp://hooks.slack.com/services/T0/B0/secret-token")))
            .expect_err("bad");
        assert_eq!(bad.reason, reason::INVALID_ADDRESS);
        assert!(bad.message.starts_with("spec.secretRef.key:") && !bad.message.contains("secret-token"), "{}", bad.message);
        let address = resolve(&spec, "frugal-system", Some(&secret("address", &format!("{URL}\n")))).expect("usable");
        assert!(!format!("{address:?}").contains("secret-token"));
    }

    #[test]
    fn an_invalid_selector_is_refused_naming_the_field() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
        let mut spec = spec(None, "address");
        spec.policy_selector = Some(LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement { key: "team".into(), operator: "Near".into(), values: None }]),
            match_labels: None,
        });
        let refusal = check(&spec, "frugal-system").expect_err("refused");
        assert_eq!(refusal.reason, reason::INVALID_SELECTOR);
        assert!(refusal.message.starts_with("spec.policySelector"), "{}", refusal.message);
    }
}
