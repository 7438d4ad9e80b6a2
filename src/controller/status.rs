//! Writes status with server-side apply on the status subresource.

use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::api::names::FIELD_MANAGER;
use crate::api::{CostPolicy, CostPolicyStatus};

/// Applies `status` as the whole status owned by the operator's field manager.
pub async fn write(api: &Api<CostPolicy>, name: &str, status: &CostPolicyStatus) -> Result<(), kube::Error> {
    let patch = json!({
        "apiVersion": "frugal.dev/v1alpha1",
        "kind": "CostPolicy",
        "status": status,
    });
    api.patch_status(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
    Ok(())
}
