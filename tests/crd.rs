//! The committed CRD and the examples stay true to the Rust types.

use std::path::Path;

use frugal_operator::api::manifest;
use frugal_operator::api::validate::{SetAccounts, validate, validate_set};
use frugal_operator::api::{CostPolicy, CostPolicySet, Notifier};
use frugal_operator::set::desired::desired;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// crds/<singular>.yaml of a CRD.
fn committed(crd: &CustomResourceDefinition) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("crds/{}.yaml", crd.spec.names.singular.as_deref().expect("a singular name")));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn committed_crds_match_frugal_crd_output() {
    for crd in frugal_operator::api::crds() {
        let generated = serde_yaml::to_string(&crd).expect("CRD renders");
        assert!(generated == committed(&crd), "crds/ is stale for {}: run `make crd` and commit the result", crd.spec.names.kind);
    }
}

#[test]
fn crd_binary_prints_every_committed_crd() {
    let frugal = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_frugal")).args(args).output().expect("run frugal crd");
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let committed: Vec<String> = frugal_operator::api::crds().iter().map(committed).collect();
    assert_eq!(frugal(&["crd"]), committed.join("---\n"));
    let kinds: Vec<String> = frugal_operator::api::crds().into_iter().map(|c| c.spec.names.kind).collect();
    assert_eq!(kinds, ["CostPolicy", "Notifier", "CostPolicySet"]);
    for (kind, text) in ["costpolicy", "notifier", "costpolicyset"].into_iter().zip(&committed) {
        assert_eq!(&frugal(&["crd", kind]), text, "frugal crd {kind}");
    }
}

#[test]
fn every_example_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let (mut policies, mut sets, mut notifiers) = (0, 0, 0);
    for entry in std::fs::read_dir(&dir).expect("examples/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        if text.lines().any(|l| l.trim() == "kind: Notifier") {
            notifiers += manifest::read::<Notifier>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())).len();
            continue;
        }
        // Read as `frugal plan -f` reads them: strictly, every field known to the schema.
        if text.lines().any(|l| l == "kind: CostPolicySet") {
            for manifest in manifest::read::<CostPolicySet>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
                let name = manifest.object.metadata.name.clone().unwrap_or_else(|| panic!("{}: metadata.name missing", path.display()));
                let set = manifest.check(validate_set(&name, &manifest.object.spec)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                // Every policy the set generates is a valid CostPolicy (an organization's
                // accounts stand in as one made-up id).
                let accounts = match &set.accounts {
                    SetAccounts::Ids(ids) => ids.clone(),
                    SetAccounts::Organization(_) => vec!["123456789012".to_string()],
                };
                for generated in desired(&set, &accounts) {
                    validate(&generated.name, &generated.spec).unwrap_or_else(|e| panic!("{}: {}: {e}", path.display(), generated.name));
                }
                sets += 1;
            }
            continue;
        }
        let manifests = manifest::read::<CostPolicy>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for manifest in manifests {
            let name = manifest.object.metadata.name.clone().unwrap_or_else(|| panic!("{}: metadata.name missing", path.display()));
            manifest.check(validate(&name, &manifest.object.spec)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            policies += 1;
        }
    }
    assert!(
        policies >= 3 && sets >= 1 && notifiers >= 1,
        "expected the examples, found {policies} policies, {sets} sets and {notifiers} notifiers"
    );
}

/// The API server prunes unknown fields only where the schema does not preserve them: a
/// typo in a spec must never survive admission to reach the operator.
#[test]
fn no_part_of_the_spec_preserves_unknown_fields() {
    for crd in frugal_operator::api::crds() {
        let crd = serde_json::to_value(crd).expect("json");
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert!(spec.is_object(), "{crd}");
        let text = spec.to_string();
        assert!(!text.contains("x-kubernetes-preserve-unknown-fields"), "{text}");
    }
}

#[test]
fn notifier_crd_is_cluster_scoped_with_status_and_printer_columns_and_no_unknown_fields() {
    let crd = frugal_operator::api::notifier_crd();
    assert_eq!(crd.spec.scope, "Cluster");
    assert_eq!(crd.spec.names.plural, "notifiers");
    assert_eq!(crd.spec.names.categories.as_deref(), Some(&["frugal".to_string()][..]));
    let version = &crd.spec.versions[0];
    assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some());
    let columns: Vec<&str> = version.additional_printer_columns.as_deref().unwrap_or_default().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["Type", "Ready", "Delivered", "Age"]);
    let value = serde_json::to_value(&crd).expect("json");
    let spec = &value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["properties"]["type"]["enum"], serde_json::json!(["slack", "discord", "webhook"]));
    assert_eq!(spec["properties"]["secretRef"]["properties"]["key"]["default"], "address");
    assert!(!spec.to_string().contains("x-kubernetes-preserve-unknown-fields"));
}

#[test]
fn a_notifier_with_a_typo_is_refused_naming_the_field() {
    let text =
        "apiVersion: frugal.dev/v1alpha1\nkind: Notifier\nmetadata: {name: n}\nspec:\n  type: slack\n  secretRef: {name: s, kee: url}\n";
    let error = manifest::read::<Notifier>(text).expect_err("kee is not a field").to_string();
    assert!(error.contains("spec.secretRef.kee") || error.contains("kee"), "{error}");
    let text = "apiVersion: frugal.dev/v1alpha1\nkind: Notifier\nmetadata: {name: n}\nspec:\n  type: teams\n  secretRef: {name: s}\n";
    assert!(manifest::read::<Notifier>(text).is_err(), "only slack, discord and webhook");
}

#[test]
fn crd_is_cluster_scoped_with_status_and_printer_columns() {
    let crd = frugal_operator::api::crd();
    assert_eq!(crd.spec.scope, "Cluster");
    assert_eq!(crd.spec.names.short_names.as_deref(), Some(&["cpol".to_string()][..]));
    assert_eq!(crd.spec.names.categories.as_deref(), Some(&["frugal".to_string()][..]));
    let version = &crd.spec.versions[0];
    assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some());
    let columns: Vec<&str> = version.additional_printer_columns.as_deref().unwrap_or_default().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["Mode", "Ready", "Findings", "Savings/mo", "Age"]);
}

#[test]
fn set_crd_is_cluster_scoped_with_status_and_printer_columns() {
    let crd = CostPolicySet::crd();
    assert_eq!(crd.spec.scope, "Cluster");
    assert_eq!(crd.spec.names.short_names.as_deref(), Some(&["cpolset".to_string()][..]));
    assert_eq!(crd.spec.names.categories.as_deref(), Some(&["frugal".to_string()][..]));
    let version = &crd.spec.versions[0];
    assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some());
    let columns: Vec<&str> = version.additional_printer_columns.as_deref().unwrap_or_default().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["Accounts", "Regions", "Policies", "Ready", "Findings", "Waste/mo", "Savings/mo", "Age"]);
    let schema = serde_json::to_value(&version.schema).expect("json");
    let template = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["template"];
    assert!(template["properties"].get("aws").is_none(), "the set fills in aws");
    assert_eq!(template["x-kubernetes-validations"].as_array().map(Vec::len), Some(2), "the policy spec's CEL rules");
}

#[test]
fn every_spec_field_has_a_description() {
    let mut missing = Vec::new();
    for crd in frugal_operator::api::crds() {
        let crd = serde_json::to_value(crd).expect("json");
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        walk(spec, "spec", &mut missing);
    }
    assert!(missing.is_empty(), "fields without description (kubectl explain would be empty): {missing:?}");

    fn walk(schema: &serde_json::Value, path: &str, missing: &mut Vec<String>) {
        if schema.get("description").is_none() {
            missing.push(path.to_string());
        }
        if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, child) in props {
                walk(child, &format!("{path}.{name}"), missing);
            }
        }
        if let Some(items) = schema.get("items")
            && items.get("properties").is_some()
        {
            walk(items, &format!("{path}[]"), missing);
        }
    }
}

/// docs/CRD-REFERENCE.md, rendered from the CRD's schema.
fn crd_reference() -> String {
    let mut out = String::new();
    for crd in frugal_operator::api::crds() {
        reference_of(&crd, &mut out);
    }
    out
}

/// One CRD's part of docs/CRD-REFERENCE.md.
fn reference_of(crd: &CustomResourceDefinition, out: &mut String) {
    let names = &crd.spec.names;
    let crd = serde_json::to_value(crd).expect("json");
    let version = &crd["spec"]["versions"][0];
    let schema = &version["schema"]["openAPIV3Schema"];
    let first = out.is_empty();
    out.push_str(&format!("# {} reference\n\n", names.kind));
    if first {
        out.push_str(
            "<!-- Generated from the CRD schema by tests/crd.rs; refresh with `FRUGAL_UPDATE_DOCS=1 cargo test --test crd`. -->\n\n",
        );
    }
    let short = names.short_names.iter().flatten().next().map(|s| format!(" short name `{s}`,")).unwrap_or_default();
    out.push_str(&format!("`apiVersion: frugal.dev/v1alpha1`, `kind: {}`, cluster-scoped,{short} category `frugal`.\n\n", names.kind));
    for part in ["spec", "status"] {
        out.push_str(&format!("## {part}\n\n| field | type | default | description |\n|---|---|---|---|\n"));
        let mut rows = Vec::new();
        walk(&schema["properties"][part], part, &mut rows);
        for row in rows {
            out.push_str(&row);
        }
        out.push('\n');
        let mut rules = Vec::new();
        collect_rules(&schema["properties"][part], part, &mut rules);
        if !rules.is_empty() {
            out.push_str(&format!("Cross-field rules of `{part}` (CEL, checked again by the operator):\n\n"));
            for (path, message) in rules {
                out.push_str(&format!("- `{path}`: {message}\n"));
            }
            out.push('\n');
        }
    }

    fn kind(schema: &serde_json::Value) -> String {
        let base = schema["type"].as_str().unwrap_or("object").to_string();
        let mut kind = match base.as_str() {
            "array" => format!("[]{}", schema["items"]["type"].as_str().unwrap_or("object")),
            "object" if schema.get("additionalProperties").is_some() => "map[string]string".to_string(),
            other => other.to_string(),
        };
        if let Some(values) = schema["enum"].as_array().or_else(|| schema["items"]["enum"].as_array()) {
            let values: Vec<String> = values.iter().filter_map(|v| v.as_str().map(|s| format!("`{s}`"))).collect();
            kind = format!("{kind}: {}", values.join(" \\| "));
        }
        for (key, label) in
            [("minimum", "min"), ("maximum", "max"), ("minItems", "min items"), ("maxItems", "max items"), ("maxLength", "max length")]
        {
            if let Some(v) = schema.get(key) {
                kind.push_str(&format!(", {label} {v}"));
            }
        }
        if let Some(pattern) = schema["pattern"].as_str().or_else(|| schema["items"]["pattern"].as_str()) {
            kind.push_str(&format!(", pattern `{}`", pattern.replace('|', "\\|")));
        }
        kind
    }

    fn walk(schema: &serde_json::Value, path: &str, rows: &mut Vec<String>) {
        let Some(props) = schema["properties"].as_object() else { return };
        let required: Vec<&str> = schema["required"].as_array().map(|r| r.iter().filter_map(|v| v.as_str()).collect()).unwrap_or_default();
        for (name, child) in props {
            let field = format!("{path}.{name}");
            let description = child["description"].as_str().unwrap_or("").replace('\n', " ").replace('|', "\\|");
            let default = child.get("default").map(|d| format!("`{d}`")).unwrap_or_default();
            let required = if required.contains(&name.as_str()) { " (required)" } else { "" };
            rows.push(format!("| `{field}`{required} | {} | {default} | {description} |\n", kind(child)));
            walk(child, &field, rows);
            if child["items"]["properties"].is_object() {
                walk(&child["items"], &format!("{field}[]"), rows);
            }
        }
    }

    fn collect_rules(schema: &serde_json::Value, path: &str, rules: &mut Vec<(String, String)>) {
        for rule in schema["x-kubernetes-validations"].as_array().into_iter().flatten() {
            rules.push((path.to_string(), rule["message"].as_str().unwrap_or_else(|| rule["rule"].as_str().unwrap_or("")).to_string()));
        }
        for (name, child) in schema["properties"].as_object().into_iter().flatten() {
            collect_rules(child, &format!("{path}.{name}"), rules);
            if child["items"]["properties"].is_object() {
                collect_rules(&child["items"], &format!("{path}.{name}[]"), rules);
            }
        }
    }
}

#[test]
fn crd_reference_in_docs_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CRD-REFERENCE.md");
    let generated = crd_reference();
    if std::env::var_os("FRUGAL_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/CRD-REFERENCE.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == generated, "docs/CRD-REFERENCE.md is stale: run `FRUGAL_UPDATE_DOCS=1 cargo test --test crd` and commit it");
}
