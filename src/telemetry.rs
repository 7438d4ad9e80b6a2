//! Logging: JSON in clusters, text on terminals; `RUST_LOG` filters.

use std::io::IsTerminal;

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
    // aws_config warns once per credential provider that found nothing, with a debug dump
    // each; the error that follows says the same in one line (aws::error).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,aws_config=error,aws_smithy_runtime=warn"));
    let filter = clamp_credential_targets(filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR").as_deref()));
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    if result.is_err() {
        eprintln!("logging was already initialised");
    }
}

/// Colour only on a terminal, and never when NO_COLOR is set to anything but empty
/// (no-color.org): logs and CI get plain text.
fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
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
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(std::ffi::OsStr::new(""))));
        assert!(!colour(true, Some(std::ffi::OsStr::new("1"))));
        assert!(!colour(false, None));
    }

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
