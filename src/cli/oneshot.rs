//! `frugal plan` and `frugal apply`: the engine once, without a cluster.

use std::process::ExitCode;
use std::sync::Arc;

use std::io::{BufWriter, Read, Stdout};
use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::manifest::{self, Either, Manifest, ManifestError, ManifestErrors};
use crate::api::validate::{ValidatedPolicy, validate};
use crate::api::{CostPolicy, CostPolicySet};
use crate::aws::AwsConnector;
use crate::engine::{self, CloudConnector, report};
use crate::metrics::Metrics;

use super::failure::{self, Failure, Stage};
use super::output::{self, json_array::JsonArray};
use super::set_run::{self, LoadedSet};
use super::{OneShotArgs, OutputFormat};

const EXIT_IN_SYNC: u8 = 0;
const EXIT_ERROR: u8 = 1;
const EXIT_DRIFT: u8 = 2;
/// Longer than any one-shot run.
pub(super) const ONE_RUN: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Errors reading the one-shot commands' files, each naming what went wrong and where.
#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{}", located(path, &errors.0))]
    Invalid { path: String, errors: ManifestErrors },
    #[error("{path}: no CostPolicy or CostPolicySet document found")]
    Empty { path: String },
}

/// One line per error, each starting `path:line:column:` as compilers print them.
pub(super) fn located(path: &str, errors: &[ManifestError]) -> String {
    errors.iter().map(|e| format!("{path}:{e}")).collect::<Vec<_>>().join("\n")
}

/// A CostPolicy read from a file, with where its fields are.
pub struct LoadedPolicy {
    pub path: String,
    pub manifest: Manifest<CostPolicy>,
}

impl LoadedPolicy {
    pub fn name(&self) -> String {
        self.manifest.object.metadata.name.clone().unwrap_or_default()
    }

    /// The policy validated; errors name the field and its place in the file.
    pub fn validate(&self) -> Result<ValidatedPolicy, ManifestErrors> {
        self.manifest.check(validate(&self.name(), &self.manifest.object.spec))
    }
}

/// The files `-f` names: a file, every YAML or JSON file of a directory (sorted, not
/// recursive, as kubectl reads one), or `-` for standard input.
fn sources(files: &[PathBuf]) -> Result<Vec<(String, String)>, OneShotError> {
    let mut texts = Vec::new();
    for file in files {
        let display = file.display().to_string();
        let read_error = |source| OneShotError::Read { path: display.clone(), source };
        if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(read_error)?;
            texts.push(("<stdin>".to_string(), text));
        } else if file.is_dir() {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(file)
                .map_err(read_error)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json"))
                .collect();
            paths.sort();
            if paths.is_empty() {
                return Err(OneShotError::Empty { path: display });
            }
            for path in paths {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| OneShotError::Read { path: path.display().to_string(), source })?;
                texts.push((path.display().to_string(), text));
            }
        } else {
            texts.push((display.clone(), std::fs::read_to_string(file).map_err(read_error)?));
        }
    }
    Ok(texts)
}

/// What `frugal plan|apply -f` reads: policies and sets, each in the files' order.
pub struct Documents {
    pub policies: Vec<LoadedPolicy>,
    pub sets: Vec<LoadedSet>,
}

/// Reads every CostPolicy and CostPolicySet document of the files, strictly: an unknown
/// field, a wrong type or a wrong kind anywhere refuses them all, before anything is observed.
pub fn load_documents(files: &[PathBuf]) -> Result<Documents, OneShotError> {
    let mut documents = Documents { policies: Vec::new(), sets: Vec::new() };
    for (path, text) in sources(files)? {
        let read = manifest::read_either::<CostPolicy, CostPolicySet>(&text)
            .map_err(|errors| OneShotError::Invalid { path: path.clone(), errors })?;
        for manifest in read {
            match manifest {
                Either::First(manifest) => documents.policies.push(LoadedPolicy { path: path.clone(), manifest }),
                Either::Second(manifest) => documents.sets.push(LoadedSet { path: path.clone(), manifest }),
            }
        }
    }
    if documents.policies.is_empty() && documents.sets.is_empty() {
        let path = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ");
        return Err(OneShotError::Empty { path });
    }
    Ok(documents)
}

/// Where a run's reports and failures go: failures to stderr as lines, or with `-o json`
/// everything into the one array on stdout, one entry per policy (or per file error), so a
/// pre-merge check reads one document either way.
pub(super) struct RunOutput {
    pub json: Option<JsonArray<BufWriter<Stdout>>>,
}

impl RunOutput {
    fn new(format: OutputFormat) -> Self {
        RunOutput { json: (format == OutputFormat::Json).then(output::json_array::to_stdout) }
    }

    pub fn is_json(&self) -> bool {
        self.json.is_some()
    }

    /// On stderr each failure is a line `error: {context}{failure}`, then the note if any.
    pub fn report(&mut self, policy: Option<&str>, failures: &[Failure], context: &str, note: &str) {
        self.report_entry(failure::json_entry(policy, failures), failures, context, note);
    }

    /// A set's failures; its `-o json` entry names the set.
    pub fn report_set(&mut self, set: &str, failures: &[Failure], context: &str, note: &str) {
        let mut entry = failure::json_entry(None, failures);
        if let serde_json::Value::Object(map) = &mut entry {
            map.insert("set".to_string(), set.into());
        }
        self.report_entry(entry, failures, context, note);
    }

    fn report_entry(&mut self, entry: serde_json::Value, failures: &[Failure], context: &str, note: &str) {
        if let Some(array) = &mut self.json {
            // A JSON value always serializes; a reader that went away is not an error.
            let _ = array.push(&entry);
            return;
        }
        for failure in failures {
            eprintln!("error: {context}{failure}");
        }
        if !note.is_empty() {
            eprintln!("error: {note}");
        }
    }

    /// Ends the JSON array, when there is one.
    pub fn finish(self) {
        if let Some(array) = self.json {
            array.finish();
        }
    }
}

pub async fn run(args: OneShotArgs, enforce: bool) -> ExitCode {
    let mut out = RunOutput::new(args.output);
    let documents = match load_documents(&args.files) {
        Ok(d) => d,
        Err(error) => {
            let read: Vec<Failure> = match &error {
                OneShotError::Invalid { path, errors } => errors.0.iter().map(|e| Failure::in_file(Stage::Read, path, e)).collect(),
                other => vec![Failure::new(Stage::Read, other.to_string())],
            };
            out.report(None, &read, "", "nothing was observed or changed");
            out.finish();
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if documents.sets.is_empty() {
        run_policies(documents.policies, &args, enforce, out).await
    } else {
        set_run::run(documents.policies, documents.sets, &args, enforce, out).await
    }
}

/// Validates every policy, reporting the invalid ones; true when there was any.
pub(super) fn validate_all(policies: Vec<LoadedPolicy>, out: &mut RunOutput) -> (Vec<ValidatedPolicy>, bool) {
    let mut valid = Vec::new();
    let mut any_invalid = false;
    for policy in policies {
        match policy.validate() {
            Ok(v) => valid.push(v),
            Err(errors) => {
                let invalid: Vec<Failure> = errors.0.iter().map(|e| Failure::in_file(Stage::Validate, &policy.path, e)).collect();
                let name = policy.name();
                out.report(Some(&name), &invalid, "", &format!("policy {name:?} is invalid, nothing in AWS was touched"));
                any_invalid = true;
            }
        }
    }
    (valid, any_invalid)
}

/// One policy's run, as both `-f` paths make it.
pub(super) struct Ran {
    pub drift: usize,
    /// False for `frugal plan` of an Enforce policy with changes: its status assumes they
    /// were made, so it is not shown as the account's verdict (the JSON carries it as such).
    pub status_is_current: bool,
    pub applied: engine::AppliedRun,
    pub status: crate::api::CostPolicyStatus,
    /// The run's first AWS failure.
    pub failure: Option<Failure>,
}

/// Connects, plans `policy` next to `others` (conflicts: the stricter safety wins), acts
/// when `enforce`, and computes the status the operator would write. `show`, when given,
/// gets the plan table before anything is changed, then the apply table (not built without
/// it: on a large account they are thousands of lines). Err: AWS could not be reached.
pub(super) async fn run_policy(
    connector: &dyn CloudConnector,
    policy: &ValidatedPolicy,
    others: &[&ValidatedPolicy],
    enforce: bool,
    mut show: Option<&mut dyn FnMut(String)>,
) -> Result<Ran, Failure> {
    let cloud = connector.connect(&policy.aws).await.map_err(|error| Failure::in_aws(Stage::Connect, &error))?;
    let peers = engine::peers(connector, policy, others).await;
    let planned =
        engine::observe_and_plan_with_peers(cloud.as_ref(), policy.clone(), peers, k8s_openapi::jiff::Timestamp::now().as_second()).await;
    let drift = planned.drift_count();
    let status_is_current = enforce || planned.policy.is_audit() || planned.change_count() == 0;
    if let Some(show) = show.as_mut() {
        show(output::plan_table(&planned));
    }
    let applied = if enforce {
        let applied = engine::act(cloud.as_ref(), planned).await;
        if let Some(show) = show.as_mut() {
            show(output::apply_table(&applied));
        }
        applied
    } else {
        planned.without_acting()
    };
    let status = report::status(&applied, None, None, &Time(k8s_openapi::jiff::Timestamp::now()));
    let failure = applied.first_error().map(|error| Failure::in_aws(Stage::Run, error));
    Ok(Ran { drift, status_is_current, applied, status, failure })
}

/// Policies only: one after the other, each printed in full as it is done.
async fn run_policies(policies: Vec<LoadedPolicy>, args: &OneShotArgs, enforce: bool, mut out: RunOutput) -> ExitCode {
    let json = out.is_json();
    // One run observes each account once: policies of one account share its reads for the
    // whole run, and any change the run makes there ends the sharing, so it is always seen.
    let metrics = Metrics::new();
    let connector: Arc<dyn CloudConnector> =
        Arc::new(AwsConnector::new(metrics.clone(), args.pacing.config()).with_observation_ttl(ONE_RUN));
    // Validate every policy first: each is planned next to the valid others of the file, so
    // two policies governing the same snapshots or VPCs are reported and the stricter wins.
    let (valid, any_invalid) = validate_all(policies, &mut out);
    let mut exit = if any_invalid { EXIT_ERROR } else { EXIT_IN_SYNC };
    for validated in &valid {
        let name = validated.name.clone();
        let requests_before = metrics.aws_request_counts();
        let others: Vec<&ValidatedPolicy> = valid.iter().collect();
        let mut print = |table: String| super::stdout(&table);
        let show = (!json).then_some(&mut print as &mut dyn FnMut(String));
        let ran = match run_policy(connector.as_ref(), validated, &others, enforce, show).await {
            Ok(ran) => ran,
            Err(unreachable) => {
                out.report(Some(&name), &[unreachable], &format!("policy {name:?}: cannot reach AWS: "), "");
                exit = EXIT_ERROR;
                continue;
            }
        };
        if !json && ran.status_is_current {
            super::stdout(&output::status_summary(&ran.status));
        }
        let run_failure = ran.failure;
        if let Some(array) = &mut out.json {
            let requests = output::aws_requests_json(&requests_before, &metrics.aws_request_counts());
            let report = output::json_report(&ran.applied, &ran.status, requests).with_error(run_failure.clone());
            if let Err(error) = array.push(&report) {
                eprintln!("error: policy {name:?}: {error}");
                exit = EXIT_ERROR;
            }
        }
        if run_failure.is_some() {
            exit = EXIT_ERROR;
        } else if !enforce && ran.drift > 0 && exit == EXIT_IN_SYNC {
            exit = EXIT_DRIFT;
        }
    }
    out.finish();
    ExitCode::from(exit)
}
