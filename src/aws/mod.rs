//! The AWS adapter: the only place with `aws_sdk_*` types. It reads the account into the
//! planner's domain structs, executes changes, classifies errors and paces requests.

mod access_keys;
mod backup;
mod clients;
mod cloud_watch;
mod cost_explorer;
mod daily;
mod error;
mod gateway_endpoints;
mod https;
mod lean_decode;
mod observation;
pub mod organizations;
mod pacing;
mod paging;
mod pricing;
mod request_metrics;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use tokio::sync::{Mutex, OnceCell};

use crate::api::AwsTarget;
use crate::engine::{Cloud, CloudConnector, CloudError, ErrorKind};
use crate::metrics::Metrics;

pub use pacing::{PaceClass, PacingConfig, TokenBucket};

use aws_smithy_async::future::pagination_stream::PaginationStream;
use clients::Clients;
use cost_explorer::SpendBook;
use observation::ObservationCache;
use pacing::Pacer;
use pricing::PriceBook;
use request_metrics::RequestMetrics;

const SESSION_NAME: &str = "frugal-operator";
/// Where the Price List Query API is served from (also eu-central-1 and ap-south-1).
const PRICE_LIST_REGION: &str = "us-east-1";
/// Cost Explorer's one endpoint (ce.us-east-1.amazonaws.com).
const COST_EXPLORER_REGION: &str = "us-east-1";

/// Region, role and external id: policies with the same key share one client.
type TargetKey = (String, Option<String>, Option<String>);

/// Opens AWS clients for policies; clients and pacing buckets are shared by every policy
/// that targets the same account and region.
pub struct AwsConnector {
    metrics: Arc<Metrics>,
    pacer: Arc<Pacer>,
    observations: Arc<ObservationCache>,
    price_book: Arc<PriceBook>,
    spend_book: Arc<SpendBook>,
    clouds: Mutex<HashMap<TargetKey, Arc<AwsCloud>>>,
    endpoint_url: Option<String>,
    base_credentials: Option<SharedCredentialsProvider>,
    limits: SdkLimits,
    /// Every SDK client's HTTP client (connection pool, TLS roots).
    http_client: SharedHttpClient,
    /// The first config loaded: every later one takes its credentials and identity cache,
    /// so the operator's own credentials are resolved once, not once per account-region.
    first_config: OnceCell<SdkConfig>,
}

/// Retry and timeout limits of the SDK clients (the SDK's standard retry strategy).
#[derive(Clone, Debug, PartialEq)]
pub struct SdkLimits {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Base of the exponential, jittered backoff between attempts.
    pub initial_backoff: Duration,
    /// One attempt gives up after this long (then it is retried).
    pub attempt_timeout: Duration,
    /// A request with all its retries gives up after this long.
    pub operation_timeout: Duration,
}

impl Default for SdkLimits {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_secs(1),
            attempt_timeout: Duration::from_secs(30),
            operation_timeout: Duration::from_secs(120),
        }
    }
}

impl AwsConnector {
    pub fn new(metrics: Arc<Metrics>, pacing: PacingConfig) -> Self {
        Self {
            metrics,
            pacer: Arc::new(Pacer::new(pacing)),
            observations: Arc::new(ObservationCache::new(Duration::ZERO)),
            price_book: Arc::new(PriceBook::default()),
            spend_book: Arc::new(SpendBook::default()),
            clouds: Mutex::new(HashMap::new()),
            endpoint_url: None,
            base_credentials: None,
            limits: SdkLimits::default(),
            http_client: https::shared_https_client(),
            first_config: OnceCell::new(),
        }
    }

    /// Other retry and timeout limits than the defaults (tests behind a fault-injecting
    /// proxy use short timeouts and backoffs).
    pub fn with_sdk_limits(mut self, limits: SdkLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Shares each account's reads between policies for `ttl` (zero, the default, shares
    /// nothing): every policy of one account and region within a resync window then costs
    /// one set of describe calls.
    pub fn with_observation_ttl(mut self, ttl: Duration) -> Self {
        self.observations = Arc::new(ObservationCache::new(ttl));
        self
    }

    /// An explicit endpoint and base credentials instead of the environment's (tests run
    /// many accounts in one process, where process-wide variables would race).
    pub fn with_overrides(mut self, endpoint_url: Option<String>, base_credentials: Option<SharedCredentialsProvider>) -> Self {
        self.endpoint_url = endpoint_url;
        self.base_credentials = base_credentials;
        self
    }

    /// The SDK config of the operator's own credentials in `region`, with the connector's
    /// endpoint, retry and timeout settings.
    async fn base_config(&self, region: &str) -> SdkConfig {
        let first = self.first_config.get_or_init(|| self.load_config(region, None)).await;
        if first.region().is_some_and(|r| r.as_ref() == region) {
            return first.clone();
        }
        self.load_config(region, Some(first)).await
    }

    /// Loads a config in `region`; with `shared`, on that config's credentials and identity
    /// cache instead of new ones.
    async fn load_config(&self, region: &str, shared: Option<&SdkConfig>) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(self.http_client.clone());
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        match shared {
            Some(shared) => {
                if let Some(credentials) = shared.credentials_provider() {
                    loader = loader.credentials_provider(credentials);
                }
                if let Some(cache) = shared.identity_cache() {
                    loader = loader.identity_cache(cache);
                }
            }
            None => {
                if let Some(credentials) = &self.base_credentials {
                    loader = loader.credentials_provider(credentials.clone());
                }
            }
        }
        loader
            .region(Region::new(region.to_string()))
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(self.limits.max_attempts)
                    .with_initial_backoff(self.limits.initial_backoff),
            )
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(self.limits.attempt_timeout)
                    .operation_timeout(self.limits.operation_timeout)
                    .build(),
            )
            .load()
            .await
    }

    async fn open(&self, target: &AwsTarget) -> Result<AwsCloud, CloudError> {
        let base = self.base_config(&target.region).await;
        let config = match &target.role_arn {
            None => base,
            Some(role_arn) => assume_role(base, role_arn, target.external_id.as_deref(), &target.region).await,
        };
        let account = account_id(&config, target, &self.metrics).await?;
        let shared = Shared {
            pacer: self.pacer.clone(),
            observations: self.observations.clone(),
            price_book: self.price_book.clone(),
            spend_book: self.spend_book.clone(),
            metrics: self.metrics.clone(),
        };
        Ok(AwsCloud::new(&config, account, target.region.clone(), shared))
    }

    /// The shared client of a target, opened on first use.
    async fn cloud(&self, target: &AwsTarget) -> Result<Arc<AwsCloud>, CloudError> {
        let key = (target.region.clone(), target.role_arn.clone(), target.external_id.clone());
        let mut clouds = self.clouds.lock().await;
        if let Some(cloud) = clouds.get(&key) {
            return Ok(cloud.clone());
        }
        let cloud = Arc::new(self.open(target).await?);
        clouds.insert(key, cloud.clone());
        Ok(cloud)
    }
}

#[async_trait]
impl CloudConnector for AwsConnector {
    async fn connect(&self, target: &AwsTarget) -> Result<Arc<dyn Cloud>, CloudError> {
        Ok(self.cloud(target).await?)
    }

    /// STS says, once per region: the client of the operator's own credentials is kept like
    /// any policy's.
    async fn own_account(&self, region: &str) -> Result<String, CloudError> {
        let own = AwsTarget { region: region.to_string(), role_arn: None, external_id: None };
        Ok(self.cloud(&own).await?.account.clone())
    }
}

/// `base` with the credentials of `role_arn` (refreshed by the SDK before they expire).
async fn assume_role(base: SdkConfig, role_arn: &str, external_id: Option<&str>, region: &str) -> SdkConfig {
    let mut provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name(SESSION_NAME)
        .region(Region::new(region.to_string()))
        .configure(&base);
    if let Some(external_id) = external_id {
        provider = provider.external_id(external_id);
    }
    base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider.build().await)).build()
}

/// The account id, which keys the shared pacing buckets. With a role it is in the ARN;
/// otherwise STS says whose credentials these are (this also proves they work).
async fn account_id(config: &SdkConfig, target: &AwsTarget, metrics: &Arc<Metrics>) -> Result<String, CloudError> {
    if let Some(account) = target.role_arn.as_deref().and_then(|arn| arn.split(':').nth(4)) {
        return Ok(account.to_string());
    }
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(config).interceptor(RequestMetrics::new(metrics.clone())).build(),
    );
    let identity = sts.get_caller_identity().send().await.map_err(|e| {
        let mut error = error::classify("GetCallerIdentity", e);
        if error.kind == ErrorKind::Network {
            // The first call of a run: name where it went, so a stopped emulator or a wrong
            // AWS_ENDPOINT_URL reads as such.
            let endpoint = config.endpoint_url().map_or_else(|| format!("https://sts.{}.amazonaws.com", target.region), str::to_string);
            error.message = format!("cannot connect to {endpoint}: {}", error.message);
        }
        error
    })?;
    identity.account.ok_or_else(|| CloudError::new("GetCallerIdentity", ErrorKind::Credentials, "no account in the answer"))
}

/// One account and region.
pub struct AwsCloud {
    clients: Clients,
    price_book: Arc<PriceBook>,
    spend_book: Arc<SpendBook>,
    region: String,
    account: String,
    pacer: Arc<Pacer>,
    observations: Arc<ObservationCache>,
}

/// What every cloud of one connector shares.
struct Shared {
    pacer: Arc<Pacer>,
    observations: Arc<ObservationCache>,
    price_book: Arc<PriceBook>,
    spend_book: Arc<SpendBook>,
    metrics: Arc<Metrics>,
}

impl AwsCloud {
    fn new(config: &SdkConfig, account: String, region: String, shared: Shared) -> Self {
        let Shared { pacer, observations, price_book, spend_book, metrics } = shared;
        Self { clients: Clients::new(config.clone(), metrics), price_book, spend_book, region, account, pacer, observations }
    }

    /// The pages of a describe call, each paced as a describe when it is requested.
    async fn paced<T: paging::Page, E>(&self, pages: PaginationStream<Result<T, E>>) -> paging::PacedPages<T, E> {
        paging::PacedPages::new(self.pacer.bucket(&self.account, &self.region, PaceClass::NonMutating).await, pages)
    }

    /// Every page of a read the SDK's paginator cannot make (an API without one, or a call
    /// customized per request), each paced as a describe when it is requested. `page` asks for
    /// the page of a token and answers its items and the next token.
    async fn token_pages<T, F, Fut>(&self, mut page: F) -> Result<Vec<T>, CloudError>
    where
        F: FnMut(Option<String>) -> Fut,
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), CloudError>>,
    {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            self.pace(PaceClass::NonMutating).await;
            let sent = token.take();
            let (items, next) = page(sent.clone()).await?;
            all.extend(items);
            match paging::next_token(sent.as_deref(), next) {
                Some(next) => token = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Waits for a token of the account's bucket for `class`.
    async fn pace(&self, class: PaceClass) {
        self.pacer.bucket(&self.account, &self.region, class).await.acquire().await;
    }

    /// `fetch`'s answer, shared with the other policies of this account and region while
    /// fresh (see [`ObservationCache`]). `read` names the call and its server-side filters.
    async fn cached<T>(&self, read: String, fetch: impl std::future::Future<Output = Result<T, CloudError>>) -> Result<T, CloudError>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.observations.read(&self.account, &self.region, read, fetch).await
    }

    /// Like [`Self::cached`] for IAM, which is global: every region shares the answer.
    async fn cached_global<T>(&self, read: String, fetch: impl std::future::Future<Output = Result<T, CloudError>>) -> Result<T, CloudError>
    where
        T: Clone + Send + Sync + 'static,
    {
        self.observations.read(&self.account, "global", read, fetch).await
    }

    /// Runs a change and then forgets the account's cached reads, whatever the outcome (a
    /// failed change may still have changed something), so the next run sees it.
    async fn mutating<T>(&self, change: impl std::future::Future<Output = T>) -> T {
        let result = change.await;
        self.observations.invalidate(&self.account);
        result
    }
}
