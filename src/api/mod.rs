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
mod services;
mod status;
pub mod validate;

pub use area::AreaName;
pub use crd::{crd, notifier_crd};
pub use notifier::{Notifier, NotifierSpec, NotifierStatus};
pub use policy::*;
pub use services::*;
pub use status::*;
