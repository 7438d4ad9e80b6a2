use serde_json::{Value, json};

use super::*;
use crate::api::CostPolicy;
use crate::api::validate::validate;

const HEAD: &str = "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata:\n  name: typo\n";

fn refused(text: &str) -> Vec<ManifestError> {
    match read::<CostPolicy>(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(ManifestErrors(errors)) => errors,
    }
}

/// Every object of the spec's schema (and of nested lists' items), by path.
fn object_paths(schema: &Value, path: &str, found: &mut Vec<(String, Vec<String>)>) {
    let schema = match schema.get("type").and_then(Value::as_str) {
        Some("array") => {
            object_paths(&schema["items"], &format!("{path}[0]"), found);
            return;
        }
        Some("object") => schema,
        _ => return,
    };
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else { return };
    found.push((path.to_string(), properties.keys().cloned().collect()));
    for (name, child) in properties {
        object_paths(child, &format!("{path}.{name}"), found);
    }
}

/// A JSON document that reaches `path` (e.g. `spec.backup.plan.rules[0]`), with `leaf` there.
fn reaching(path: &str, leaf: Value) -> Value {
    let mut value = leaf;
    for segment in path.rsplit('.') {
        let (name, indexed) = match segment.strip_suffix("[0]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        if indexed {
            value = Value::Array(vec![value]);
        }
        value = json!({ name: value });
    }
    value
}

fn spec_objects() -> Vec<(String, Vec<String>)> {
    let schema = schema::of::<CostPolicy>();
    let mut found = Vec::new();
    object_paths(&schema["properties"]["spec"], "spec", &mut found);
    assert!(found.len() >= 15, "the spec's objects: {found:?}");
    found
}

fn document(spec_and_below: Value) -> String {
    let mut text = HEAD.to_string();
    text.push_str(&serde_yaml::to_string(&spec_and_below).expect("yaml"));
    text
}

#[test]
fn an_unknown_field_at_any_level_of_the_spec_is_refused_naming_its_path() {
    for (path, _) in spec_objects() {
        let text = document(reaching(&path, json!({"frugalUnknownField": 1})));
        let field = format!("{path}.frugalUnknownField");
        let errors = refused(&text);
        let error = errors.iter().find(|e| e.field == field).unwrap_or_else(|| panic!("no error names {field}: {errors:?}"));
        assert!(error.message.starts_with("unknown field"), "{error}");
        assert!(error.location.is_some_and(|l| l.line > 4), "located in the spec: {error}");
    }
}

#[test]
fn a_misspelt_field_at_any_level_of_the_spec_is_refused_with_the_field_meant() {
    for (path, names) in spec_objects() {
        for name in names.iter().filter(|n| n.len() >= 4) {
            // The typo of the issue: one letter dropped from the middle.
            let mut typo = name.clone();
            typo.remove(name.len() / 2);
            if names.contains(&typo) {
                continue;
            }
            let text = document(reaching(&path, json!({ typo.clone(): 1 })));
            let field = format!("{path}.{typo}");
            let errors = refused(&text);
            let error = errors.iter().find(|e| e.field == field).unwrap_or_else(|| panic!("no error names {field}: {errors:?}"));
            assert!(error.message.contains(&format!("did you mean {name}?")), "{error}");
        }
    }
}

#[test]
fn the_exclude_typo_of_the_issue_is_refused_with_its_line_and_the_field_meant() {
    let text = format!(
        "{HEAD}spec:\n  aws: {{region: eu-west-1}}\n  snapshotRetention:\n    maxAgeDays: 30\n    exlude:\n      tags: {{frugal.dev/keep: \"true\"}}\n"
    );
    let errors = refused(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].to_string(), "9:5: spec.snapshotRetention.exlude: unknown field; did you mean exclude?");
}

#[test]
fn a_wrong_api_version_or_kind_is_refused() {
    let text = "apiVersion: frugal.dev/v1\nkind: Costpolicy\nmetadata: {name: x}\nspec: {aws: {region: eu-west-1}, backup: null}\n";
    let errors = refused(text);
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "1:13: apiVersion: \"frugal.dev/v1\" is not \"frugal.dev/v1alpha1\", the only apiVersion this file may have",
            "2:7: kind: \"Costpolicy\" is not \"CostPolicy\", the only kind this file may have",
        ]
    );
    let errors = refused("metadata: {name: x}\nspec: {aws: {region: eu-west-1}}\n");
    assert!(errors.iter().any(|e| e.field == "apiVersion" && e.message.starts_with("missing")), "{errors:?}");
    assert!(errors.iter().any(|e| e.field == "kind"), "{errors:?}");
}

#[test]
fn unknown_top_level_and_metadata_fields_are_refused() {
    let text = "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {name: x, lables: {a: b}}\nspecs: {}\n";
    let errors = refused(text);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"metadata.lables"), "{errors:?}");
    assert!(errors.iter().any(|e| e.field == "metadata.lables" && e.message.contains("did you mean labels?")), "{errors:?}");
    assert!(fields.contains(&"specs"), "{errors:?}");
    assert!(errors.iter().any(|e| e.field == "specs" && e.message.contains("did you mean spec?")), "{errors:?}");
}

#[test]
fn type_range_and_enum_errors_name_the_field_and_the_line() {
    let cases = [
        ("snapshotRetention:\n    maxAgeDays: -5\n", "6:17: spec.snapshotRetention.maxAgeDays: -5 is out of range: from 1 to 36500"),
        (
            "snapshotRetention:\n    maxAgeDays: thirty\n",
            "6:17: spec.snapshotRetention.maxAgeDays: expected a whole number, found the string \"thirty\"",
        ),
        (
            "snapshotRetention:\n    maxAgeDays: 1.5\n",
            "6:17: spec.snapshotRetention.maxAgeDays: expected a whole number, found the number 1.5",
        ),
        ("mode: Foo\n", "5:9: spec.mode: \"Foo\" is not one of Enforce, Audit"),
        ("mode: enforce\n", "5:9: spec.mode: \"enforce\" is not one of Enforce, Audit; did you mean Enforce?"),
        ("ssmAccess: {revokeWorldSsh: maybe}\n", "5:31: spec.ssmAccess.revokeWorldSsh: expected true or false, found the string \"maybe\""),
        ("gatewayEndpoints: {services: s3}\n", "5:32: spec.gatewayEndpoints.services: expected a list, found the string \"s3\""),
    ];
    for (lines, expected) in cases {
        let text = format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: x}}\nspec:\n  {lines}  aws: {{region: eu-west-1}}\n"
        );
        let errors = refused(&text);
        assert_eq!(errors.first().map(ToString::to_string).as_deref(), Some(expected), "{text}");
    }
    let errors = refused("apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {name: x}\nspec:\n  backup: null\n");
    assert_eq!(errors[0].to_string(), "4:1: spec.aws: required field is missing");
}

#[test]
fn validation_errors_are_located_at_their_field_and_schema_refusals_they_miss_are_added() {
    let text = format!("{HEAD}spec:\n  aws:\n    region: Europe\n  gatewayEndpoints: {{services: [s3]}}\n");
    let manifests = read::<CostPolicy>(&text).expect("the schema reads it");
    let manifest = &manifests[0];
    let errors = manifest.check(validate("typo", &manifest.object.spec)).expect_err("invalid region");
    assert_eq!(errors.0.len(), 1, "the pattern refusal is the same field: {errors:?}");
    assert_eq!(errors.0[0].location, Some(Location { line: 7, column: 13 }), "{errors:?}");
    assert!(errors.0[0].field == "spec.aws.region", "{errors:?}");
}

#[test]
fn documents_are_read_in_order_and_empty_ones_skipped() {
    let one = format!("{HEAD}spec: {{aws: {{region: eu-west-1}}, gatewayEndpoints: {{services: [s3]}}}}\n");
    let text = format!("---\n{one}---\n---\n{}", one.replace("name: typo", "name: second"));
    let manifests = read::<CostPolicy>(&text).expect("valid");
    let names: Vec<_> = manifests.iter().map(|m| m.object.metadata.name.clone().unwrap_or_default()).collect();
    assert_eq!(names, ["typo", "second"]);
    assert_eq!(manifests[1].location.line, 9);
}

#[test]
fn broken_yaml_is_an_error_with_its_line() {
    let errors = refused(&format!("{HEAD}spec: {{aws: [\n"));
    assert!(errors[0].to_string().starts_with("6:") && errors[0].message.starts_with("not valid YAML"), "{errors:?}");
    let errors = refused(&format!("{HEAD}spec:\n  mode: Audit\n  mode: Enforce\n"));
    assert!(errors[0].message.starts_with("not valid YAML"), "a duplicate key is refused: {errors:?}");
}

#[test]
fn a_stream_of_two_kinds_reads_each_document_as_its_own_kind_as_strictly() {
    use crate::api::CostPolicySet;
    let policy =
        "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {name: p}\nspec: {aws: {region: eu-west-1}, accessKeys: {}}\n";
    let set = "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicySet\nmetadata: {name: s}\nspec:\n  accounts: {ids: ['111122223333'], roleName: r}\n  regions: [eu-west-1]\n  template: {accessKeys: {}}\n";
    let read = read_either::<CostPolicy, CostPolicySet>(&format!("{policy}---\n{set}")).expect("both read");
    let kinds: Vec<&str> = read
        .iter()
        .map(|d| match d {
            Either::First(_) => "policy",
            Either::Second(_) => "set",
        })
        .collect();
    assert_eq!(kinds, ["policy", "set"]);

    let typo = set.replace("roleName", "rolName");
    let Err(ManifestErrors(errors)) = read_either::<CostPolicy, CostPolicySet>(&format!("{policy}---\n{typo}")) else {
        panic!("a typo in the set is refused")
    };
    assert_eq!(
        errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["10:37: spec.accounts.rolName: unknown field; did you mean roleName?"]
    );

    let Err(ManifestErrors(errors)) = read_either::<CostPolicy, CostPolicySet>(&set.replace("kind: CostPolicySet", "kind: Policy")) else {
        panic!("another kind is refused")
    };
    assert_eq!(errors[0].to_string(), "2:7: kind: \"Policy\" is not \"CostPolicy\" or \"CostPolicySet\", the kinds this file may have");
}
