//! The pure planning step: (desired, observed, now) → changes and a summary.
//! Every safety rule of DESIGN.md lives here. Nothing in this module performs I/O or
//! knows about Kubernetes, the AWS SDK or an async runtime.

pub mod access_keys;
pub mod backup;
pub mod cloud_watch;
pub mod conflicts;
pub mod gateway_endpoints;
pub mod right_sizing;
pub mod snapshot_retention;
pub mod ssm_access;
pub mod token;

use std::collections::BTreeMap;

use crate::api::names::{MANAGED_BY_VALUE, TAG_MANAGED_BY, TAG_POLICY};

/// AWS tags as a sorted map.
pub type Tags = BTreeMap<String, String>;

/// The tags every object created for `policy` carries.
pub fn ownership_tags(policy: &str) -> Tags {
    Tags::from([(TAG_MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()), (TAG_POLICY.to_string(), policy.to_string())])
}

/// True when `tags` say the object was created for `policy`.
pub fn is_owned_by(tags: &Tags, policy: &str) -> bool {
    tags.get(TAG_MANAGED_BY).map(String::as_str) == Some(MANAGED_BY_VALUE) && tags.get(TAG_POLICY).map(String::as_str) == Some(policy)
}
