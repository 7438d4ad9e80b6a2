//! Notifications against a local webhook receiver (an axum server on 127.0.0.1): what the
//! receiver gets, retries after 429 (with Retry-After) and 5xx, the bound after which a
//! message is given up, a full queue, and the URL never in the logs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use frugal_operator::api::Mode;
use frugal_operator::api::notifier::NotifierType;
use frugal_operator::metrics::Metrics;
use frugal_operator::notify::delivery::{self, Failure, Message, OnDone, Outbox, Outcome, RetryPolicy, deliver};
use frugal_operator::notify::news::{AreaChanges, Money, News, Target};
use frugal_operator::notify::{Address, payload};

/// The webhook token: it must never reach a log line.
const TOKEN: &str = "T0FRUGAL/B0TEST/never-log-this-token";

/// One answer of the receiver: a status and an optional Retry-After.
type Answer = (u16, Option<&'static str>);

#[derive(Default)]
struct Inbox {
    /// Answers to give, in order; 200 once they are used up.
    script: VecDeque<Answer>,
    /// Every request: when, the path, the body.
    received: Vec<(Instant, String, serde_json::Value)>,
    /// Never answer (to fill the queue).
    hang: bool,
}

type Shared = Arc<Mutex<Inbox>>;

async fn receive(State(inbox): State<Shared>, uri: Uri, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    let (answer, hang) = {
        let mut inbox = inbox.lock().expect("inbox");
        let body = serde_json::from_slice(&body).expect("a JSON body");
        inbox.received.push((Instant::now(), uri.path().to_string(), body));
        (inbox.script.pop_front().unwrap_or((200, None)), inbox.hang)
    };
    if hang {
        std::future::pending::<()>().await;
    }
    let mut response = (StatusCode::from_u16(answer.0).expect("status"), "").into_response();
    if let Some(after) = answer.1 {
        response.headers_mut().insert("retry-after", after.parse().expect("header"));
    }
    response
}

/// A receiver on a free loopback port answering `script`; its webhook address.
async fn receiver(script: &[Answer]) -> (Shared, Address) {
    let inbox: Shared = Arc::new(Mutex::new(Inbox { script: script.iter().copied().collect(), ..Inbox::default() }));
    let app = Router::new().fallback(receive).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let address = Address::parse(&format!("http://127.0.0.1:{port}/services/{TOKEN}")).expect("address");
    (inbox, address)
}

/// Short waits, so that tests take milliseconds, not minutes.
fn quick(give_up_after: Duration) -> RetryPolicy {
    RetryPolicy {
        give_up_after,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        attempt_timeout: Duration::from_secs(5),
    }
}

fn news() -> News {
    News {
        target: Target { policy: "prod".into(), account: "111122223333".into(), region: "eu-west-1".into(), mode: Mode::Enforce },
        changes: vec![AreaChanges { area: "gatewayEndpoints".into(), count: 1, items: vec!["created the s3 endpoint of vpc-1".into()] }],
        new_findings: vec![],
        errors: vec![],
        stalled: None,
        money: Money { monthly_waste_usd: "0.00".into(), monthly_savings_usd: "45.00".into(), areas: vec![] },
        time: "2026-12-03T03:00:00Z".into(),
    }
}

fn body(type_: NotifierType) -> Bytes {
    serde_json::to_vec(&payload::body(type_, &news())).expect("JSON").into()
}

fn client() -> delivery::HttpClient {
    delivery::http_client().expect("the system's root certificates")
}

#[tokio::test]
async fn the_receiver_gets_one_post_with_the_slack_body() {
    let (inbox, address) = receiver(&[]).await;
    let attempts = deliver(&client(), &address, body(NotifierType::Slack), &quick(Duration::from_secs(5))).await;
    assert_eq!(attempts, Ok(1));
    let inbox = inbox.lock().expect("inbox");
    assert_eq!(inbox.received.len(), 1);
    let (_, path, body) = &inbox.received[0];
    assert_eq!(path, &format!("/services/{TOKEN}"), "the whole URL is used");
    assert_eq!(body["text"], "prod: 1 change (111122223333 eu-west-1, Enforce)");
    assert_eq!(body["blocks"][1]["text"]["type"], "mrkdwn");
    assert!(body["blocks"][1]["text"]["text"].as_str().is_some_and(|t| t.contains("• gatewayEndpoints: created the s3 endpoint of vpc-1")));
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after_then_delivered() {
    let (inbox, address) = receiver(&[(429, Some("1"))]).await;
    // The backoff alone would wait at most 20 ms: only Retry-After makes the second attempt wait.
    let attempts = deliver(&client(), &address, body(NotifierType::Discord), &quick(Duration::from_secs(30))).await;
    assert_eq!(attempts, Ok(2));
    let inbox = inbox.lock().expect("inbox");
    let gap = inbox.received[1].0 - inbox.received[0].0;
    assert!(gap >= Duration::from_millis(950), "Retry-After: 1 was not honoured: {gap:?}");
    assert_eq!(inbox.received[1].2, inbox.received[0].2, "the same message again");
    assert!(inbox.received[0].2["content"].is_string() && inbox.received[0].2["embeds"].is_array());
}

#[tokio::test]
async fn server_errors_are_retried_until_delivered() {
    let (inbox, address) = receiver(&[(503, None), (500, None)]).await;
    let attempts = deliver(&client(), &address, body(NotifierType::Webhook), &quick(Duration::from_secs(30))).await;
    assert_eq!(attempts, Ok(3));
    assert_eq!(inbox.lock().expect("inbox").received.len(), 3);
}

#[tokio::test]
async fn a_receiver_that_keeps_failing_is_given_up_after_the_bound() {
    let (inbox, address) = receiver(&[(503, None); 1000]).await;
    let result = deliver(&client(), &address, body(NotifierType::Webhook), &quick(Duration::from_millis(300))).await;
    let Err(Failure::GaveUp { last, attempts }) = result else { panic!("not given up: {result:?}") };
    assert_eq!(last, "the receiver answered HTTP 503");
    assert!(attempts >= 2, "it was retried before giving up: {attempts}");
    assert_eq!(inbox.lock().expect("inbox").received.len(), attempts as usize);
    // A Retry-After beyond the bound is not waited for.
    let (_, address) = receiver(&[(429, Some("3600"))]).await;
    let result = deliver(&client(), &address, body(NotifierType::Webhook), &quick(Duration::from_secs(60))).await;
    assert_eq!(result, Err(Failure::GaveUp { last: "the receiver answered HTTP 429".into(), attempts: 1 }));
}

#[tokio::test]
async fn a_4xx_other_than_429_is_final_and_a_closed_port_is_a_connection_failure() {
    let (inbox, address) = receiver(&[(404, None)]).await;
    let result = deliver(&client(), &address, body(NotifierType::Slack), &quick(Duration::from_secs(30))).await;
    assert_eq!(result, Err(Failure::Refused(404)));
    assert_eq!(inbox.lock().expect("inbox").received.len(), 1, "never retried");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let address = Address::parse(&format!("http://127.0.0.1:{closed}/services/{TOKEN}")).expect("address");
    let result = deliver(&client(), &address, body(NotifierType::Slack), &quick(Duration::from_millis(200))).await;
    let Err(Failure::GaveUp { last, .. }) = result else { panic!("{result:?}") };
    assert_eq!(last, "connection failed");
}

/// A tracing writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Each delivery's end: the notifier, the outcome, the failure.
type Ended = Arc<Mutex<Vec<(String, Outcome, Option<String>)>>>;

fn outcomes() -> (OnDone, Ended) {
    let seen: Ended = Arc::default();
    let record = seen.clone();
    let on_done: OnDone = Arc::new(move |message: &Message, outcome: Outcome, failure: Option<&Failure>| {
        record.lock().expect("outcomes").push((message.notifier.clone(), outcome, failure.map(ToString::to_string)));
    });
    (on_done, seen)
}

async fn wait_for(seen: &Ended, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while seen.lock().expect("outcomes").len() < count {
        assert!(Instant::now() < deadline, "only {:?} deliveries ended", seen.lock().expect("outcomes"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_outbox_delivers_in_the_background_counts_outcomes_and_never_logs_the_url() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (_, good) = receiver(&[]).await;
    let (_, refusing) = receiver(&[(403, None)]).await;
    let metrics = Metrics::new();
    let (on_done, seen) = outcomes();
    let outbox = Outbox::start(client(), quick(Duration::from_secs(5)), metrics.clone(), on_done);
    let message = |notifier: &str, address: &Address| Message {
        notifier: notifier.into(),
        policy: "prod".into(),
        address: address.clone(),
        body: body(NotifierType::Webhook),
    };
    outbox.send(message("team-slack", &good));
    outbox.send(message("team-discord", &refusing));
    wait_for(&seen, 2).await;

    let mut ended = seen.lock().expect("outcomes").clone();
    ended.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        ended,
        [
            ("team-discord".to_string(), Outcome::Failed, Some("the receiver answered HTTP 403".to_string())),
            ("team-slack".to_string(), Outcome::Delivered, None)
        ]
    );
    let text = metrics.encode();
    assert!(text.contains(r#"frugal_notifications_total{notifier="team-slack",outcome="delivered"} 1"#), "{text}");
    assert!(text.contains(r#"frugal_notifications_total{notifier="team-discord",outcome="failed"} 1"#), "{text}");

    let logs = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("UTF-8 logs");
    assert!(logs.contains("notification delivered") && logs.contains("notification not delivered"), "{logs}");
    assert!(!logs.contains("never-log-this-token") && !logs.contains("/services/"), "the URL reached the logs:\n{logs}");
}

#[tokio::test]
async fn a_full_queue_drops_messages_without_waiting() {
    let (inbox, address) = receiver(&[]).await;
    inbox.lock().expect("inbox").hang = true;
    let metrics = Metrics::new();
    let (on_done, seen) = outcomes();
    let outbox = Outbox::start(client(), quick(Duration::from_secs(60)), metrics.clone(), on_done);
    let total = Outbox::CAPACITY + Outbox::IN_FLIGHT + 20;
    let start = Instant::now();
    for _ in 0..total {
        outbox.send(Message {
            notifier: "slow".into(),
            policy: "prod".into(),
            address: address.clone(),
            body: body(NotifierType::Webhook),
        });
    }
    assert!(start.elapsed() < Duration::from_secs(2), "send never waits for the receiver");
    let dropped = seen.lock().expect("outcomes").iter().filter(|(_, outcome, _)| *outcome == Outcome::Dropped).count();
    assert!(dropped >= 20 - 1, "at most the queue and the deliveries in flight are kept: {dropped} dropped of {total}");
    assert!(metrics.encode().contains(&format!(r#"frugal_notifications_total{{notifier="slow",outcome="dropped"}} {dropped}"#)));
}
