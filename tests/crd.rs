//! The committed CRD and the examples stay true to the Rust types.

use std::path::Path;

use kube::CustomResourceExt;

use frugal_operator::api::CostPolicy;
use frugal_operator::api::validate::validate;

#[test]
fn committed_crd_matches_frugal_crd_output() {
    let generated = serde_yaml::to_string(&CostPolicy::crd()).expect("CRD renders");
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/costpolicy.yaml")).expect("crds/costpolicy.yaml exists");
    assert!(generated == committed, "crds/costpolicy.yaml is stale: run `make crd` and commit the result");
}

#[test]
fn crd_binary_prints_the_committed_crd() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_frugal")).arg("crd").output().expect("run frugal crd");
    assert!(output.status.success());
    let committed = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("crds/costpolicy.yaml")).expect("committed CRD");
    assert_eq!(output.stdout, committed);
}

#[test]
fn every_example_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("examples/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        for document in serde_yaml::Deserializer::from_str(&text) {
            let policy: CostPolicy = serde::Deserialize::deserialize(document).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = policy.metadata.name.clone().unwrap_or_else(|| panic!("{}: metadata.name missing", path.display()));
            validate(&name, &policy.spec).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 3, "expected the examples, found {checked}");
}

#[test]
fn crd_is_cluster_scoped_with_status_and_printer_columns() {
    let crd = CostPolicy::crd();
    assert_eq!(crd.spec.scope, "Cluster");
    assert_eq!(crd.spec.names.short_names.as_deref(), Some(&["cpol".to_string()][..]));
    assert_eq!(crd.spec.names.categories.as_deref(), Some(&["frugal".to_string()][..]));
    let version = &crd.spec.versions[0];
    assert!(version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some());
    let columns: Vec<&str> = version.additional_printer_columns.as_deref().unwrap_or_default().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["Mode", "Ready", "Findings", "Savings/mo", "Age"]);
}

#[test]
fn every_spec_field_has_a_description() {
    let crd = serde_json::to_value(CostPolicy::crd()).expect("json");
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    let mut missing = Vec::new();
    walk(spec, "spec", &mut missing);
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
        if let Some(items) = schema.get("items") {
            if items.get("properties").is_some() {
                walk(items, &format!("{path}[]"), missing);
            }
        }
    }
}
