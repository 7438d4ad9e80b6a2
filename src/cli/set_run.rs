//! `frugal plan|apply -f` with CostPolicySets: each set expands into one policy per account
//! and region, and every account-region (the file's own policies too) runs at once, at most
//! `--parallel` at a time, ending in one summary line each and the totals.
//!
//! Pacing needs nothing here: the connector's pacers are keyed by account and region, so
//! account-regions running side by side never share (or overdraw) one bucket.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::api::manifest::{Manifest, ManifestErrors};
use crate::api::validate::{ValidatedPolicy, ValidatedSet, validate, validate_set};
use crate::api::{CostPolicySet, CostPolicyStatus};
use crate::aws::AwsConnector;
use crate::aws::organizations::AwsOrganizations;
use crate::engine::CloudConnector;
use crate::metrics::Metrics;
use crate::set::accounts::{AccountsError, resolve};

use super::OneShotArgs;
use super::failure::{Failure, Stage};
use super::oneshot::{LoadedPolicy, ONE_RUN, Ran, RunOutput, run_policy, validate_all};
use super::output::{self, summary};

const EXIT_ERROR: u8 = 1;
const EXIT_DRIFT: u8 = 2;
/// How often the progress line's elapsed time moves while nothing finishes.
const PROGRESS_TICK: Duration = Duration::from_millis(500);

/// A CostPolicySet read from a file, with where its fields are.
pub struct LoadedSet {
    pub path: String,
    pub manifest: Manifest<CostPolicySet>,
}

impl LoadedSet {
    pub fn name(&self) -> String {
        self.manifest.object.metadata.name.clone().unwrap_or_default()
    }

    /// The set validated; errors name the field (`spec.template.…`) and its place in the file.
    pub fn validate(&self) -> Result<ValidatedSet, ManifestErrors> {
        self.manifest.check(validate_set(&self.name(), &self.manifest.object.spec))
    }
}

/// The policies of a set over `accounts`, each validated like a hand-written one.
fn expand(set: &ValidatedSet, accounts: &[String]) -> Vec<Result<ValidatedPolicy, (String, crate::api::validate::InvalidSpec)>> {
    crate::set::desired::desired(set, accounts)
        .into_iter()
        .map(|generated| validate(&generated.name, &generated.spec).map_err(|invalid| (generated.name.clone(), invalid)))
        .collect()
}

/// One account-region to run: a set's generated policy, or a policy of the file.
struct Unit {
    account: String,
    set: Option<String>,
    policy: ValidatedPolicy,
}

impl Unit {
    fn order(&self) -> (&str, &str, &str) {
        (&self.account, &self.policy.aws.region, &self.policy.name)
    }
}

/// The account a hand-written policy reaches: its role's, or the CLI's own credentials'.
fn account_of(policy: &ValidatedPolicy) -> String {
    role_account(policy).map_or_else(|| "(own)".to_string(), str::to_string)
}

/// What one account-region's run leaves for the output: its line, its details, its JSON.
struct Done {
    row: summary::Row,
    /// plan, changes and status as a single policy's run prints them (`-v`).
    details: String,
    json: Option<String>,
    failure: Option<Failure>,
}

/// Settings every account-region's run shares.
struct Shared<'a> {
    connector: &'a dyn CloudConnector,
    metrics: &'a Metrics,
    /// Every valid policy of the invocation, by the account of its role (None: the CLI's own
    /// credentials): conflicts are found among all of them.
    by_account: BTreeMap<Option<&'a str>, Vec<&'a ValidatedPolicy>>,
    enforce: bool,
    json: bool,
    verbose: bool,
    /// Each run's AWS requests are its own only when runs do not overlap.
    count_requests: bool,
}

impl<'a> Shared<'a> {
    /// The policies that may govern what `policy` governs: those of its account and those of
    /// the CLI's own credentials (which may be any account); every one for the latter. Only
    /// these are compared, so a fleet's run does not compare every pair of account-regions.
    fn peer_candidates(&self, policy: &ValidatedPolicy) -> Vec<&'a ValidatedPolicy> {
        match role_account(policy) {
            None => self.by_account.values().flatten().copied().collect(),
            Some(account) => [Some(account), None].iter().filter_map(|key| self.by_account.get(key)).flatten().copied().collect(),
        }
    }
}

fn role_account(policy: &ValidatedPolicy) -> Option<&str> {
    policy.aws.role_arn.as_deref().and_then(|arn| arn.split(':').nth(4))
}

pub async fn run(policies: Vec<LoadedPolicy>, sets: Vec<LoadedSet>, args: &OneShotArgs, enforce: bool, mut out: RunOutput) -> ExitCode {
    let json = out.is_json();
    let mut exit = 0;
    let (valid, invalid) = validate_all(policies, &mut out);
    if invalid {
        exit = EXIT_ERROR;
    }
    let mut valid_sets = Vec::new();
    for set in &sets {
        match set.validate() {
            Ok(v) => valid_sets.push(v),
            Err(errors) => {
                let refused: Vec<Failure> = errors.0.iter().map(|e| Failure::in_file(Stage::Validate, &set.path, e)).collect();
                let name = set.name();
                out.report_set(&name, &refused, "", &format!("set {name:?} is invalid, nothing in AWS was touched"));
                exit = EXIT_ERROR;
            }
        }
    }
    let metrics = Metrics::new();
    let connector = Arc::new(AwsConnector::new(metrics.clone(), args.pacing.config()).with_observation_ttl(ONE_RUN));
    let organizations = AwsOrganizations::new(connector.clone());
    let mut units: Vec<Unit> = valid.into_iter().map(|policy| Unit { account: account_of(&policy), set: None, policy }).collect();
    for set in &valid_sets {
        // Its ids, or the ACTIVE accounts of its units, read through the set's reader role.
        let accounts = match resolve(set, &organizations).await {
            Ok(accounts) => accounts,
            Err(AccountsError::Organizations { role_arn, target, error }) => {
                let failure = Failure::in_aws(Stage::Connect, &error);
                let context = format!("set {:?}: cannot read the organization through {role_arn} ({target}): ", set.name);
                out.report_set(&set.name, &[failure], &context, "nothing of this set was observed or changed");
                exit = EXIT_ERROR;
                continue;
            }
        };
        for generated in expand(set, &accounts) {
            match generated {
                Ok(policy) => units.push(Unit { account: account_of(&policy), set: Some(set.name.clone()), policy }),
                // validate_set checks the template as every generated policy has it: a bug if seen.
                Err((name, invalid)) => {
                    let failure = Failure::new(Stage::Validate, invalid.to_string());
                    out.report_set(&set.name, &[failure], &format!("set {:?}: policy {name:?}: ", set.name), "");
                    exit = EXIT_ERROR;
                }
            }
        }
    }
    units.sort_by(|a, b| a.order().cmp(&b.order()));
    let all: Vec<ValidatedPolicy> = units.iter().map(|u| u.policy.clone()).collect();
    let parallel = usize::from(args.parallel.max(1));
    let shared = Shared {
        connector: connector.as_ref(),
        metrics: &metrics,
        by_account: all.iter().fold(BTreeMap::new(), |mut by_account, policy| {
            by_account.entry(role_account(policy)).or_insert_with(Vec::new).push(policy);
            by_account
        }),
        enforce,
        json,
        verbose: args.verbose,
        count_requests: parallel == 1,
    };
    let done = run_all(&shared, &units, parallel).await;

    let mut rows = Vec::with_capacity(done.len());
    let mut details = String::new();
    for (unit, done) in units.iter().zip(done) {
        if let Some(failure) = &done.failure {
            if !json {
                eprintln!("error: {} {} (policy {:?}): {failure}", unit.account, unit.policy.aws.region, unit.policy.name);
            }
            exit = EXIT_ERROR;
        } else if !enforce && done.row.drift > 0 && exit == 0 {
            exit = EXIT_DRIFT;
        }
        details.push_str(&done.details);
        if let (Some(array), Some(entry)) = (&mut out.json, &done.json) {
            array.push_entry(entry);
        }
        rows.push(done.row);
    }
    if json {
        out.finish();
    } else if !rows.is_empty() {
        if !details.is_empty() {
            super::stdout(&details);
            super::stdout("\n");
        }
        super::stdout(&summary::table(&rows));
    }
    ExitCode::from(exit)
}

/// Every unit, at most `parallel` at once, the results in the units' order; progress on a
/// terminal meanwhile.
async fn run_all(shared: &Shared<'_>, units: &[Unit], parallel: usize) -> Vec<Done> {
    let mut progress = Progress::new(units.len());
    let mut results: Vec<Option<Done>> = units.iter().map(|_| None).collect();
    let mut runs = futures::stream::iter(units.iter().enumerate())
        .map(|(index, unit)| async move { (index, run_one(shared, unit).await) })
        .buffer_unordered(parallel);
    let mut ticker = tokio::time::interval(PROGRESS_TICK);
    loop {
        tokio::select! {
            next = runs.next() => match next {
                Some((index, done)) => {
                    results[index] = Some(done);
                    progress.done += 1;
                    progress.draw();
                }
                None => break,
            },
            _ = ticker.tick() => progress.draw(),
        }
    }
    progress.clear();
    results.into_iter().flatten().collect()
}

/// One account-region: connect, plan (next to every other policy of the run), act when
/// applying, and the status the operator would write.
async fn run_one(shared: &Shared<'_>, unit: &Unit) -> Done {
    let policy = &unit.policy;
    let mut row = summary::Row {
        account: unit.account.clone(),
        region: policy.aws.region.clone(),
        policy: policy.name.clone(),
        ..summary::Row::default()
    };
    let requests_before = shared.metrics.aws_request_counts();
    let show = shared.verbose && !shared.json;
    let mut details = String::new();
    let mut collect = |table: String| {
        if details.is_empty() {
            details.push('\n');
        }
        details.push_str(&table);
    };
    let tables = show.then_some(&mut collect as &mut dyn FnMut(String));
    let ran = match run_policy(shared.connector, policy, &shared.peer_candidates(policy), shared.enforce, tables).await {
        Ok(ran) => ran,
        Err(failure) => {
            row.error = Some(format!("cannot reach AWS: {failure}"));
            let json = shared.json.then(|| {
                let mut entry = super::failure::json_entry(Some(&policy.name), std::slice::from_ref(&failure));
                located(&mut entry, unit);
                output::json_array::entry(&entry).unwrap_or_default()
            });
            return Done { row, details: String::new(), json, failure: Some(failure) };
        }
    };
    row.drift = ran.drift;
    if show && ran.status_is_current {
        details.push_str(&output::status_summary(&ran.status));
    }
    let Ran { applied, status, failure, .. } = ran;
    fill_row(&mut row, &status, failure.as_ref());
    let json = shared.json.then(|| {
        let requests = if shared.count_requests {
            output::aws_requests_json(&requests_before, &shared.metrics.aws_request_counts())
        } else {
            serde_json::Value::Null
        };
        let report = output::json_report(&applied, &status, requests).with_error(failure.clone());
        let entry = output::AccountRegionJson::new(&unit.account, unit.set.as_deref(), report);
        output::json_array::entry(&entry)
            .unwrap_or_else(|error| format!("{{\"policy\": {:?}, \"error\": {{\"message\": {:?}}}}}", policy.name, error.to_string()))
    });
    Done { row, details, json, failure }
}

/// The summary line's values from the status the run computed.
fn fill_row(row: &mut summary::Row, status: &CostPolicyStatus, failure: Option<&Failure>) {
    row.findings = status.findings;
    if let Some(cost) = &status.cost {
        row.waste_cents = summary::cents(&cost.monthly_waste_usd);
        row.savings_cents = summary::cents(&cost.monthly_savings_usd);
    }
    row.error = failure.map(ToString::to_string);
}

/// Adds the account, region and set to a failure's JSON entry.
fn located(entry: &mut serde_json::Value, unit: &Unit) {
    if let serde_json::Value::Object(map) = entry {
        map.insert("account".to_string(), unit.account.clone().into());
        map.insert("region".to_string(), unit.policy.aws.region.clone().into());
        if let Some(set) = &unit.set {
            map.insert("set".to_string(), set.clone().into());
        }
    }
}

/// `[done/total] elapsed` on stderr, rewritten in place, only on a terminal: piped or
/// redirected output never carries it.
struct Progress {
    enabled: bool,
    start: Instant,
    total: usize,
    done: usize,
    width: usize,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress { enabled: std::io::stderr().is_terminal() && total > 0, start: Instant::now(), total, done: 0, width: 0 }
    }

    fn draw(&mut self) {
        if !self.enabled {
            return;
        }
        let line = progress_line(self.done, self.total, self.start.elapsed());
        self.width = self.width.max(line.len());
        eprint!("\r{line:<width$}", width = self.width);
    }

    fn clear(&mut self) {
        if self.enabled && self.width > 0 {
            eprint!("\r{:width$}\r", "", width = self.width);
        }
    }
}

fn progress_line(done: usize, total: usize, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    format!("[{done}/{total}] {}:{:02} elapsed", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_done_over_total_and_minutes_seconds() {
        assert_eq!(progress_line(3, 12, Duration::from_millis(75_900)), "[3/12] 1:15 elapsed");
    }

    #[test]
    fn a_policy_without_a_role_runs_in_the_clis_own_account() {
        let spec: crate::api::CostPolicySpec =
            serde_yaml::from_str("aws: {region: eu-west-1}\ngatewayEndpoints: {services: [s3]}\n").expect("fixture parses");
        let mut policy = validate("p", &spec).expect("valid");
        assert_eq!(account_of(&policy), "(own)");
        policy.aws.role_arn = Some("arn:aws:iam::111122223333:role/r".into());
        assert_eq!(account_of(&policy), "111122223333");
    }
}
