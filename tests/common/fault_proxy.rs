//! A fault-injecting reverse proxy between the operator and the emulator: seeded and
//! deterministic (the n-th request gets the same decision for the same seed), switchable at
//! run time, and counting what it injected.
//!
//! With [`RateLimits`] the proxy also enforces EC2's per-operation token buckets (time
//! compressed by a factor) and answers `RequestLimitExceeded` when a bucket is empty, as
//! EC2 does, so tests can show the operator paces below the limit.
//!
//! A fault that answers instead of AWS (throttling, 5xx, access denied, reset, timeout)
//! never forwards the request. `Slow` forwards after a delay; `Truncated` forwards and cuts
//! the answer, so a truncated mutating request did reach AWS and only idempotency saves
//! the retry from duplicating it.
//!
//! With [`FaultConfig::lose_first_answers`] the proxy forwards the first call of each
//! mutating operation and loses its answer (a 500 or a reset instead): the change took
//! effect, and the client's retry meets what its first try made.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use frugal_operator::aws::{AwsConnector, SdkLimits};
use frugal_operator::metrics::Metrics;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy can do to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// EC2 `RequestLimitExceeded` (503), `Throttling` (query APIs) or `ThrottlingException` (JSON APIs).
    Throttle,
    /// 500 or 503 with the protocol's internal-error body.
    ServerError,
    /// The connection is closed without an answer.
    Reset,
    /// The request is held longer than the client's attempt timeout, then dropped.
    Timeout,
    /// Forwarded after a delay shorter than the attempt timeout.
    Slow,
    /// Forwarded; the answer is cut in half (Content-Length promises the whole body).
    Truncated,
    /// `UnauthorizedOperation` / `AccessDenied` / `AccessDeniedException`, only on the
    /// operations of [`FaultConfig::denied_operations`].
    AccessDenied,
    /// Forwarded; the answer is replaced by a 500 or a reset ([`FaultConfig::lose_first_answers`],
    /// never drawn at random).
    LostAnswer,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Throttle,
        FaultKind::ServerError,
        FaultKind::Reset,
        FaultKind::Timeout,
        FaultKind::Slow,
        FaultKind::Truncated,
        FaultKind::AccessDenied,
    ];

    /// True when the request reaches the emulator.
    pub fn forwards(self) -> bool {
        matches!(self, FaultKind::Slow | FaultKind::Truncated | FaultKind::LostAnswer)
    }
}

/// What the client gets instead of a lost answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LostAs {
    /// The protocol's internal error (500).
    ServerError,
    /// The connection is closed without an answer.
    Reset,
}

/// Read-only operations by name (query/JSON/CBOR) or by HTTP method (REST APIs).
pub fn is_mutating_operation(operation: &str) -> bool {
    if let Some((method, _)) = operation.split_once(' ') {
        return method != "GET" && method != "HEAD";
    }
    !["Describe", "List", "Get", "AssumeRole"].iter().any(|p| operation.starts_with(p))
}

/// How the proxy faults requests.
#[derive(Clone, Debug)]
pub struct FaultConfig {
    /// Probability that a request is faulted; 0 turns faults off.
    pub rate: f64,
    /// Relative weight of each kind among the faulted requests.
    pub weights: BTreeMap<FaultKind, u32>,
    /// Operations (e.g. `DescribeLockedSnapshots`) on which `AccessDenied` may be drawn.
    pub denied_operations: BTreeSet<String>,
    /// How long a `Timeout` holds the request (longer than the client's attempt timeout).
    pub hold: Duration,
    /// How long a `Slow` request waits before it is forwarded.
    pub delay: Duration,
    /// EC2's request-rate buckets, enforced when set.
    pub limits: Option<RateLimits>,
    /// When set, the first call of each mutating operation is forwarded and its answer lost.
    pub lose_first_answers: Option<LostAs>,
}

/// EC2's token buckets (Amazon EC2 API Reference, "Request throttling"), each refilled
/// `time_scale` times faster than AWS's, so a test at the limit stays short.
#[derive(Clone, Debug)]
pub struct RateLimits {
    pub time_scale: f64,
}

impl RateLimits {
    /// Burst and refill per second (unscaled) of the bucket an EC2 operation draws from.
    pub fn bucket(operation: &str) -> (&'static str, f64, f64) {
        match operation {
            "DeleteSnapshot" => ("DeleteSnapshot", 100.0, 5.0),
            "CreateTags" => ("CreateTags", 100.0, 10.0),
            op if ["Describe", "Get", "List"].iter().any(|p| op.starts_with(p)) => ("NonMutating", 100.0, 20.0),
            _ => ("Mutating", 50.0, 5.0),
        }
    }
}

impl FaultConfig {
    /// Every kind with the same weight.
    pub fn uniform(rate: f64) -> Self {
        Self {
            rate,
            weights: FaultKind::ALL.iter().map(|k| (*k, 1)).collect(),
            denied_operations: BTreeSet::new(),
            hold: Duration::from_millis(1500),
            delay: Duration::from_millis(100),
            limits: None,
            lose_first_answers: None,
        }
    }

    /// No random faults; only EC2's buckets, `time_scale` times faster.
    pub fn rate_limited(time_scale: f64) -> Self {
        Self { rate: 0.0, limits: Some(RateLimits { time_scale }), ..Self::uniform(0.0) }
    }

    /// No random faults; the first answer of each mutating operation is lost as `lost`.
    pub fn losing_first_answers(lost: LostAs) -> Self {
        Self { lose_first_answers: Some(lost), ..Self::uniform(0.0) }
    }
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub operation: String,
    pub fault: Option<FaultKind>,
}

/// The wire protocol of a request, which decides what an error answer looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// EC2's query protocol (`<Response><Errors>`).
    Ec2,
    /// awsQuery: STS, IAM (`<ErrorResponse>`).
    Query,
    /// awsJson (SSM) and restJson (Backup): `__type` and `x-amzn-ErrorType`.
    Json,
    /// RPC v2 CBOR (CloudWatch): only faults without an error body are injected.
    Cbor,
}

struct State {
    upstream: SocketAddr,
    config: Mutex<FaultConfig>,
    rng: Mutex<StdRng>,
    seen: Mutex<Vec<Seen>>,
    /// Tokens and last refill per bucket name (EC2 only).
    buckets: Mutex<HashMap<&'static str, (f64, std::time::Instant)>>,
    /// Mutating operations whose first answer was lost already.
    lost: Mutex<BTreeSet<String>>,
}

/// A running proxy; it lives as long as the runtime that started it.
#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream_url` (`http://host:port`).
    pub async fn start(upstream_url: &str, seed: u64, config: FaultConfig) -> Self {
        let authority = upstream_url.strip_prefix("http://").expect("http upstream").trim_end_matches('/');
        let upstream = tokio::net::lookup_host(authority).await.expect("resolve upstream").next().expect("upstream address");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let state = Arc::new(State {
            upstream,
            config: Mutex::new(config),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            seen: Mutex::new(Vec::new()),
            buckets: Mutex::new(HashMap::new()),
            lost: Mutex::new(BTreeSet::new()),
        });
        let accept_state = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let state = accept_state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
                    // Reset, timeout and truncation end the connection with an error on purpose.
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Self { url, state }
    }

    /// Changes the fault rate (0 stops faulting); the rest of the configuration stays.
    pub fn set_rate(&self, rate: f64) {
        self.state.config.lock().expect("config").rate = rate;
    }

    /// Every request seen so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("seen").clone()
    }

    /// Injected faults by kind.
    pub fn injected(&self) -> BTreeMap<FaultKind, u64> {
        let mut counts = BTreeMap::new();
        for fault in self.seen().iter().filter_map(|s| s.fault) {
            *counts.entry(fault).or_insert(0) += 1;
        }
        counts
    }

    pub fn requests(&self) -> usize {
        self.state.seen.lock().expect("seen").len()
    }

    /// A connector like the operator's, pointed at the proxy, with short timeouts and
    /// backoffs so that a timeout fault costs a fraction of a second.
    pub fn connector(&self) -> Arc<AwsConnector> {
        self.connector_with(SdkLimits {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(20),
            attempt_timeout: Duration::from_millis(300),
            operation_timeout: Duration::from_secs(5),
        })
    }

    /// A connector like the operator's, pointed at the proxy, with these limits.
    pub fn connector_with(&self, limits: SdkLimits) -> Arc<AwsConnector> {
        Arc::new(
            AwsConnector::new(Metrics::new(), super::fast_pacing())
                .with_sdk_limits(limits)
                .with_overrides(Some(self.url.clone()), Some(super::base_credentials())),
        )
    }
}

type ProxyBody = BoxBody<Bytes, std::io::Error>;

fn full(body: impl Into<Bytes>) -> ProxyBody {
    Full::new(body.into()).map_err(|never: Infallible| match never {}).boxed()
}

/// The operation a request calls: form `Action`, `X-Amz-Target`, the CBOR path, else
/// `METHOD /path` (REST APIs such as Backup).
fn operation_of(request: &http::request::Parts, body: &[u8]) -> (String, Protocol) {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(target) = header("x-amz-target") {
        return (target.rsplit('.').next().unwrap_or_default().to_string(), Protocol::Json);
    }
    let path = request.uri.path();
    if let Some((_, op)) = path.strip_prefix("/service/").and_then(|rest| rest.split_once("/operation/")) {
        return (op.trim_end_matches('/').to_string(), Protocol::Cbor);
    }
    let text = String::from_utf8_lossy(body);
    if let Some(action) = text.split('&').find_map(|pair| pair.strip_prefix("Action=")) {
        let protocol = if text.split('&').any(|pair| pair == "Version=2016-11-15") { Protocol::Ec2 } else { Protocol::Query };
        return (action.to_string(), protocol);
    }
    (format!("{} {path}", request.method), Protocol::Json)
}

/// The seeded decision for one request.
fn decide(state: &State, operation: &str, protocol: Protocol) -> Option<FaultKind> {
    let config = state.config.lock().expect("config").clone();
    let mut rng = state.rng.lock().expect("rng");
    // Two draws per request whatever the outcome, so decisions depend only on the order.
    let faulted = rng.random_bool(config.rate.clamp(0.0, 1.0));
    let pick: f64 = rng.random();
    if !faulted {
        return None;
    }
    let eligible: Vec<(FaultKind, u32)> = config
        .weights
        .iter()
        .filter(|(kind, weight)| {
            **weight > 0
                && match kind {
                    FaultKind::AccessDenied => protocol != Protocol::Cbor && config.denied_operations.contains(operation),
                    FaultKind::Throttle | FaultKind::ServerError => protocol != Protocol::Cbor,
                    _ => true,
                }
        })
        .map(|(k, w)| (*k, *w))
        .collect();
    let total: u32 = eligible.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return None;
    }
    let mut target = pick * f64::from(total);
    for (kind, weight) in &eligible {
        if target < f64::from(*weight) {
            return Some(*kind);
        }
        target -= f64::from(*weight);
    }
    eligible.last().map(|(k, _)| *k)
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<ProxyBody>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    let (operation, protocol) = operation_of(&parts, &body);
    let fault = if parts.uri.path().starts_with("/_frugal/") {
        None
    } else {
        decide(&state, &operation, protocol)
            .or_else(|| over_limit(&state, &operation, protocol))
            .or_else(|| first_answer_lost(&state, &operation))
    };
    state.seen.lock().expect("seen").push(Seen { operation: operation.clone(), fault });
    let delay = state.config.lock().expect("config").delay;
    let hold = state.config.lock().expect("config").hold;
    match fault {
        None => forward(state.upstream, parts, body).await,
        Some(FaultKind::Slow) => {
            tokio::time::sleep(delay).await;
            forward(state.upstream, parts, body).await
        }
        Some(FaultKind::Truncated) => {
            let answer = forward(state.upstream, parts, body).await?;
            let (mut head, body) = answer.into_parts();
            let bytes = body.collect().await?.to_bytes();
            head.headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            head.headers.remove(http::header::TRANSFER_ENCODING);
            let half = bytes.slice(..bytes.len() / 2);
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> =
                vec![Ok(Frame::data(half)), Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected truncation"))];
            Ok(Response::from_parts(head, StreamBody::new(futures::stream::iter(frames)).boxed()))
        }
        Some(FaultKind::LostAnswer) => {
            // The answer (success or AWS's error) is dropped after the request took effect.
            forward(state.upstream, parts, body).await?;
            match state.config.lock().expect("config").lose_first_answers {
                // CBOR error answers are not modelled: a reset it is.
                Some(LostAs::Reset) | None => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected lost answer")),
                Some(LostAs::ServerError) if protocol == Protocol::Cbor => {
                    Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected lost answer"))
                }
                Some(LostAs::ServerError) => Ok(error_answer(FaultKind::ServerError, protocol, false)),
            }
        }
        Some(FaultKind::Reset) => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset")),
        Some(FaultKind::Timeout) => {
            tokio::time::sleep(hold).await;
            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "injected timeout"))
        }
        Some(kind) => {
            let server_error_503 = state.rng.lock().expect("rng").random_bool(0.5);
            Ok(error_answer(kind, protocol, server_error_503))
        }
    }
}

/// `LostAnswer` for the first call of each mutating operation, when the config asks for it.
fn first_answer_lost(state: &State, operation: &str) -> Option<FaultKind> {
    state.config.lock().expect("config").lose_first_answers?;
    let first = is_mutating_operation(operation) && state.lost.lock().expect("lost").insert(operation.to_string());
    first.then_some(FaultKind::LostAnswer)
}

/// Takes a token of the operation's EC2 bucket; `Throttle` when it is empty.
fn over_limit(state: &State, operation: &str, protocol: Protocol) -> Option<FaultKind> {
    let limits = state.config.lock().expect("config").limits.clone()?;
    if protocol != Protocol::Ec2 {
        return None;
    }
    let (name, burst, rate) = RateLimits::bucket(operation);
    let now = std::time::Instant::now();
    let mut buckets = state.buckets.lock().expect("buckets");
    let (tokens, last) = buckets.entry(name).or_insert((burst, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate * limits.time_scale).min(burst);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        None
    } else {
        Some(FaultKind::Throttle)
    }
}

/// The error answer AWS gives for `kind` in `protocol`.
fn error_answer(kind: FaultKind, protocol: Protocol, unavailable: bool) -> Response<ProxyBody> {
    let (status, code, message) = match (kind, protocol, unavailable) {
        (FaultKind::Throttle, Protocol::Ec2, _) => (503, "RequestLimitExceeded", "Request limit exceeded."),
        (FaultKind::Throttle, Protocol::Query, _) => (400, "Throttling", "Rate exceeded"),
        (FaultKind::Throttle, _, _) => (400, "ThrottlingException", "Rate exceeded"),
        (FaultKind::AccessDenied, Protocol::Ec2, _) => (403, "UnauthorizedOperation", "You are not authorized to perform this operation."),
        (FaultKind::AccessDenied, Protocol::Query, _) => (403, "AccessDenied", "User is not authorized to perform this action"),
        (FaultKind::AccessDenied, _, _) => (403, "AccessDeniedException", "User is not authorized to perform this action"),
        (_, Protocol::Ec2, false) => (500, "InternalError", "An internal error has occurred."),
        (_, Protocol::Ec2, true) => (503, "Unavailable", "The server is overloaded and can't handle the request."),
        (_, Protocol::Query, false) => (500, "InternalFailure", "An internal error has occurred."),
        (_, Protocol::Query, true) => (503, "ServiceUnavailable", "Service is unavailable."),
        (_, _, false) => (500, "InternalServerException", "An internal error has occurred."),
        (_, _, true) => (503, "ServiceUnavailableException", "Service is unavailable."),
    };
    let (content_type, body) = match protocol {
        Protocol::Ec2 => (
            "text/xml",
            format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>x</RequestID></Response>"
            ),
        ),
        Protocol::Query => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>x</RequestId></ErrorResponse>"
            ),
        ),
        Protocol::Json | Protocol::Cbor => ("application/x-amz-json-1.1", format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
    };
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).expect("status");
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if matches!(protocol, Protocol::Json | Protocol::Cbor) {
        response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(code));
    }
    response
}

/// Sends the request to the emulator on a fresh connection and returns its answer.
async fn forward(upstream: SocketAddr, parts: http::request::Parts, body: Bytes) -> Result<Response<ProxyBody>, std::io::Error> {
    let stream = TcpStream::connect(upstream).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(std::io::Error::other)?;
    tokio::spawn(connection);
    let mut request = Request::from_parts(parts, Full::new(body));
    // Origin form: the emulator routes on the path; the Host header (signed) is kept as it is.
    let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    *request.uri_mut() = path.parse().map_err(std::io::Error::other)?;
    let answer = sender.send_request(request).await.map_err(std::io::Error::other)?;
    let (head, body) = answer.into_parts();
    let bytes = body.collect().await.map_err(std::io::Error::other)?.to_bytes();
    Ok(Response::from_parts(head, full(bytes)))
}
