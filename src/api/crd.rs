//! The CRD as the API server should get it: the derived one, with the schema's integer formats
//! limited to those Kubernetes knows and descriptions in paragraphs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

use super::{CostPolicy, CostPolicySet, Notifier};

/// The CostPolicy CRD (crds/costpolicy.yaml).
pub fn crd() -> CustomResourceDefinition {
    tidied::<CostPolicy>()
}

/// The Notifier CRD (crds/notifier.yaml).
pub fn notifier_crd() -> CustomResourceDefinition {
    tidied::<Notifier>()
}

/// The CostPolicySet CRD (crds/costpolicyset.yaml).
pub fn policy_set_crd() -> CustomResourceDefinition {
    tidied::<CostPolicySet>()
}

/// Every CRD of the operator, in the order `frugal crd` prints them; crds/ holds each as
/// `<singular>.yaml`.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![crd(), notifier_crd(), policy_set_crd()]
}

fn tidied<K: CustomResourceExt>() -> CustomResourceDefinition {
    let derived = K::crd();
    let Ok(mut value) = serde_json::to_value(&derived) else { return derived };
    tidy(&mut value);
    serde_json::from_value(value).unwrap_or(derived)
}

/// Walks a schema: kube-apiserver warns about formats it does not know (schemars writes
/// `uint32`/`uint64` for unsigned fields), and `kubectl explain` prints descriptions with the
/// line breaks of the doc comments they come from.
fn tidy(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str).is_some_and(|f| f.starts_with("uint")) {
                map.insert("format".to_string(), Value::from("int64"));
                map.entry("minimum").or_insert(Value::from(0));
            }
            let default = map.get("default").and_then(default_text);
            if let Some(Value::String(text)) = map.get_mut("description") {
                *text = paragraphs(text);
                // `kubectl explain` shows the description, not the schema's default.
                if let Some(default) = default.filter(|_| !text.to_lowercase().contains("default")) {
                    text.push_str(&format!(" Default: {default}."));
                }
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// A default as a person writes it; None for an empty map or list (nothing to say).
fn default_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        Value::Array(items) if !items.is_empty() => {
            Some(format!("[{}]", items.iter().filter_map(default_text).collect::<Vec<_>>().join(", ")))
        }
        _ => None,
    }
}

/// One line per paragraph: a line break inside a paragraph becomes a space, except before a
/// list item, which keeps its own line.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            let mut joined = String::new();
            for line in paragraph.lines() {
                let item = line.trim_start().starts_with("- ") || line.trim_start().starts_with("* ");
                if !joined.is_empty() {
                    joined.push(if item { '\n' } else { ' ' });
                }
                joined.push_str(line.trim());
            }
            joined
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
        match value {
            Value::Object(map) => {
                found.push(value);
                map.values().for_each(|v| walk(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }

    #[test]
    fn only_formats_kubernetes_knows_and_no_line_break_inside_a_paragraph() {
        let value = serde_json::to_value(crd()).expect("json");
        let mut objects = Vec::new();
        walk(&value, &mut objects);
        let formats: std::collections::BTreeSet<&str> = objects.iter().filter_map(|o| o.get("format").and_then(Value::as_str)).collect();
        assert!(formats.iter().all(|f| ["int32", "int64", "double", "float", "date-time"].contains(f)), "{formats:?}");
        let spec = &value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        let deletions = &spec["cloudWatch"]["properties"]["maxDeletionsPerRun"];
        assert_eq!(
            (deletions["format"].as_str(), deletions["minimum"].as_f64()),
            (Some("int64"), Some(1.0)),
            "an unsigned field keeps its bounds"
        );
        let status_total = &value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["accessKeys"]["properties"]
            ["deactivatedTotal"];
        assert_eq!((status_total["format"].as_str(), status_total["minimum"].as_f64()), (Some("int64"), Some(0.0)), "a u64 gets minimum 0");
        for object in &objects {
            if let Some(description) = object.get("description").and_then(Value::as_str) {
                for paragraph in description.split("\n\n") {
                    assert!(paragraph.lines().skip(1).all(|l| l.starts_with("- ") || l.starts_with("* ")), "{description:?}");
                }
            }
        }
    }

    #[test]
    fn every_field_of_the_spec_is_described_with_its_default() {
        let value = serde_json::to_value(crd()).expect("json");
        let spec = &value["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let mut objects = Vec::new();
        walk(spec, &mut objects);
        for object in objects {
            for (name, field) in object.get("properties").and_then(Value::as_object).into_iter().flatten() {
                let description = field["description"].as_str().unwrap_or_else(|| panic!("{name} has no description"));
                if default_text(&field["default"]).is_some() {
                    assert!(description.to_lowercase().contains("default"), "{name}: {description}");
                }
            }
        }
        let days = &spec["properties"]["accessKeys"]["properties"]["maxKeyAgeDays"]["description"];
        assert!(days.as_str().is_some_and(|d| d.ends_with(" Default: 90.")), "{days}");
    }

    #[test]
    fn paragraphs_keep_list_items_on_their_own_lines() {
        assert_eq!(paragraphs("One sentence\nwrapped.\n\nA list:\n- a\n- b"), "One sentence wrapped.\n\nA list:\n- a\n- b");
    }
}
