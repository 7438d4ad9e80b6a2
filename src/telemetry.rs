//! Logging: JSON in clusters, text on terminals; `RUST_LOG` filters.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Targets of the AWS SDK whose debug and trace output carries credential material
/// (resolved identities with access key ids, endpoint parameters that embed them, canonical
/// requests with session tokens and signatures). They are held at `info` whatever `RUST_LOG`
/// asks: no credential ever reaches the logs.
const CREDENTIAL_BEARING_TARGETS: [&str; 6] =
    ["aws_sigv4", "aws_smithy_runtime", "aws_smithy_runtime_api", "aws_runtime", "aws_config", "aws_credential_types"];

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,aws_config=warn,aws_smithy_runtime=warn"));
    let filter = clamp_credential_targets(filter);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if result.is_err() {
        eprintln!("logging was already initialised");
    }
}

fn clamp_credential_targets(mut filter: EnvFilter) -> EnvFilter {
    // Only a filter that lets debug through can let these targets through at debug; below
    // that there is nothing to hold back (and nothing is made louder).
    if filter.max_level_hint().is_some_and(|level| level <= LevelFilter::INFO) {
        return filter;
    }
    for target in CREDENTIAL_BEARING_TARGETS {
        if let Ok(directive) = format!("{target}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_is_held_at_info_and_nothing_is_made_louder() {
        for verbose in ["trace", "debug", "info,aws_sigv4=trace"] {
            let clamped = clamp_credential_targets(EnvFilter::new(verbose)).to_string();
            assert!(clamped.contains("aws_sigv4=info") && clamped.contains("aws_smithy_runtime=info"), "{verbose}: {clamped}");
        }
        let quiet = clamp_credential_targets(EnvFilter::new("info,aws_smithy_runtime=warn")).to_string();
        assert!(!quiet.contains("=info,aws") && quiet.contains("aws_smithy_runtime=warn"), "{quiet}");
    }
}
