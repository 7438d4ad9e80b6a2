//! `frugal crd`: the CRDs as YAML; crds/costpolicy.yaml and crds/notifier.yaml are this
//! output, committed.

use std::process::ExitCode;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// One of the CRDs, by the name of its file in crds/.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Costpolicy,
    Notifier,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Costpolicy, Kind::Notifier];

    fn crd(self) -> CustomResourceDefinition {
        match self {
            Kind::Costpolicy => crate::api::crd(),
            Kind::Notifier => crate::api::notifier_crd(),
        }
    }
}

/// One CRD document exactly as committed in crds/.
pub fn yaml(kind: Kind) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&kind.crd())
}

/// The documents of `kind`, or of every CRD separated by `---`.
pub fn documents(kind: Option<Kind>) -> Result<String, serde_yaml::Error> {
    let kinds = kind.map(|k| vec![k]).unwrap_or_else(|| Kind::ALL.to_vec());
    let documents = kinds.into_iter().map(yaml).collect::<Result<Vec<_>, _>>()?;
    Ok(documents.join("---\n"))
}

pub fn print(kind: Option<Kind>) -> ExitCode {
    match documents(kind) {
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
