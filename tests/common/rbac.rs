//! deploy/'s RBAC held against what the operator really asked a real API server: the
//! requests of the API server's audit log (tests/api_server/launcher.py audits the
//! operator's user), each as the server classified it (verb, API group, resource,
//! subresource, namespace, name), must be allowed by the ClusterRole (cluster-wide, through
//! the ClusterRoleBinding) or the Role (in the operator's namespace, through the
//! RoleBinding), matched by Kubernetes' RBAC rules. tests/deploy.rs checks the bindings.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

/// One request as the API server's audit log records it.
#[derive(Clone, Debug, Eq, Ord, PartialEq, PartialOrd)]
pub struct Request {
    pub verb: String,
    pub group: String,
    /// `resource` or `resource/subresource`; empty for a non-resource URL.
    pub resource: String,
    pub namespace: String,
    pub name: String,
    /// The path, for non-resource URLs (discovery) and messages.
    pub path: String,
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.resource.is_empty() {
            return write!(f, "{} {}", self.verb, self.path);
        }
        write!(f, "{} {}/{}", self.verb, self.group, self.resource)?;
        if !self.namespace.is_empty() {
            write!(f, " in {}", self.namespace)?;
        }
        if !self.name.is_empty() {
            write!(f, " named {}", self.name)?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditEvent {
    verb: String,
    #[serde(rename = "requestURI")]
    request_uri: String,
    object_ref: Option<ObjectRef>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ObjectRef {
    #[serde(default)]
    api_group: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    subresource: String,
    #[serde(default)]
    namespace: String,
    #[serde(default)]
    name: String,
}

/// The distinct requests of the audit log at `path` (only the operator's user is audited).
pub fn audited_requests(path: &Path) -> BTreeSet<Request> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read the audit log {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let event: AuditEvent = serde_json::from_str(line).unwrap_or_else(|e| panic!("an audit event: {e}\n{line}"));
            let object = event.object_ref.unwrap_or_default();
            let resource = match (object.resource.as_str(), object.subresource.as_str()) {
                (resource, "") => resource.to_string(),
                (resource, subresource) => format!("{resource}/{subresource}"),
            };
            let path = event.request_uri.split('?').next().unwrap_or_default().to_string();
            Request { verb: event.verb, group: object.api_group, resource, namespace: object.namespace, name: object.name, path }
        })
        .collect()
}

/// One rule of a Role or ClusterRole.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PolicyRule {
    #[serde(default)]
    api_groups: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    resource_names: Vec<String>,
    verbs: Vec<String>,
}

impl PolicyRule {
    /// Kubernetes' `RuleAllows` for a resource request.
    fn allows(&self, request: &Request) -> bool {
        let any_or = |values: &[String], wanted: &str| values.iter().any(|v| v == "*" || v == wanted);
        let subresource = request.resource.split_once('/').map(|(_, sub)| sub);
        any_or(&self.verbs, &request.verb)
            && any_or(&self.api_groups, &request.group)
            && self.resources.iter().any(|r| r == "*" || *r == request.resource || subresource.is_some_and(|s| *r == format!("*/{s}")))
            // A create is authorized before its object has a name: a rule limited to
            // resourceNames never allows it.
            && (self.resource_names.is_empty() || (request.verb != "create" && self.resource_names.contains(&request.name)))
    }
}

/// A file of deploy/, parsed (panics naming the file).
pub fn deploy_yaml<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let path = super::repo_root().join("deploy").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Paths every authenticated user may GET in a cluster (the system:discovery and
/// system:public-info-viewer ClusterRoles), so they need no grant of deploy/.
const DISCOVERY: [&str; 6] = ["/api", "/apis", "/healthz", "/livez", "/readyz", "/version"];

/// What deploy/ grants the operator: the ClusterRole's rules everywhere, the Roles' (the
/// Lease's, the Notifier Secrets') in deploy/'s namespace (tests/deploy.rs checks the bindings that make it so).
pub struct DeployRbac {
    /// The namespace kustomize puts the operator, its Role and its Lease in.
    pub namespace: String,
    cluster_rules: Vec<PolicyRule>,
    namespace_rules: Vec<PolicyRule>,
}

impl DeployRbac {
    pub fn load() -> Self {
        #[derive(Deserialize)]
        struct Role {
            rules: Vec<PolicyRule>,
        }
        #[derive(Deserialize)]
        struct Kustomization {
            namespace: String,
        }
        Self {
            namespace: deploy_yaml::<Kustomization>("kustomization.yaml").namespace,
            cluster_rules: deploy_yaml::<Role>("clusterrole.yaml").rules,
            namespace_rules: ["role.yaml", "notifier-secret-role.yaml"]
                .into_iter()
                .flat_map(|file| deploy_yaml::<Role>(file).rules)
                .collect(),
        }
    }

    /// The one Lease the Role lets the operator update (the rule's resourceNames), which
    /// tests/deploy.rs checks is the operator's default lease name.
    pub fn lease_name(&self) -> String {
        self.namespace_rules
            .iter()
            .find(|rule| rule.resources.iter().any(|r| r == "leases") && rule.verbs.iter().any(|v| v == "update"))
            .and_then(|rule| rule.resource_names.first().cloned())
            .expect("deploy/role.yaml names the Lease the operator may update")
    }

    /// Whether deploy/'s roles let the operator make `request`.
    pub fn allows(&self, request: &Request) -> bool {
        if request.resource.is_empty() {
            return request.verb == "get" && DISCOVERY.iter().any(|p| request.path == *p || request.path.starts_with(&format!("{p}/")));
        }
        self.cluster_rules.iter().any(|rule| rule.allows(request))
            || (request.namespace == self.namespace && self.namespace_rules.iter().any(|rule| rule.allows(request)))
    }
}

/// Every request the operator made so far on the API server whose audit log is `audit_log`
/// is allowed by deploy/'s RBAC, and among them is each of `expected` (`verb
/// group/resource`, as [`Request`] prints it without namespace and name), so the check is
/// never vacuous.
pub fn check_operator_requests(audit_log: &Path, expected: &[&str]) {
    let requests = audited_requests(audit_log);
    let deploy = DeployRbac::load();
    let denied: Vec<String> = requests.iter().filter(|r| !deploy.allows(r)).map(Request::to_string).collect();
    assert!(denied.is_empty(), "deploy/'s RBAC does not allow requests the operator made:\n{}", denied.join("\n"));
    let made: BTreeSet<String> = requests.iter().map(|r| format!("{} {}/{}", r.verb, r.group, r.resource)).collect();
    for wanted in expected {
        assert!(made.contains(*wanted), "the operator never made {wanted}; it made: {made:#?}");
    }
}
