//! `frugal crd`: every CRD as YAML, separated by `---`; crds/<singular>.yaml holds each,
//! committed.

use std::process::ExitCode;

/// The CRD documents exactly as committed in crds/, one after the other.
pub fn yaml() -> Result<String, serde_yaml::Error> {
    let documents = crate::api::crds().iter().map(serde_yaml::to_string).collect::<Result<Vec<_>, _>>()?;
    Ok(documents.join("---\n"))
}

pub fn print() -> ExitCode {
    match yaml() {
        Ok(text) => {
            super::stdout(&text);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot render the CRDs: {error}");
            ExitCode::FAILURE
        }
    }
}
