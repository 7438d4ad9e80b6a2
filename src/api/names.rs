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

/// Field manager of the CostPolicies a CostPolicySet generates (server-side apply), apart
/// from the status writer's so each owns only its own fields.
pub const SET_FIELD_MANAGER: &str = "frugal-operator-set";
/// Label on a generated CostPolicy naming its CostPolicySet (hashed when over 63 characters).
pub const LABEL_SET: &str = "frugal.dev/set";
/// Label on a generated CostPolicy naming its AWS account.
pub const LABEL_ACCOUNT: &str = "frugal.dev/account";
/// Label on a generated CostPolicy naming its region.
pub const LABEL_REGION: &str = "frugal.dev/region";
