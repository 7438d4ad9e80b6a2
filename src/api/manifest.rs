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
    let documents = MarkedYaml::load_from_str(text).map_err(|error| {
        let mark = error.marker();
        ManifestErrors(vec![ManifestError {
            location: Some(Location { line: mark.line(), column: mark.col() + 1 }),
            field: String::new(),
            message: format!("not valid YAML: {}", error.info()),
        }])
    })?;
    let crd_schema = schema::of::<K>();
    let mut manifests = Vec::new();
    let mut errors = Vec::new();
    for document in &documents {
        if matches!(document.data, YamlData::BadValue | YamlData::Value(Scalar::Null)) {
            continue;
        }
        match read_one::<K>(document, &crd_schema) {
            Ok(manifest) => manifests.push(manifest),
            Err(mut refused) => errors.append(&mut refused),
        }
    }
    if !errors.is_empty() {
        return Err(ManifestErrors(errors));
    }
    Ok(manifests)
}

fn read_one<K>(document: &MarkedYaml, crd_schema: &serde_json::Value) -> Result<Manifest<K>, Vec<ManifestError>>
where
    K: CustomResourceExt + Resource<DynamicType = ()> + DeserializeOwned,
{
    let location = Location::of(document);
    let mut walk = schema::Walk::default();
    let value = walk.node(document, crd_schema, "");
    let mut errors = walk.errors;
    if let Some(serde_json::Value::Object(object)) = &value {
        for (field, expected) in [("apiVersion", K::api_version(&())), ("kind", K::kind(&()))] {
            match object.get(field).and_then(|v| v.as_str()) {
                Some(found) if found == expected => {}
                Some(found) => errors.push(ManifestError {
                    location: walk.locations.get(field).copied(),
                    field: field.to_string(),
                    message: format!("{found:?} is not {expected:?}, the only {field} this file may have"),
                }),
                None => errors.push(ManifestError {
                    location: Some(location),
                    field: field.to_string(),
                    message: format!("missing: this file's documents must be {expected:?}"),
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
