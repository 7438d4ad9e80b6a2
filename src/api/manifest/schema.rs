//! A manifest checked against the CRD's structural schema (the OpenAPI v3 subset the API
//! server enforces), turned into JSON for the typed parse, with each field's location kept.

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::CustomResourceExt;
use saphyr::{MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Value};

use super::{Location, ManifestError};

/// The CRD's schema of its served version, as JSON; made once per kind (generating a CRD
/// takes milliseconds, more than reading a file).
pub(super) fn of<K: CustomResourceExt + 'static>() -> Arc<Value> {
    static SCHEMAS: LazyLock<Mutex<HashMap<TypeId, Arc<Value>>>> = LazyLock::new(Mutex::default);
    let mut schemas = SCHEMAS.lock().unwrap_or_else(PoisonError::into_inner);
    schemas.entry(TypeId::of::<K>()).or_insert_with(|| Arc::new(generate::<K>())).clone()
}

fn generate<K: CustomResourceExt>() -> Value {
    let crd = K::crd();
    let schema = crd.spec.versions.first().and_then(|v| v.schema.as_ref()).and_then(|s| s.open_api_v3_schema.as_ref());
    let mut schema = serde_json::to_value(schema).unwrap_or(Value::Null);
    // The API server adds the fields every object has; a file is held to ObjectMeta's fields.
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert("apiVersion".to_string(), serde_json::json!({"type": "string"}));
        properties.insert("kind".to_string(), serde_json::json!({"type": "string"}));
        properties.insert("metadata".to_string(), object_meta_schema());
    }
    schema
}

/// ObjectMeta's fields by name; their values are checked by ObjectMeta's own parse.
fn object_meta_schema() -> Value {
    let generated = serde_json::to_value(schemars::schema_for!(ObjectMeta)).unwrap_or(Value::Null);
    let names = generated.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let properties: Map<String, Value> =
        names.into_iter().map(|name| (name, serde_json::json!({"x-kubernetes-preserve-unknown-fields": true}))).collect();
    serde_json::json!({"type": "object", "properties": properties})
}

/// What one walk of a document found.
#[derive(Default)]
pub(super) struct Walk {
    /// Refusals that leave no typed object to read: unknown fields, wrong types, values out
    /// of an enum or a range, missing required fields.
    pub errors: Vec<ManifestError>,
    /// Refusals of a value of the right type (pattern, length, count, uniqueness).
    pub deferred: Vec<ManifestError>,
    pub locations: BTreeMap<String, Location>,
}

impl Walk {
    fn refuse(&mut self, node: &MarkedYaml, field: &str, message: String) {
        self.errors.push(ManifestError { location: Some(Location::of(node)), field: field.to_string(), message });
    }

    fn defer(&mut self, node: &MarkedYaml, field: &str, message: String) {
        self.deferred.push(ManifestError { location: Some(Location::of(node)), field: field.to_string(), message });
    }

    /// The node as JSON if it is what `schema` admits; `None` for an explicit null, which
    /// the API server prunes like an absent field.
    pub fn node(&mut self, node: &MarkedYaml, schema: &Value, path: &str) -> Option<Value> {
        self.locations.entry(path.to_string()).or_insert(Location::of(node));
        if matches!(node.data, YamlData::Value(Scalar::Null)) {
            return None;
        }
        if let YamlData::Tagged(tag, _) = &node.data {
            self.refuse(node, path, format!("the YAML tag {tag} is not allowed here"));
            return None;
        }
        if schema.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true) && schema.get("properties").is_none() {
            return self.any(node, path);
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => self.object(node, schema, path),
            Some("array") => self.array(node, schema, path),
            Some("string") => self.string(node, schema, path),
            Some("integer") => self.integer(node, schema, path),
            Some("number") => self.number(node, path),
            Some("boolean") => match node.data {
                YamlData::Value(Scalar::Boolean(b)) => Some(Value::Bool(b)),
                _ => self.wrong_type(node, path, "true or false"),
            },
            _ => self.any(node, path),
        }
    }

    fn wrong_type(&mut self, node: &MarkedYaml, path: &str, expected: &str) -> Option<Value> {
        self.refuse(node, path, format!("expected {expected}, found {}", describe(node)));
        None
    }

    fn object(&mut self, node: &MarkedYaml, schema: &Value, path: &str) -> Option<Value> {
        let YamlData::Mapping(entries) = &node.data else {
            return self.wrong_type(node, path, "a mapping of fields");
        };
        let properties = schema.get("properties").and_then(Value::as_object);
        let additional = schema.get("additionalProperties");
        let mut object = Map::new();
        // Fields a typo was probably meant as: their absence is the typo, said once.
        let mut meant_instead = Vec::new();
        for (key_node, value_node) in entries {
            let Some(key) = scalar_text(key_node) else {
                self.refuse(key_node, path, format!("a field name must be a string, found {}", describe(key_node)));
                continue;
            };
            let field = join(path, &key);
            let child_schema = match (properties.and_then(|p| p.get(&key)), additional) {
                (Some(child), _) => child,
                (None, Some(additional)) if additional.is_object() => additional,
                (None, Some(Value::Bool(true))) => &Value::Null,
                _ => {
                    self.locations.insert(field.clone(), Location::of(key_node));
                    let known = properties.map(|p| p.keys().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default();
                    let hint = match closest(&key, known.iter().copied()) {
                        Some(meant) => {
                            meant_instead.push(meant.to_string());
                            format!("; did you mean {meant}?")
                        }
                        None if known.is_empty() => String::new(),
                        None => format!("; the fields here are {}", known.join(", ")),
                    };
                    self.refuse(key_node, &field, format!("unknown field{hint}"));
                    continue;
                }
            };
            // A block mapping or list starts on the line after its key: the key is where a
            // person looks for it.
            if matches!(value_node.data, YamlData::Mapping(_) | YamlData::Sequence(_)) {
                self.locations.insert(field.clone(), Location::of(key_node));
            }
            if let Some(value) = self.node(value_node, child_schema, &field) {
                object.insert(key, value);
            }
        }
        let here = self.locations.get(path).copied().unwrap_or(Location::of(node));
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            let field = join(path, required);
            let explained = meant_instead.iter().any(|meant| meant == required) || self.errors.iter().any(|e| e.field == field);
            if !object.contains_key(required) && !explained {
                self.errors.push(ManifestError { location: Some(here), field, message: "required field is missing".to_string() });
            }
        }
        if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
            && object.len() as u64 > max
        {
            self.defer(node, path, format!("{} entries; at most {max}", object.len()));
        }
        Some(Value::Object(object))
    }

    fn array(&mut self, node: &MarkedYaml, schema: &Value, path: &str) -> Option<Value> {
        let YamlData::Sequence(items) = &node.data else {
            return self.wrong_type(node, path, "a list");
        };
        let item_schema = schema.get("items").unwrap_or(&Value::Null);
        let values: Vec<Value> =
            items.iter().enumerate().filter_map(|(i, item)| self.node(item, item_schema, &format!("{path}[{i}]"))).collect();
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
            && (values.len() as u64) < min
        {
            self.defer(node, path, format!("{} items; at least {min}", values.len()));
        }
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
            && values.len() as u64 > max
        {
            self.defer(node, path, format!("{} items; at most {max}", values.len()));
        }
        if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("set") {
            for (i, value) in values.iter().enumerate() {
                if values[..i].contains(value) {
                    self.defer(node, &format!("{path}[{i}]"), format!("{value} is listed twice"));
                }
            }
        }
        Some(Value::Array(values))
    }

    fn string(&mut self, node: &MarkedYaml, schema: &Value, path: &str) -> Option<Value> {
        let YamlData::Value(Scalar::String(text)) = &node.data else {
            return self.wrong_type(node, path, "a string");
        };
        let text = text.to_string();
        if let Some(allowed) = enumeration(schema)
            && !allowed.contains(&text.as_str())
        {
            let hint = suggestion(&text, allowed.iter().copied());
            self.refuse(node, path, format!("{text:?} is not one of {}{hint}", allowed.join(", ")));
            return None;
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && regex::Regex::new(pattern).is_ok_and(|re| !re.is_match(&text))
        {
            self.defer(node, path, format!("{text:?} does not match {pattern}"));
        }
        let length = text.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && length > max
        {
            self.defer(node, path, format!("{length} characters; at most {max}"));
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && length < min
        {
            self.defer(node, path, format!("{length} characters; at least {min}"));
        }
        Some(Value::String(text))
    }

    fn integer(&mut self, node: &MarkedYaml, schema: &Value, path: &str) -> Option<Value> {
        let YamlData::Value(Scalar::Integer(number)) = node.data else {
            return self.wrong_type(node, path, "a whole number");
        };
        let (format_min, format_max) = match schema.get("format").and_then(Value::as_str) {
            Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
            Some("uint32") => (0, i64::from(u32::MAX)),
            Some("uint16") => (0, i64::from(u16::MAX)),
            Some("uint8") => (0, i64::from(u8::MAX)),
            Some("uint64" | "uint") => (0, i64::MAX),
            _ => (i64::MIN, i64::MAX),
        };
        // The CRD writes bounds as floats (36500.0); `as` saturates, and every bound is whole.
        let bound = |name: &str| schema.get(name).and_then(Value::as_f64).map(|b| b as i64);
        let min = bound("minimum").map_or(format_min, |m| m.max(format_min));
        let max = bound("maximum").map_or(format_max, |m| m.min(format_max));
        if number < min || number > max {
            let range = match (min, max) {
                (min, i64::MAX) => format!("at least {min}"),
                (i64::MIN, max) => format!("at most {max}"),
                (min, max) => format!("from {min} to {max}"),
            };
            self.refuse(node, path, format!("{number} is out of range: {range}"));
            return None;
        }
        Some(Value::from(number))
    }

    fn number(&mut self, node: &MarkedYaml, path: &str) -> Option<Value> {
        match node.data {
            YamlData::Value(Scalar::Integer(number)) => Some(Value::from(number)),
            YamlData::Value(Scalar::FloatingPoint(number)) if number.is_finite() => Some(Value::from(number.into_inner())),
            _ => self.wrong_type(node, path, "a number"),
        }
    }

    /// Any YAML the schema leaves open, as JSON.
    fn any(&mut self, node: &MarkedYaml, path: &str) -> Option<Value> {
        self.locations.entry(path.to_string()).or_insert(Location::of(node));
        match &node.data {
            YamlData::Value(Scalar::Null) => Some(Value::Null),
            YamlData::Value(Scalar::Boolean(b)) => Some(Value::Bool(*b)),
            YamlData::Value(Scalar::Integer(i)) => Some(Value::from(*i)),
            YamlData::Value(Scalar::FloatingPoint(f)) if f.is_finite() => Some(Value::from(f.into_inner())),
            YamlData::Value(Scalar::String(s)) => Some(Value::String(s.to_string())),
            YamlData::Sequence(items) => {
                Some(Value::Array(items.iter().enumerate().filter_map(|(i, item)| self.any(item, &format!("{path}[{i}]"))).collect()))
            }
            YamlData::Mapping(_) => self.object(node, &serde_json::json!({"type": "object", "additionalProperties": true}), path),
            _ => {
                self.refuse(node, path, format!("cannot read {}", describe(node)));
                None
            }
        }
    }
}

fn enumeration(schema: &Value) -> Option<Vec<&str>> {
    schema.get("enum").and_then(Value::as_array).map(|values| values.iter().filter_map(Value::as_str).collect())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// A scalar's text as a field name (YAML's `1:` is a field named "1" to the API server).
fn scalar_text(node: &MarkedYaml) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// What a node is, for a message: `the string "thirty"`, `the number 1.5`, `a list`.
fn describe(node: &MarkedYaml) -> String {
    match &node.data {
        YamlData::Value(Scalar::Null) => "null".to_string(),
        YamlData::Value(Scalar::Boolean(b)) => format!("the boolean {b}"),
        YamlData::Value(Scalar::Integer(i)) => format!("the whole number {i}"),
        YamlData::Value(Scalar::FloatingPoint(f)) => format!("the number {f}"),
        YamlData::Value(Scalar::String(s)) => format!("the string {:?}", s.as_ref()),
        YamlData::Sequence(_) => "a list".to_string(),
        YamlData::Mapping(_) => "a mapping".to_string(),
        YamlData::Tagged(tag, _) => format!("a value tagged {tag}"),
        _ => "a value that is not plain YAML".to_string(),
    }
}

/// `; did you mean X?` for the closest candidate, or empty.
fn suggestion<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(found, candidates).map(|meant| format!("; did you mean {meant}?")).unwrap_or_default()
}

/// The candidate closest to `found` when it is close enough to be a typo of it (a different
/// case, or at most a third of the letters wrong, three at most).
fn closest<'a>(found: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let found_lower = found.to_lowercase();
    let budget = (found.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(&found_lower, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= budget)
        .min()
        .map(|(_, candidate)| candidate)
}
