//! The `CostPolicy` and `Notifier` API: CRD types, defaults, validation and the names
//! (condition types, reasons, tag keys, finalizer) that form the contract.
//! No I/O lives here.

pub mod allowlist;
pub mod area;
pub mod conditions;
mod crd;
pub mod manifest;
pub mod names;
pub mod notifier;
mod policy;
mod policy_set;
mod services;
mod status;
pub mod validate;

pub use area::AreaName;
pub use crd::{crd, crds, notifier_crd, policy_set_crd};
pub use notifier::{Notifier, NotifierSpec, NotifierStatus};
pub use policy::*;
pub use policy_set::*;
pub use services::*;
pub use status::*;
