//! CostPolicySet, the pure part: which accounts it covers (`accounts`, read through a trait),
//! which CostPolicies a set generates (`desired`), their names
//! (`naming`) and the set's status from theirs (`status`). No I/O; the controller
//! (`controller/set.rs`) applies and deletes.

pub mod accounts;
pub mod desired;
pub mod naming;
pub mod status;
