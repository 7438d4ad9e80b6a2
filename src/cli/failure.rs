//! What went wrong in a one-shot run, in one shape for both outputs: a line on stderr
//! (`error: policy.yaml:9:17: spec.x: ...`) or, with `-o json`, an `error` object that
//! says at which stage, in which file, field or AWS operation.

use serde::Serialize;

use crate::api::manifest::ManifestError;
use crate::engine::CloudError;

/// The step of a run that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    /// Reading or parsing a file: nothing was observed.
    Read,
    /// The policy's spec is invalid: nothing in AWS was touched.
    Validate,
    /// Credentials, role or endpoint: nothing was observed.
    Connect,
    /// An area could not be read (it was not planned) or a change failed.
    Run,
}

/// One failure, with every detail it has.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub stage: Stage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The AWS operation that failed, e.g. `DescribeSnapshots`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// How AWS refused it: throttled, access_denied, not_found, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub message: String,
}

impl Failure {
    pub fn new(stage: Stage, message: impl Into<String>) -> Failure {
        Failure { stage, file: None, line: None, column: None, field: None, operation: None, kind: None, message: message.into() }
    }

    pub fn in_file(stage: Stage, file: &str, error: &ManifestError) -> Failure {
        Failure {
            file: Some(file.to_string()),
            line: error.location.map(|l| l.line),
            column: error.location.map(|l| l.column),
            field: (!error.field.is_empty()).then(|| error.field.clone()),
            ..Failure::new(stage, error.message.clone())
        }
    }

    pub fn in_aws(stage: Stage, error: &CloudError) -> Failure {
        Failure {
            operation: Some(error.operation.clone()),
            kind: Some(error.kind.as_str().to_string()),
            ..Failure::new(stage, error.message.clone())
        }
    }
}

impl std::fmt::Display for Failure {
    /// `file:line:column: field: message`, as compilers print it, or `Operation failed (kind): message`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for part in [self.file.clone(), self.line.map(|l| l.to_string()), self.column.map(|c| c.to_string())].into_iter().flatten() {
            write!(f, "{part}:")?;
        }
        if self.file.is_some() {
            f.write_str(" ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        match (&self.operation, &self.kind) {
            (Some(operation), Some(kind)) => write!(f, "{operation} failed ({kind}): {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// A policy's failures as its `-o json` entry: `{"policy": ..., "error": {...}, "errors": [...]}`.
pub fn json_entry(policy: Option<&str>, failures: &[Failure]) -> serde_json::Value {
    let mut entry = serde_json::Map::new();
    if let Some(policy) = policy {
        entry.insert("policy".to_string(), policy.into());
    }
    entry.insert("error".to_string(), serde_json::to_value(failures.first()).unwrap_or_default());
    if failures.len() > 1 {
        entry.insert("errors".to_string(), serde_json::to_value(failures).unwrap_or_default());
    }
    serde_json::Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::manifest::Location;
    use crate::engine::ErrorKind;

    #[test]
    fn a_file_error_reads_like_a_compiler_error_and_carries_its_place_in_json() {
        let error = ManifestError {
            location: Some(Location { line: 9, column: 17 }),
            field: "spec.snapshotRetention.maxAgeDays".to_string(),
            message: "-5 is out of range: from 1 to 36500".to_string(),
        };
        let failure = Failure::in_file(Stage::Read, "policy.yaml", &error);
        assert_eq!(failure.to_string(), "policy.yaml:9:17: spec.snapshotRetention.maxAgeDays: -5 is out of range: from 1 to 36500");
        assert_eq!(
            json_entry(None, std::slice::from_ref(&failure)),
            serde_json::json!({"error": {"stage": "read", "file": "policy.yaml", "line": 9, "column": 17,
                "field": "spec.snapshotRetention.maxAgeDays", "message": "-5 is out of range: from 1 to 36500"}})
        );
    }

    #[test]
    fn an_aws_error_names_its_operation() {
        let failure = Failure::in_aws(Stage::Connect, &CloudError::new("GetCallerIdentity", ErrorKind::AccessDenied, "no"));
        assert_eq!(failure.to_string(), "GetCallerIdentity failed (access_denied): no");
        let entry = json_entry(Some("p"), &[failure.clone(), failure]);
        assert_eq!(entry["policy"], "p");
        assert_eq!(entry["error"]["operation"], "GetCallerIdentity");
        assert_eq!(entry["errors"].as_array().map(Vec::len), Some(2));
    }
}
