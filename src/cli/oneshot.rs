//! `frugal plan` and `frugal apply`: the engine once, without a cluster.

use std::process::ExitCode;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Deserialize;

use crate::api::CostPolicy;
use crate::api::validate::validate;
use crate::aws::AwsConnector;
use crate::engine::{self, CloudConnector, report};
use crate::metrics::Metrics;
use crate::plan::conflicts;

use super::output;
use super::{OneShotArgs, OutputFormat};

const EXIT_IN_SYNC: u8 = 0;
const EXIT_ERROR: u8 = 1;
const EXIT_DRIFT: u8 = 2;
/// Longer than any one-shot run.
const ONE_RUN: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Errors of the one-shot commands, each naming what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: document {index} is not a CostPolicy: {source}")]
    Parse { path: String, index: usize, source: serde_yaml::Error },
    #[error("{path}: no CostPolicy document found")]
    Empty { path: String },
}

/// Reads every CostPolicy document of a YAML file.
pub fn load(path: &std::path::Path) -> Result<Vec<CostPolicy>, OneShotError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| OneShotError::Read { path: display.clone(), source })?;
    let mut policies = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let value = serde_yaml::Value::deserialize(document).map_err(|source| OneShotError::Parse {
            path: display.clone(),
            index: index + 1,
            source,
        })?;
        if value.is_null() {
            continue;
        }
        let policy: CostPolicy =
            serde_yaml::from_value(value).map_err(|source| OneShotError::Parse { path: display.clone(), index: index + 1, source })?;
        policies.push(policy);
    }
    if policies.is_empty() {
        return Err(OneShotError::Empty { path: display });
    }
    Ok(policies)
}

pub async fn run(args: OneShotArgs, enforce: bool) -> ExitCode {
    let policies = match load(&args.file) {
        Ok(p) => p,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    // One run observes each account once: policies of one account share its reads for the
    // whole run, and any change the run makes there ends the sharing, so it is always seen.
    let metrics = Metrics::new();
    let connector: Arc<dyn CloudConnector> =
        Arc::new(AwsConnector::new(metrics.clone(), args.pacing.config()).with_observation_ttl(ONE_RUN));
    let mut exit = EXIT_IN_SYNC;
    let mut json_reports = Vec::new();
    // Validate every policy first: each is planned next to the valid others of the file, so
    // two policies governing the same snapshots or VPCs are reported and the stricter wins.
    let mut valid = Vec::new();
    for policy in policies {
        let name = policy.metadata.name.clone().unwrap_or_default();
        match validate(&name, &policy.spec) {
            Ok(v) => valid.push(v),
            Err(error) => {
                eprintln!("error: policy {name:?} is invalid, nothing in AWS was touched: {error}");
                exit = EXIT_ERROR;
            }
        }
    }
    for validated in &valid {
        let name = validated.name.clone();
        let requests_before = metrics.aws_request_counts();
        let cloud = match connector.connect(&validated.aws).await {
            Ok(cloud) => cloud,
            Err(error) => {
                eprintln!("error: policy {name:?}: cannot reach AWS: {error}");
                exit = EXIT_ERROR;
                continue;
            }
        };
        let peers = conflicts::peers(validated, &valid);
        let planned =
            engine::observe_and_plan_with_peers(cloud.as_ref(), validated.clone(), peers, k8s_openapi::jiff::Timestamp::now().as_second())
                .await;
        let drift = planned.drift_count();
        // `frugal plan` of an Enforce policy with changes: the status it computes assumes they
        // were made, so it is not shown as the account's verdict (the JSON carries it as such).
        let status_is_current = enforce || planned.policy.is_audit() || planned.change_count() == 0;
        if args.output == OutputFormat::Table {
            print!("{}", output::plan_table(&planned));
        }
        let applied = if enforce {
            let applied = engine::act(cloud.as_ref(), planned).await;
            if args.output == OutputFormat::Table {
                print!("{}", output::apply_table(&applied));
            }
            applied
        } else {
            planned.without_acting()
        };
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let status = report::status(&applied, None, None, &now);
        if args.output == OutputFormat::Table && status_is_current {
            print!("{}", output::status_summary(&status));
        }
        if args.output == OutputFormat::Json {
            let requests = output::aws_requests_json(&requests_before, &metrics.aws_request_counts());
            match serde_json::to_string_pretty(&output::json_report(&applied, &status, requests)) {
                Ok(text) => json_reports.push(text),
                Err(error) => {
                    eprintln!("error: policy {name:?}: {error}");
                    exit = EXIT_ERROR;
                }
            }
        }
        if applied.first_error().is_some() {
            exit = EXIT_ERROR;
        } else if !enforce && drift > 0 && exit == EXIT_IN_SYNC {
            exit = EXIT_DRIFT;
        }
    }
    if args.output == OutputFormat::Json {
        println!("{}", output::json_array(&json_reports));
    }
    ExitCode::from(exit)
}
