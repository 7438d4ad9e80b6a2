//! Delivery: a bounded queue drained by a background task, so a reconcile never waits for a
//! receiver. Each message is POSTed with retries (exponential backoff with jitter on 429, 5xx,
//! timeouts and connection failures; `Retry-After` honoured, in seconds or as an HTTP date)
//! until a bounded time has passed; any other 4xx is final. Outcomes are counted in
//! `frugal_notifications_total`. No error, log line or status ever carries the URL: failures
//! are described by class (an HTTP status, "connection failed"), never by the client's error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Semaphore, mpsc};

use super::address::Address;
use crate::metrics::{Metrics, NotificationLabels};

/// The HTTP(S) client of deliveries: rustls with the system's roots, HTTP/1.1.
pub type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds the client; fails only when the system has no usable root certificates.
pub fn http_client() -> std::io::Result<HttpClient> {
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots()?.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// How long and how often a message is retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// After this long since the first attempt, a message is given up.
    pub give_up_after: Duration,
    /// The wait after the first failed attempt; it doubles each time (with jitter).
    pub first_delay: Duration,
    /// The longest wait between two attempts without a Retry-After.
    pub max_delay: Duration,
    /// One attempt's time limit.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            give_up_after: Duration::from_secs(5 * 60),
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): doubling, capped, and
    /// jittered down by up to half so that many operators do not retry in step.
    fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self.first_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = doubled.min(self.max_delay);
        capped.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// Why a message was not delivered; says nothing of the URL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The receiver refused it for good (a 4xx other than 429).
    #[error("the receiver answered HTTP {0}")]
    Refused(u16),
    /// Still failing when the retry bound was reached.
    #[error("{last} (gave up after {attempts} attempts)")]
    GaveUp { last: String, attempts: u32 },
}

/// What one attempt ended with.
enum Attempt {
    Delivered,
    /// Worth another try, after the receiver's Retry-After if it gave one.
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Final(Failure),
}

/// POSTs `body` as JSON to `address` until it is delivered, refused, or `retry` says stop;
/// returns the number of attempts made.
pub async fn deliver(client: &HttpClient, address: &Address, body: Bytes, retry: &RetryPolicy) -> Result<u32, Failure> {
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (why, after) = match attempt(client, address, body.clone(), retry.attempt_timeout).await {
            Attempt::Delivered => return Ok(attempts),
            Attempt::Final(failure) => return Err(failure),
            Attempt::Retry { why, after } => (why, after),
        };
        let wait = after.unwrap_or_else(|| retry.backoff(attempts));
        if start.elapsed() + wait > retry.give_up_after {
            return Err(Failure::GaveUp { last: why, attempts });
        }
        tokio::time::sleep(wait).await;
    }
}

async fn attempt(client: &HttpClient, address: &Address, body: Bytes, timeout: Duration) -> Attempt {
    let request = http::Request::post(address.uri().clone())
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::USER_AGENT, concat!("frugal-operator/", env!("CARGO_PKG_VERSION")))
        .body(Full::new(body));
    let Ok(request) = request else { return Attempt::Final(Failure::Refused(0)) };
    let response = match tokio::time::timeout(timeout, client.request(request)).await {
        Err(_) => return Attempt::Retry { why: "timed out".to_string(), after: None },
        // The client's error would name the host or URL: only its class is kept.
        Ok(Err(error)) if error.is_connect() => return Attempt::Retry { why: "connection failed".to_string(), after: None },
        Ok(Err(_)) => return Attempt::Retry { why: "the request failed".to_string(), after: None },
        Ok(Ok(response)) => response,
    };
    let status = response.status();
    if status.is_success() {
        return Attempt::Delivered;
    }
    if status == http::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        let after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, jiff::Timestamp::now()));
        return Attempt::Retry { why: format!("the receiver answered HTTP {}", status.as_u16()), after };
    }
    Attempt::Final(Failure::Refused(status.as_u16()))
}

/// A Retry-After value as a wait: delay-seconds or an HTTP date (IMF-fixdate); a date in the
/// past is no wait. None when it is neither.
pub fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    static PARSER: jiff::fmt::rfc2822::DateTimeParser = jiff::fmt::rfc2822::DateTimeParser::new();
    let at = PARSER.parse_timestamp(value).ok()?;
    let wait = at.as_millisecond().saturating_sub(now.as_millisecond());
    Some(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
}

/// A message ready to send.
pub struct Message {
    /// The Notifier's name (the metric label).
    pub notifier: String,
    /// The policy whose run it describes.
    pub policy: String,
    pub address: Address,
    pub body: Bytes,
}

/// How a delivery ended, for the metric, the log and the Notifier's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed,
    /// The queue was full: never attempted.
    Dropped,
}

impl Outcome {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Delivered => "delivered",
            Outcome::Failed => "failed",
            Outcome::Dropped => "dropped",
        }
    }

    /// The status word.
    pub fn status(self) -> &'static str {
        match self {
            Outcome::Delivered => "Delivered",
            Outcome::Failed => "Failed",
            Outcome::Dropped => "Dropped",
        }
    }
}

/// Told of every delivery's end (the Notifier's status keeps the last one).
pub type OnDone = Arc<dyn Fn(&Message, Outcome, Option<&Failure>) + Send + Sync>;

/// Messages waiting for delivery, at most [`Outbox::CAPACITY`].
#[derive(Clone)]
pub struct Outbox {
    queue: mpsc::Sender<Message>,
    metrics: Arc<Metrics>,
    on_done: OnDone,
}

impl Outbox {
    pub const CAPACITY: usize = 100;
    /// Deliveries in flight at once (each may wait minutes for a slow receiver).
    pub const IN_FLIGHT: usize = 8;

    /// Starts the delivery task; it ends when every Outbox clone is dropped.
    pub fn start(client: HttpClient, retry: RetryPolicy, metrics: Arc<Metrics>, on_done: OnDone) -> Self {
        let (queue, mut waiting) = mpsc::channel::<Message>(Self::CAPACITY);
        let outbox = Self { queue, metrics, on_done };
        let worker = outbox.clone_parts();
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(Self::IN_FLIGHT));
            while let Some(message) = waiting.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else { break };
                let (client, retry, worker) = (client.clone(), retry.clone(), worker.clone());
                tokio::spawn(async move {
                    let result = deliver(&client, &message.address, message.body.clone(), &retry).await;
                    match &result {
                        Ok(attempts) => {
                            tracing::info!(notifier = %message.notifier, policy = %message.policy, attempts, "notification delivered");
                            worker.finish(&message, Outcome::Delivered, None);
                        }
                        Err(failure) => {
                            tracing::warn!(notifier = %message.notifier, policy = %message.policy, %failure, "notification not delivered");
                            worker.finish(&message, Outcome::Failed, Some(failure));
                        }
                    }
                    drop(slot);
                });
            }
        });
        outbox
    }

    /// What the worker needs without keeping the queue open.
    fn clone_parts(&self) -> Finisher {
        Finisher { metrics: self.metrics.clone(), on_done: self.on_done.clone() }
    }

    /// Queues `message`; when the queue is full it is dropped (and counted), never waited for.
    pub fn send(&self, message: Message) {
        if let Err(error) = self.queue.try_send(message) {
            let message = match error {
                mpsc::error::TrySendError::Full(m) | mpsc::error::TrySendError::Closed(m) => m,
            };
            tracing::warn!(notifier = %message.notifier, policy = %message.policy, "notification queue full: message dropped");
            self.clone_parts().finish(&message, Outcome::Dropped, None);
        }
    }
}

#[derive(Clone)]
struct Finisher {
    metrics: Arc<Metrics>,
    on_done: OnDone,
}

impl Finisher {
    fn finish(&self, message: &Message, outcome: Outcome, failure: Option<&Failure>) {
        let labels = NotificationLabels { notifier: message.notifier.clone(), outcome: outcome.label().to_string() };
        self.metrics.notifications.get_or_create(&labels).inc();
        (self.on_done)(message, outcome, failure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: jiff::Timestamp = "2026-12-03T03:00:00Z".parse().expect("timestamp");
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(retry_after("Thu, 03 Dec 2026 03:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("Thu, 03 Dec 2026 02:59:00 GMT", now), Some(Duration::ZERO), "a date in the past: no wait");
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below() {
        let retry = RetryPolicy { first_delay: Duration::from_secs(1), max_delay: Duration::from_secs(8), ..RetryPolicy::default() };
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (9, 8)] {
            let wait = retry.backoff(attempt);
            let full = Duration::from_secs(full);
            assert!(wait <= full && wait >= full / 2, "attempt {attempt}: {wait:?}");
        }
    }

    #[test]
    fn failures_never_carry_more_than_a_status_or_a_class() {
        assert_eq!(Failure::Refused(404).to_string(), "the receiver answered HTTP 404");
        let gave_up = Failure::GaveUp { last: "the receiver answered HTTP 503".into(), attempts: 4 };
        assert_eq!(gave_up.to_string(), "the receiver answered HTTP 503 (gave up after 4 attempts)");
    }
}
