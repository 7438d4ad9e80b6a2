//! The command line: `run`, `crd`, `plan`, `apply`, `iam-policy`. Thin: each command
//! parses its flags and calls into the controller or the engine.

pub mod crd;
mod failure;
mod iam_policy;
mod oneshot;
mod output;
mod set_run;

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::aws::{PaceClass, PacingConfig};
use crate::telemetry::LogFormat;

#[derive(Parser, Debug)]
#[command(
    name = "frugal",
    version,
    about = "Keeps AWS accounts aligned with cost and security practices declared as CostPolicy objects",
    after_help = "Exit codes: 0 in sync (plan) or done, 1 an error in a spec or in AWS, 2 drift (plan), 64 a usage error."
)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text", env = "FRUGAL_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller against the cluster of the current kubeconfig (or in-cluster).
    Run(RunArgs),
    /// Print the CustomResourceDefinitions (CostPolicy, Notifier, CostPolicySet) as YAML, or the one KIND names.
    Crd {
        #[arg(value_enum)]
        kind: Option<crd::Kind>,
    },
    /// Observe the account and show what would change; exit 0 = in sync, 2 = drift, 1 = error, 64 = usage.
    Plan(OneShotArgs),
    /// Enforce a policy file once (Audit mode in the file still changes nothing).
    Apply(OneShotArgs),
    /// Print the least-privilege IAM policy the enabled areas need (JSON on stdout, notes on stderr).
    IamPolicy(IamPolicyArgs),
}

#[derive(clap::Args, Debug)]
pub struct IamPolicyArgs {
    /// Areas to grant, comma-separated. Default: all, or with -f those the file's policies
    /// enable.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub areas: Vec<crate::api::AreaName>,
    /// CostPolicy YAML file(s): roles, regions and accounts come from their policies, and only
    /// what they enable is granted.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<std::path::PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080", env = "FRUGAL_METRICS_ADDR")]
    pub metrics_addr: SocketAddr,
    /// Only reconcile CostPolicies whose labels match this selector (to shard policies
    /// across several operator deployments), e.g. `shard=a`.
    #[arg(long, env = "FRUGAL_POLICY_SELECTOR")]
    pub policy_selector: Option<String>,
    /// IAM role ARN patterns (`*` wildcards, comma-separated) that policies may name in
    /// aws.roleArn; any other role gets Stalled=True, reason RoleNotAllowed, and no AWS
    /// call. Empty: every role is allowed.
    #[arg(long, value_delimiter = ',', env = "FRUGAL_ALLOWED_ROLE_ARNS")]
    pub allowed_role_arns: Vec<String>,
    /// Elect a leader among the replicas through a coordination.k8s.io Lease; only the
    /// leader reconciles. Turn it off only where a single process runs (local runs, tests).
    #[arg(
        long,
        default_value_t = true,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true",
        env = "FRUGAL_LEADER_ELECTION"
    )]
    pub leader_election: bool,
    /// Namespace of the Lease. Default: the pod's namespace (POD_NAMESPACE, from the
    /// downward API), else the in-cluster service account's, else the kubeconfig context's,
    /// else `default`.
    #[arg(long, env = "POD_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Name of the Lease. Deployments that shard policies with --policy-selector need one
    /// each (or separate namespaces), or only one shard would run.
    #[arg(long, default_value = "frugal-operator", env = "FRUGAL_LEADER_ELECTION_LEASE_NAME")]
    pub leader_election_lease_name: String,
    /// How long one account's reads (per region and read) are shared between the policies
    /// that target it, e.g. `30s`; `0s` shares nothing. Any change the operator makes in
    /// the account ends the sharing at once, so its own changes are always seen.
    #[arg(long, default_value = "30s", value_parser = crate::api::validate::parse_duration, env = "FRUGAL_OBSERVATION_TTL")]
    pub observation_ttl: std::time::Duration,
    /// How many policies are reconciled at the same time (`0`: no limit). Policies of one
    /// account and region share its client-side pacing, so more at once does not finish them
    /// sooner; a bound lets each policy finish (and be Ready) in turn, instead of all of them
    /// waiting for the pacer together, and bounds the memory of reconciles in flight.
    #[arg(long, default_value_t = 16, env = "FRUGAL_MAX_CONCURRENT_RECONCILES")]
    pub max_concurrent_reconciles: u16,
    /// The namespace whose Secrets Notifiers may name in spec.secretRef (deploy/'s Role
    /// grants `get` on Secrets there only). Default: the pod's namespace (POD_NAMESPACE),
    /// else the in-cluster service account's, else the kubeconfig context's, else `default`.
    #[arg(long, env = "POD_NAMESPACE")]
    pub notifier_secret_namespace: Option<String>,
    #[command(flatten)]
    pub pacing: PacingArgs,
}

/// Each flag is BURST/RATE_PER_SECOND for one class of calls, per account and region. The
/// pacer spends at most BURST-1 at once: it keeps one token of AWS's bucket in reserve, so
/// clock jitter between us and AWS never turns a full burst into a throttled call.
#[derive(clap::Args, Debug, Clone)]
#[command(
    next_help_heading = "Client-side pacing (BURST/RATE_PER_SECOND per account and region; one token of each burst is kept in reserve)"
)]
pub struct PacingArgs {
    /// Client-side pacing of Create/Modify/DeleteVpcEndpoint(s) per account and region, as
    /// BURST/RATE_PER_SECOND (EC2's own bucket: 4/0.3).
    #[arg(long, default_value = "4/0.3", value_parser = parse_rate, env = "FRUGAL_VPC_ENDPOINT_PACING")]
    pub vpc_endpoint_pacing: (f64, f64),
    /// Client-side pacing of describe calls per account and region, BURST/RATE_PER_SECOND.
    #[arg(long, default_value = "100/20", value_parser = parse_rate, env = "FRUGAL_DESCRIBE_PACING")]
    pub describe_pacing: (f64, f64),
    /// Client-side pacing of DeleteSnapshot per account and region (EC2's bucket: 100/5).
    #[arg(long, default_value = "100/5", value_parser = parse_rate, env = "FRUGAL_DELETE_SNAPSHOT_PACING")]
    pub delete_snapshot_pacing: (f64, f64),
    /// Client-side pacing of CreateTags per account and region (EC2's bucket: 100/10).
    #[arg(long, default_value = "100/10", value_parser = parse_rate, env = "FRUGAL_CREATE_TAGS_PACING")]
    pub create_tags_pacing: (f64, f64),
    /// Client-side pacing of other mutating EC2 calls per account and region (EC2's default: 50/5).
    #[arg(long, default_value = "50/5", value_parser = parse_rate, env = "FRUGAL_MUTATING_PACING")]
    pub mutating_pacing: (f64, f64),
    /// Client-side pacing of Authorize/RevokeSecurityGroupIngress per account and region
    /// (EC2's bucket: 50/5).
    #[arg(long, default_value = "50/5", value_parser = parse_rate, env = "FRUGAL_SECURITY_GROUP_INGRESS_PACING")]
    pub security_group_ingress_pacing: (f64, f64),
    /// Client-side pacing of AssociateIamInstanceProfile per account and region (EC2's
    /// bucket: 100/5).
    #[arg(long, default_value = "100/5", value_parser = parse_rate, env = "FRUGAL_ASSOCIATE_INSTANCE_PROFILE_PACING")]
    pub associate_instance_profile_pacing: (f64, f64),
}

impl RunArgs {
    /// The controller's settings, from the flags.
    pub fn config(&self) -> crate::controller::Config {
        crate::controller::Config {
            metrics_addr: self.metrics_addr,
            policy_selector: self.policy_selector.clone(),
            allowed_role_arns: self.allowed_role_arns.clone(),
            leader_election: self.leader_election.then(|| crate::controller::LeaseConfig {
                namespace: self.leader_election_namespace.clone(),
                name: self.leader_election_lease_name.clone(),
            }),
            observation_ttl: self.observation_ttl,
            max_concurrent_reconciles: self.max_concurrent_reconciles,
            pacing: self.pacing.config(),
            secret_namespace: self.notifier_secret_namespace.clone(),
        }
    }
}

impl PacingArgs {
    pub fn config(&self) -> PacingConfig {
        let mut config = PacingConfig::default();
        config.rates.insert(PaceClass::VpcEndpointMutation, self.vpc_endpoint_pacing);
        config.rates.insert(PaceClass::NonMutating, self.describe_pacing);
        config.rates.insert(PaceClass::DeleteSnapshot, self.delete_snapshot_pacing);
        config.rates.insert(PaceClass::CreateTags, self.create_tags_pacing);
        config.rates.insert(PaceClass::Mutating, self.mutating_pacing);
        config.rates.insert(PaceClass::SecurityGroupIngress, self.security_group_ingress_pacing);
        config.rates.insert(PaceClass::AssociateIamInstanceProfile, self.associate_instance_profile_pacing);
        config
    }
}

/// `--areas` takes the spec's keys, and clap lists them in `--help` and in its errors.
impl clap::ValueEnum for crate::api::AreaName {
    fn value_variants<'a>() -> &'a [Self] {
        &crate::api::AreaName::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.key()))
    }
}

fn parse_rate(text: &str) -> Result<(f64, f64), String> {
    let (burst, rate) = text.split_once('/').ok_or_else(|| format!("{text:?}: expected BURST/RATE, e.g. 4/0.3"))?;
    let burst: f64 = burst.trim().parse().map_err(|_| format!("{burst:?} is not a number"))?;
    let rate: f64 = rate.trim().parse().map_err(|_| format!("{rate:?} is not a number"))?;
    if !(burst >= 1.0 && rate > 0.0 && burst.is_finite() && rate.is_finite()) {
        return Err("burst must be at least 1 and rate above 0".to_string());
    }
    Ok((burst, rate))
}

#[derive(clap::Args, Debug)]
pub struct OneShotArgs {
    /// A YAML file with one or more CostPolicy and CostPolicySet documents, a directory of
    /// them, or `-` for standard input; repeatable. A set runs one policy per account and
    /// region (accounts from spec.accounts), ending in one summary line per account-region.
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// Output format. With sets, `json` is one object per account-region.
    #[arg(short = 'o', long, value_enum, default_value = "table")]
    pub output: OutputFormat,
    /// With sets: how many account-regions run at once (at least 1). Pacing stays per account
    /// and region, so a higher value never pushes one account past its limits; the bound caps
    /// the plans held in memory and the AssumeRole sessions opened at once. Default 8: AWS's
    /// answers set the pace, not local cores. With 1, `-o json` counts each account-region's
    /// own AWS requests (awsRequests; null otherwise).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
    /// With sets: also print each account-region's plan, changes and status, as a policy's
    /// run prints them, before the summary.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[command(flatten)]
    pub pacing: PacingArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
}

/// Writes to stdout, ignoring a reader that went away (`frugal plan | head`): printing is
/// never a reason to panic or to stop `apply` halfway through its changes.
pub(crate) fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A usage error (unknown flag, missing argument, no subcommand), as sysexits' EX_USAGE: never
/// 2, which `frugal plan` means as drift.
pub const EXIT_USAGE: u8 = 64;

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version are answers, not errors.
            let code = if error.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    crate::telemetry::init(cli.log_format);
    match cli.command {
        Command::Run(args) => on_runtime(Threads::Workers, async {
            match crate::controller::run(args.config()).await {
                Ok(()) => ExitCode::SUCCESS,
                // Said once: as a log record where logs are collected, else as a plain line.
                Err(error) if cli.log_format == LogFormat::Json => {
                    tracing::error!(%error, "operator stopped");
                    ExitCode::FAILURE
                }
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Crd { kind } => crd::print(kind),
        Command::Plan(args) => on_runtime(Threads::One, oneshot::run(args, false)),
        Command::Apply(args) => on_runtime(Threads::One, oneshot::run(args, true)),
        Command::IamPolicy(args) => iam_policy::print(&args.areas, &args.files),
    }
}

/// Which runtime a command runs on.
enum Threads {
    /// The operator: reconciles of many policies in parallel, one worker per core.
    Workers,
    /// A one-shot run waits on AWS almost all the time; on one thread no wake-up crosses
    /// threads (an audit of the large account switched context 970 times, now 140).
    One,
}

fn on_runtime(threads: Threads, command: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    let mut builder = match threads {
        Threads::Workers => tokio::runtime::Builder::new_multi_thread(),
        Threads::One => tokio::runtime::Builder::new_current_thread(),
    };
    match builder.enable_all().build() {
        Ok(runtime) => runtime.block_on(command),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}
