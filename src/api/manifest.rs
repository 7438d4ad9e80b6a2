//! Manifests: custom resources read from YAML files (`frugal plan|apply -f`) as strictly as
//! the API server admits them. Every field is checked against the CRD's own schema, so a
//! typo is an error naming the field and its line instead of a rule silently dropped, and
//! a wrong `apiVersion` or `kind` is refused. Generic over the kind: any CRD of this crate
//! is read the same way.

use std::collections::BTreeMap;
use std::fmt;

use kube::{CustomResourceExt, Resource};
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde::de::DeserializeOwned;

use super::validate::InvalidSpec;

mod schema;

/// A line and column of a manifest, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    fn of(node: &MarkedYaml) -> Location {
        Location { line: node.span.start.line(), column: node.span.start.col() + 1 }
    }
}

/// One reason a manifest is refused: where, which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    pub location: Option<Location>,
    /// The field's path, e.g. `spec.snapshotRetention.maxAgeDays`; empty for the document.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(Location { line, column }) = self.location {
            write!(f, "{line}:{column}: ")?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Every reason a file's manifests are refused, in the order of the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ManifestErrors(pub Vec<ManifestError>);

/// One object read from a manifest, with where each of its fields was written.
#[derive(Clone, Debug)]
pub struct Manifest<K> {
    pub object: K,
    /// The line the document starts on.
    pub location: Location,
    locations: BTreeMap<String, Location>,
    /// What the schema refuses beyond the object's type (patterns, lengths, counts): shown
    /// only where the operator's own validation, whose messages say more, has not already
    /// refused the same field.
    schema_errors: Vec<ManifestError>,
}

impl<K> Manifest<K> {
    /// Where `field` (or the nearest field above it that the file has) was written.
    pub fn locate(&self, field: &str) -> Location {
        let mut path = field;
        loop {
            if let Some(location) = self.locations.get(path) {
                return *location;
            }
            match path.rfind(['.', '[']) {
                Some(end) => path = &path[..end],
                None => return self.location,
            }
        }
    }

    /// The operator's validation of the object, with the schema's refusals the validation
    /// did not name, each located in the file.
    pub fn check<V>(&self, validated: Result<V, InvalidSpec>) -> Result<V, ManifestErrors> {
        let mut errors: Vec<ManifestError> = match &validated {
            Ok(_) => Vec::new(),
            Err(invalid) => invalid
                .0
                .iter()
                .map(|e| ManifestError { location: Some(self.locate(&e.field)), field: e.field.clone(), message: e.message.clone() })
                .collect(),
        };
        for schema_error in &self.schema_errors {
            let named = errors.iter().any(|e| schema_error.field.starts_with(&e.field) || e.field.starts_with(&schema_error.field));
            if !named {
                errors.push(schema_error.clone());
            }
        }
        match validated {
            Ok(valid) if errors.is_empty() => Ok(valid),
            _ => {
                errors.sort_by_key(|e| e.location);
                Err(ManifestErrors(errors))
            }
        }
    }
}

/// Reads every document of a YAML stream as a `K` (empty documents are skipped). Any
/// document that does not match the CRD's schema refuses the whole stream.
pub fn read<K>(text: &str) -> Result<Vec<Manifest<K>>, ManifestErrors>
where
    K: CustomResourceExt + Resource<DynamicType = ()> + DeserializeOwned + 'static,
{
    let crd_schema = schema::of::<K>();
    let kinds = [K::kind(&()).to_string()];
    each_document(text, |document| read_one::<K>(document, &crd_schema, &kinds))
}

/// A document of a stream that may hold two kinds.
#[derive(Clone, Debug)]
pub enum Either<A, B> {
    First(Manifest<A>),
    Second(Manifest<B>),
}

/// Reads every document of a YAML stream as an `A` or, when its `kind` is `B`'s, as a `B`:
/// each as strictly as [`read`] reads one kind, and a kind that is neither is refused.
pub fn read_either<A, B>(text: &str) -> Result<Vec<Either<A, B>>, ManifestErrors>
where
    A: CustomResourceExt + Resource<DynamicType = ()> + DeserializeOwned + 'static,
    B: CustomResourceExt + Resource<DynamicType = ()> + DeserializeOwned + 'static,
{
    let kinds = [A::kind(&()).to_string(), B::kind(&()).to_string()];
    // Each schema made only for a kind the text holds: a CRD's schema costs more to make
    // than a file of policies to read.
    each_document(text, |document| {
        if top_level_text(document, "kind").as_deref() == Some(&*kinds[1]) {
            read_one::<B>(document, &schema::of::<B>(), &kinds).map(Either::Second)
        } else {
            read_one::<A>(document, &schema::of::<A>(), &kinds).map(Either::First)
        }
    })
}

/// Every non-empty document of the stream through `read`; the errors of all of them, or
/// every value.
fn each_document<T>(text: &str, mut read: impl FnMut(&MarkedYaml) -> Result<T, Vec<ManifestError>>) -> Result<Vec<T>, ManifestErrors> {
    let documents = MarkedYaml::load_from_str(text).map_err(|error| {
        let mark = error.marker();
        ManifestErrors(vec![ManifestError {
            location: Some(Location { line: mark.line(), column: mark.col() + 1 }),
            field: String::new(),
            message: format!("not valid YAML: {}", error.info()),
        }])
    })?;
    let mut read_ok = Vec::new();
    let mut errors = Vec::new();
    for document in &documents {
        if matches!(document.data, YamlData::BadValue | YamlData::Value(Scalar::Null)) {
            continue;
        }
        match read(document) {
            Ok(value) => read_ok.push(value),
            Err(mut refused) => errors.append(&mut refused),
        }
    }
    if !errors.is_empty() {
        return Err(ManifestErrors(errors));
    }
    Ok(read_ok)
}

/// The text of a top-level scalar field of a document, e.g. its `kind`.
fn top_level_text(document: &MarkedYaml, field: &str) -> Option<String> {
    let YamlData::Mapping(entries) = &document.data else { return None };
    entries.iter().find_map(|(key, value)| {
        let is_field = matches!(&key.data, YamlData::Value(Scalar::String(k)) if k.as_ref() == field);
        match &value.data {
            YamlData::Value(Scalar::String(text)) if is_field => Some(text.to_string()),
            _ => None,
        }
    })
}

/// Reads one document as a `K`; `kinds` are the kinds the stream may hold, for the message
/// that refuses another.
fn read_one<K>(document: &MarkedYaml, crd_schema: &serde_json::Value, kinds: &[String]) -> Result<Manifest<K>, Vec<ManifestError>>
where
    K: CustomResourceExt + Resource<DynamicType = ()> + DeserializeOwned,
{
    let location = Location::of(document);
    let mut walk = schema::Walk::default();
    let value = walk.node(document, crd_schema, "");
    let mut errors = walk.errors;
    if let Some(serde_json::Value::Object(object)) = &value {
        let api_version = K::api_version(&()).to_string();
        let expected_kinds = kinds.iter().map(|k| format!("{k:?}")).collect::<Vec<_>>().join(" or ");
        for (field, expected) in [("apiVersion", format!("{api_version:?}")), ("kind", expected_kinds)] {
            let allowed = |found: &str| if field == "kind" { kinds.iter().any(|k| k == found) } else { found == api_version };
            let only = if field == "kind" && kinds.len() > 1 { "the kinds".to_string() } else { format!("the only {field}") };
            match object.get(field).and_then(|v| v.as_str()) {
                Some(found) if allowed(found) => {}
                Some(found) => errors.push(ManifestError {
                    location: walk.locations.get(field).copied(),
                    field: field.to_string(),
                    message: format!("{found:?} is not {expected}, {only} this file may have"),
                }),
                None => errors.push(ManifestError {
                    location: Some(location),
                    field: field.to_string(),
                    message: format!("missing: this file's documents must be {expected}"),
                }),
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.location);
        return Err(errors);
    }
    let value = value.unwrap_or(serde_json::Value::Null);
    let object: K = serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        let location = walk.locations.get(&field).copied().or(Some(location));
        vec![ManifestError { location, field, message: error.into_inner().to_string() }]
    })?;
    Ok(Manifest { object, location, locations: walk.locations, schema_errors: walk.deferred })
}

#[cfg(test)]
mod tests;
