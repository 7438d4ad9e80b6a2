//! `frugal crd [KIND]`: the CRDs as YAML, every one separated by `---` or one by kind;
//! crds/<kind>.yaml holds each, committed.

use std::process::ExitCode;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// One of the CRDs, by the name of its file in crds/.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Costpolicy,
    Notifier,
    Costpolicyset,
}

impl Kind {
    fn crd(self) -> CustomResourceDefinition {
        match self {
            Kind::Costpolicy => crate::api::crd(),
            Kind::Notifier => crate::api::notifier_crd(),
            Kind::Costpolicyset => crate::api::policy_set_crd(),
        }
    }
}

/// The documents of `kind`, or of every CRD (`api::crds()`) separated by `---`, exactly as
/// committed in crds/.
pub fn documents(kind: Option<Kind>) -> Result<String, serde_yaml::Error> {
    let crds = kind.map(|k| vec![k.crd()]).unwrap_or_else(crate::api::crds);
    let documents = crds.iter().map(serde_yaml::to_string).collect::<Result<Vec<_>, _>>()?;
    Ok(documents.join("---\n"))
}

pub fn print(kind: Option<Kind>) -> ExitCode {
    match documents(kind) {
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
