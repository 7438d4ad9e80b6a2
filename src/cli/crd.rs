//! `frugal crd`: the CRD as YAML; crds/costpolicy.yaml is this output, committed.

use std::process::ExitCode;

/// The CRD document exactly as committed in crds/.
pub fn yaml() -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&crate::api::crd())
}

pub fn print() -> ExitCode {
    match yaml() {
        Ok(text) => {
            super::stdout(&text);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot render the CRD: {error}");
            ExitCode::FAILURE
        }
    }
}
