//! The `CostPolicy` API: CRD types, defaults, validation and the names
//! (condition types, reasons, tag keys, finalizer) that form the contract.
//! No I/O lives here.

pub mod allowlist;
pub mod area;
pub mod conditions;
mod crd;
pub mod manifest;
pub mod names;
mod policy;
mod policy_set;
mod services;
mod status;
pub mod validate;

pub use area::AreaName;
pub use crd::{crd, crds};
pub use policy::*;
pub use policy_set::*;
pub use services::*;
pub use status::*;
