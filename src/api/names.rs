//! Names shared with users, AWS and Kubernetes: changing one is a breaking change.

/// API group of every frugal resource.
pub const GROUP: &str = "frugal.dev";
/// Finalizer that holds a policy until its AWS objects are retained or removed.
pub const FINALIZER: &str = "frugal.dev/cleanup";
/// Field manager of the operator's writes (status, Lease): `kubectl get --show-managed-fields` names it.
pub const FIELD_MANAGER: &str = "frugal-operator";
/// Name the controller reports Events under.
pub const CONTROLLER_NAME: &str = "frugal-operator";

/// Tag on every AWS object the operator creates.
pub const TAG_MANAGED_BY: &str = "frugal.dev/managed-by";
/// Value of [`TAG_MANAGED_BY`].
pub const MANAGED_BY_VALUE: &str = "frugal";
/// Tag naming the policy that created an AWS object.
pub const TAG_POLICY: &str = "frugal.dev/policy";
/// Tag on a snapshot that is expired and will be deleted after this time (RFC 3339).
pub const TAG_EXPIRES_AT: &str = "frugal.dev/expires-at";
