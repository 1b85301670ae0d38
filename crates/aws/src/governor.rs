//! Client-side rate limiting per AWS operation, learned from throttling answers.
//!
//! AWS meters requests per operation (KMS: DescribeKey 100/s, GetKeyPolicy 30/s, ...). Sending
//! faster only earns throttling answers and spends the retry quota. Each operation starts
//! unlimited; its first throttling answer sets a rate from what was really sent in the last
//! second (times 0.7), and every second without a throttle raises it by 10%. Every attempt,
//! retries included, waits for a token: the limit sits in the HTTP layer, under the SDK.
//!
//! (The SDK's own adaptive mode starts from a measured rate of zero and pins a client to 0.5
//! requests per second after an early throttle, hence this.)

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use tokio::time::Instant;

const DECREASE: f64 = 0.7;
const INCREASE: f64 = 1.1;
const MIN_RATE: f64 = 1.0;
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct State {
    /// Requests per second; `None` until the first throttle.
    rate: Option<f64>,
    tokens: f64,
    refilled: Instant,
    /// When the rate last changed.
    adjusted: Instant,
    /// Send times within the last second.
    sent: VecDeque<Instant>,
    throttles: u64,
}

/// The rate limit of one operation.
#[derive(Debug, Clone)]
pub struct Governor {
    name: Arc<str>,
    state: Arc<Mutex<State>>,
}

impl Governor {
    pub fn new(name: &str) -> Self {
        let now = Instant::now();
        let state = State {
            rate: None,
            tokens: 0.0,
            refilled: now,
            adjusted: now,
            sent: VecDeque::new(),
            throttles: 0,
        };
        Self {
            name: name.into(),
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The learned rate, if any throttle was seen.
    pub fn rate(&self) -> Option<f64> {
        self.lock().rate
    }

    pub fn throttles(&self) -> u64 {
        self.lock().throttles
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.lock();
                let now = Instant::now();
                while state
                    .sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > WINDOW)
                {
                    state.sent.pop_front();
                }
                match state.rate {
                    None => {
                        state.sent.push_back(now);
                        return;
                    }
                    Some(mut rate) => {
                        if now.duration_since(state.adjusted) >= WINDOW {
                            rate *= INCREASE;
                            state.rate = Some(rate);
                            state.adjusted = now;
                        }
                        let elapsed = now.duration_since(state.refilled).as_secs_f64();
                        // A small burst only: a full second's worth would earn throttles after idling.
                        state.tokens = (state.tokens + elapsed * rate).min((rate * 0.2).max(1.0));
                        state.refilled = now;
                        if state.tokens >= 1.0 {
                            state.tokens -= 1.0;
                            state.sent.push_back(now);
                            return;
                        }
                        Duration::from_secs_f64((1.0 - state.tokens) / rate)
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// AWS throttled a request: slow down to 70% of what was sent in the last second.
    pub fn throttled(&self) {
        let mut state = self.lock();
        state.throttles += 1;
        let now = Instant::now();
        let recent = state.rate.is_some() && now.duration_since(state.adjusted) < WINDOW / 2;
        if recent {
            // Answers to requests sent before the last decrease: already accounted for.
            return;
        }
        let sent = state
            .sent
            .iter()
            .filter(|t| now.duration_since(**t) <= WINDOW)
            .count() as f64;
        let measured = state.rate.map_or(sent, |rate| sent.min(rate));
        let rate = (measured * DECREASE).max(MIN_RATE);
        tracing::debug!(operation = %self.name, rate, "throttled: slowing down");
        state.rate = Some(rate);
        state.tokens = 0.0;
        state.refilled = now;
        state.adjusted = now;
    }
}

/// Whether an HTTP answer is AWS saying "slow down", in any protocol.
fn is_throttling(status: u16, body: &[u8]) -> bool {
    if status == 429 {
        return true;
    }
    if status != 400 && status != 503 {
        return false;
    }
    let text = String::from_utf8_lossy(body);
    [
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ThrottledException",
        "RequestLimitExceeded",
        "SlowDown",
    ]
    .iter()
    .any(|code| text.contains(code))
}

/// An HTTP client whose every request passes the operation's governor.
#[derive(Clone)]
pub struct GovernedHttpClient {
    inner: SharedHttpClient,
    governor: Governor,
}

impl fmt::Debug for GovernedHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GovernedHttpClient")
            .field("operation", &self.governor.name)
            .finish()
    }
}

impl GovernedHttpClient {
    pub fn new(inner: SharedHttpClient, governor: Governor) -> Self {
        Self { inner, governor }
    }
}

impl HttpClient for GovernedHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(GovernedConnector {
            inner,
            governor: self.governor.clone(),
        })
    }
}

#[derive(Debug)]
struct GovernedConnector {
    inner: SharedHttpConnector,
    governor: Governor,
}

impl HttpConnector for GovernedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let governor = self.governor.clone();
        HttpConnectorFuture::new(async move {
            governor.acquire().await;
            let mut response = inner.call(request).await?;
            let status = response.status().as_u16();
            if status == 400 || status == 429 || status == 503 {
                // Error answers are small: read them to tell throttling from other errors.
                let body = response.take_body();
                let bytes = match body.bytes() {
                    Some(bytes) => bytes.to_vec(),
                    None => ByteStream::new(body)
                        .collect()
                        .await
                        .map(|b| b.to_vec())
                        .unwrap_or_default(),
                };
                if is_throttling(status, &bytes) {
                    governor.throttled();
                }
                *response.body_mut() = SdkBody::from(bytes);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn unlimited_until_throttled_then_about_70_percent_of_what_was_sent() {
        let governor = Governor::new("kms:GetKeyPolicy");
        for _ in 0..40 {
            governor.acquire().await;
        }
        assert_eq!(governor.rate(), None);
        governor.throttled();
        assert_eq!(governor.rate(), Some(28.0));
        // 28/s: twenty more requests take about 0.7 s.
        let started = Instant::now();
        for _ in 0..20 {
            governor.acquire().await;
        }
        let took = started.elapsed().as_secs_f64();
        assert!((0.6..0.8).contains(&took), "{took}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_throttles_decreases_once_and_quiet_seconds_increase() {
        let governor = Governor::new("kms:DescribeKey");
        for _ in 0..100 {
            governor.acquire().await;
        }
        governor.throttled();
        governor.throttled();
        governor.throttled();
        assert_eq!(governor.rate(), Some(70.0));
        assert_eq!(governor.throttles(), 3);
        tokio::time::advance(Duration::from_millis(1100)).await;
        governor.acquire().await;
        assert!(
            governor.rate().is_some_and(|r| (r - 77.0).abs() < 1e-9),
            "{:?}",
            governor.rate()
        );
    }

    #[test]
    fn throttling_answers_of_every_protocol_are_recognised() {
        assert!(is_throttling(
            400,
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
        ));
        assert!(is_throttling(
            400,
            br#"{"__type":"TooManyRequestsException"}"#
        ));
        assert!(is_throttling(
            400,
            b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"
        ));
        assert!(is_throttling(429, b""));
        assert!(!is_throttling(400, br#"{"__type":"NotFoundException"}"#));
        assert!(!is_throttling(
            200,
            br#"{"Description":"ThrottlingException"}"#
        ));
    }
}
