//! Writes status on the status subresource, only to the object it was computed for (a
//! CostPolicy or a CostPolicySet).

use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::api::names::FIELD_MANAGER;

/// Why a status was not written.
#[derive(Debug, thiserror::Error)]
pub enum StatusWriteError {
    /// The policy was deleted and created again under the same name while this reconcile
    /// ran: the status describes the old one.
    #[error("{kind} {name} with uid {old_uid} is gone (deleted, or replaced by a new object of the same name)")]
    Replaced { kind: String, name: String, old_uid: String },
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

impl StatusWriteError {
    /// The policy no longer exists (deleted, or replaced under its name): nothing is left to
    /// tell about it.
    pub fn policy_is_gone(&self) -> bool {
        match self {
            StatusWriteError::Replaced { .. } => true,
            StatusWriteError::Kube(kube::Error::Api(status)) => status.is_not_found(),
            StatusWriteError::Kube(_) => false,
        }
    }
}

/// A JSON patch that sets `/status` to `status`, its first operation testing the object's uid.
pub fn uid_guarded(uid: Option<&str>, status: &impl serde::Serialize) -> Result<Patch<()>, kube::Error> {
    let mut operations = Vec::with_capacity(2);
    if let Some(uid) = uid {
        operations.push(json!({ "op": "test", "path": "/metadata/uid", "value": uid }));
    }
    // `add` sets the member whether or not the object has a status yet.
    operations.push(json!({ "op": "add", "path": "/status", "value": status }));
    Ok(Patch::<()>::Json(serde_json::from_value(json!(operations)).map_err(kube::Error::SerdeError)?))
}

/// The operator's field manager.
pub fn status_params() -> PatchParams {
    PatchParams { field_manager: Some(FIELD_MANAGER.to_string()), ..PatchParams::default() }
}

/// Replaces the status of `policy` with `status`, as a JSON patch whose first operation
/// tests `metadata.uid`: a policy replaced under the same name makes the API server refuse
/// the patch (422), so the new object never gets the old one's status. Server-side apply
/// cannot guard this: on a custom resource's status subresource the server takes metadata
/// from the stored object, so a uid in the applied body is ignored (seen on the API server
/// of tests/api_server.rs).
pub async fn write<K>(api: &Api<K>, policy: &K, status: &impl serde::Serialize) -> Result<(), StatusWriteError>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let name = policy.name_any();
    let patch = uid_guarded(policy.meta().uid.as_deref(), status)?;
    match api.patch_status(&name, &status_params(), &patch).await {
        Ok(_) => Ok(()),
        // A failed `test` is a 422 like any invalid patch: the uid now under that name tells
        // them apart (an object from the API server always has a uid).
        Err(kube::Error::Api(refusal)) if refusal.code == 422 => {
            let Some(old_uid) = policy.meta().uid.clone() else { return Err(kube::Error::Api(refusal).into()) };
            let stored_uid = api.get_opt(&name).await?.and_then(|stored| stored.meta().uid.clone());
            if stored_uid.as_ref() == Some(&old_uid) {
                Err(kube::Error::Api(refusal).into())
            } else {
                Err(StatusWriteError::Replaced { kind: K::kind(&()).to_string(), name, old_uid })
            }
        }
        Err(error) => Err(error.into()),
    }
}

/// Writes `new` only when it differs from `current`, the status the object has: a reconcile
/// that changes nothing makes no write.
pub async fn write_if_changed<K, S>(api: &Api<K>, object: &K, current: Option<&S>, new: &S) -> Result<(), StatusWriteError>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    S: PartialEq + serde::Serialize,
{
    if current == Some(new) {
        return Ok(());
    }
    write(api, object, new).await
}
