//! CostPolicySet, the pure part: which CostPolicies a set generates (`desired`), their names
//! (`naming`) and the set's status from theirs (`status`). No I/O; the controller
//! (`controller/set.rs`) applies and deletes.

pub mod desired;
pub mod naming;
pub mod status;
