//! The HTTP/1.1 server side (hyper), the forwarding client (hyper-util's pooled client) and the control
//! endpoint.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::answers;
use crate::counts::{Counters, OpCounts};
use crate::op;
use crate::prng::Prng;
use crate::realism::{self, Before, Call, Scope};
use crate::rules::{Action, Rule, RuleSet};
use crate::shuffle::shuffle_answer;

/// Paths under this prefix are the proxy's own and never forwarded.
pub(crate) const CONTROL_PREFIX: &str = "/__fault-proxy/";

/// A body that is either streamed through or held whole.
type ProxyBody = Either<Incoming, Full<Bytes>>;

/// State shared by the [`crate::Proxy`] handle and the server.
pub(crate) struct Shared {
    scheme: Scheme,
    authority: Authority,
    rules: RwLock<Arc<RuleSet>>,
    pub counts: Counters,
    prng: Prng,
    /// Access key id → account, learned from `sts:AssumeRole` answers (kept when the rules change).
    accounts: Mutex<HashMap<String, String>>,
}

impl Shared {
    pub fn new(upstream: &str, rules: Vec<Rule>, seed: u64) -> io::Result<Shared> {
        let invalid = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("upstream {upstream:?}: {why} (expected http://HOST:PORT)"),
            )
        };
        let uri: Uri = upstream.parse().map_err(|_| invalid("not a URL"))?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(invalid("only http is supported"));
        }
        let authority = uri.authority().cloned().ok_or_else(|| invalid("no host"))?;
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(invalid("a path is not supported"));
        }
        Ok(Shared {
            scheme: Scheme::HTTP,
            authority,
            rules: RwLock::new(Arc::new(RuleSet::new(rules))),
            counts: Counters::default(),
            prng: Prng::new(seed),
            accounts: Mutex::new(HashMap::new()),
        })
    }

    pub fn rule_set(&self) -> Arc<RuleSet> {
        Arc::clone(&self.rules.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(RuleSet::new(rules));
    }

    /// The account and region a request works in.
    fn scope(&self, headers: &HeaderMap, query: Option<&str>) -> Scope {
        let (key, region) = op::access_key_and_region(headers, query).unwrap_or_default();
        let accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let account = accounts
            .get(&key)
            .map_or(realism::DEFAULT_ACCOUNT, String::as_str);
        Scope::new(account, &region)
    }

    fn learn_account(&self, answer: &[u8]) {
        if let Some((key, account)) = realism::assumed_role(answer) {
            self.accounts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, account);
        }
    }

    fn upstream_uri(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(
            path_and_query
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        );
        Ok(Uri::from_parts(parts)?)
    }
}

/// Serves `listener` until `shutdown` fires (or its sender is dropped).
pub(crate) async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("fault-proxy: cannot listen: {e}");
            return;
        }
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_keepalive(Some(Duration::from_secs(30)));
    let client = Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build(connector);
    let handler = Arc::new(Handler { shared, client });

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or an aborted handshake: breathe, then go on.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let reset = Arc::new(AtomicBool::new(false));
        let io = TokioIo::new(ResettableStream {
            inner: stream,
            reset: Arc::clone(&reset),
        });
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let handler = Arc::clone(&handler);
                let reset = Arc::clone(&reset);
                async move { handler.handle(request, &reset).await }
            });
            // An error here is a client that went away, or a connection the proxy closed on purpose.
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(io, service)
                .await;
        });
    }
}

/// Returned by the service to make hyper close the client connection without answering.
#[derive(Debug)]
struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault-proxy closed the connection")
    }
}

impl std::error::Error for CloseConnection {}

struct Handler {
    shared: Arc<Shared>,
    client: Client<HttpConnector, ProxyBody>,
}

impl Handler {
    async fn handle(
        &self,
        request: Request<Incoming>,
        reset: &AtomicBool,
    ) -> Result<Response<ProxyBody>, CloseConnection> {
        if request.uri().path().starts_with(CONTROL_PREFIX) {
            return Ok(whole(self.control(request).await));
        }
        let shared = &*self.shared;
        let (mut parts, incoming) = request.into_parts();

        let service = op::signing_service(&parts.headers, parts.uri.query());
        let service = service.as_deref();
        let query_action = || parts.uri.query().and_then(|q| op::form_field(q, "Action"));
        let (op, body): (String, ProxyBody) =
            if let Some(operation) = op::target_operation(&parts.headers) {
                (
                    op::op_name(service, Some(operation)),
                    Either::Left(incoming),
                )
            } else if !service.is_some_and(op::is_query_protocol) {
                (op::op_name(service, None), Either::Left(incoming))
            } else if let Some(action) = query_action() {
                (op::op_name(service, Some(action)), Either::Left(incoming))
            } else {
                // Query protocols name the operation in the form body: read it whole.
                let bytes = incoming
                    .collect()
                    .await
                    .map_err(|_| CloseConnection)?
                    .to_bytes();
                let op = op::op_name(service, op::action_in_body(&bytes));
                (op, Either::Right(Full::new(bytes)))
            };
        let service = service.unwrap_or_default();

        shared.counts.update(&op, |c| c.received += 1);
        let rules = shared.rule_set();
        let plan = if rules.is_empty() {
            crate::rules::Plan::PASS
        } else {
            rules.plan(&op, op::carries_policy(&op), &shared.prng)
        };

        if plan.latency_ms > 0 {
            shared.counts.update(&op, |c| {
                c.delayed += 1;
                c.latency_ms += plan.latency_ms;
            });
            tokio::time::sleep(Duration::from_millis(plan.latency_ms)).await;
        }
        match plan.action {
            Action::Throttle => {
                shared.counts.update(&op, |c| c.throttled += 1);
                return Ok(whole(answers::throttle(service)));
            }
            Action::Status(code) => {
                shared.counts.update(&op, |c| c.status += 1);
                return Ok(whole(answers::status(service, code)));
            }
            Action::Error(index) => {
                shared.counts.update(&op, |c| c.injected += 1);
                return Ok(whole(rules.error_answer(index, service)));
            }
            Action::Reset => {
                shared.counts.update(&op, |c| c.reset += 1);
                reset.store(true, Ordering::Release);
                return Err(CloseConnection);
            }
            Action::Forward | Action::DropResponse => {}
        }

        // Realistic AWS: look at the whole request, maybe answer instead of forwarding.
        let mut body = body;
        let mut realistic = None;
        if let Some(realism) = rules.realism()
            && realism::handles(service)
        {
            let bytes = match body {
                Either::Left(incoming) => incoming.collect().await.map_err(|_| CloseConnection)?,
                Either::Right(full) => full.collect().await.map_err(|_| CloseConnection)?,
            }
            .to_bytes();
            body = Either::Right(Full::new(bytes.clone()));
            let call = Call::new(&op, shared.scope(&parts.headers, parts.uri.query()), bytes);
            let mut effects = OpCounts::default();
            let before = realism.before(&rules, &shared.prng, &call, Instant::now(), &mut effects);
            if effects.has_realism() {
                shared.counts.update(&op, |c| c.add_realism(&effects));
            }
            match before {
                Before::Answer(answer) => return Ok(whole(answer)),
                Before::Forward(after) => realistic = Some((realism, call, after)),
            }
        }

        strip_hop_by_hop(&mut parts.headers);
        parts.headers.remove(header::EXPECT);
        parts.uri = match shared.upstream_uri(parts.uri.path_and_query()) {
            Ok(uri) => uri,
            Err(e) => return Ok(whole(answers::bad_gateway(&e.to_string()))),
        };
        parts.version = Version::HTTP_11;
        let response = match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => response,
            Err(e) => {
                let mut message = e.to_string();
                if let Some(source) = std::error::Error::source(&e) {
                    message = format!("{message}: {source}");
                }
                return Ok(whole(answers::bad_gateway(&message)));
            }
        };
        shared.counts.update(&op, |c| c.forwarded += 1);

        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        let learn_account = op == "sts:AssumeRole" && parts.status == StatusCode::OK;
        let realistic = realistic.filter(|_| parts.status.is_success());
        let body: ProxyBody = if plan.shuffle && parts.status == StatusCode::OK
            || learn_account
            || realistic.is_some()
        {
            let mut bytes = body
                .collect()
                .await
                .map_err(|_| CloseConnection)?
                .to_bytes();
            if learn_account {
                shared.learn_account(&bytes);
            }
            if let Some((realism, call, after)) = &realistic {
                let mut effects = OpCounts::default();
                if let Some(rewritten) = realism.after(
                    call,
                    after,
                    &parts.headers,
                    &bytes,
                    Instant::now(),
                    &mut effects,
                ) {
                    bytes = rewritten;
                }
                if effects.has_realism() {
                    shared.counts.update(&op, |c| c.add_realism(&effects));
                }
            }
            if plan.shuffle
                && parts.status == StatusCode::OK
                && let Some(rewritten) = shuffle_answer(&op, &bytes, &shared.prng)
            {
                bytes = Bytes::from(rewritten);
            }
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            Either::Right(Full::new(bytes))
        } else {
            Either::Left(body)
        };

        if plan.action == Action::DropResponse {
            // The upstream finished (the change happened): hang up on the client.
            if let Either::Left(body) = body {
                let _ = body.collect().await;
            }
            shared.counts.update(&op, |c| c.dropped += 1);
            return Err(CloseConnection);
        }
        Ok(Response::from_parts(parts, body))
    }

    /// `GET counts`, `POST reset-counts`, `GET rules`, `POST rules` (`{"rules": [...]}`).
    async fn control(&self, request: Request<Incoming>) -> Response<Bytes> {
        let shared = &*self.shared;
        let path = &request.uri().path()[CONTROL_PREFIX.len()..];
        match (request.method(), path) {
            (&Method::GET, "counts") => json_ok(&shared.counts.snapshot()),
            (&Method::POST, "reset-counts") => {
                shared.counts.clear();
                json_ok(&serde_json::json!({"ok": true}))
            }
            (&Method::GET, "rules") => {
                json_ok(&serde_json::json!({"rules": shared.rule_set().rules()}))
            }
            (&Method::POST, "rules") => {
                let body = match request.into_body().collect().await {
                    Ok(body) => body.to_bytes(),
                    Err(e) => return control_error(StatusCode::BAD_REQUEST, &e.to_string()),
                };
                match crate::parse_rules(&body) {
                    Ok(rules) => {
                        let n = rules.len();
                        shared.set_rules(rules);
                        json_ok(&serde_json::json!({"ok": true, "rules": n}))
                    }
                    Err(e) => control_error(StatusCode::BAD_REQUEST, &format!("bad rules: {e}")),
                }
            }
            _ => control_error(
                StatusCode::NOT_FOUND,
                "unknown control request; try GET counts, POST reset-counts, GET rules, POST rules",
            ),
        }
    }
}

fn json_ok(value: &impl serde::Serialize) -> Response<Bytes> {
    match serde_json::to_vec(value) {
        Ok(body) => control_response(StatusCode::OK, Bytes::from(body)),
        Err(e) => control_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn control_error(status: StatusCode, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({"error": message}).to_string();
    control_response(status, Bytes::from(body))
}

fn control_response(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn whole(response: Response<Bytes>) -> Response<ProxyBody> {
    let (mut parts, body) = response.into_parts();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Either::Right(Full::new(body)))
}

/// Headers that describe one connection and must not be passed on (RFC 9110, 7.6.1).
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if let Some(listed) = headers.get(header::CONNECTION).cloned()
        && let Ok(listed) = listed.to_str()
    {
        for name in listed.split(',') {
            let name = name.trim();
            if !name.is_empty() {
                headers.remove(name);
            }
        }
    }
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
        header::PROXY_AUTHENTICATE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

/// The client socket; when `reset` is set, it is closed with `SO_LINGER 0`, which sends a TCP RST.
struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::Acquire) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reset.load(Ordering::Acquire) {
            // No FIN: the RST comes when the socket is dropped.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn upstream_urls() {
        assert!(Shared::new("http://127.0.0.1:5000", vec![], 0).is_ok());
        assert!(Shared::new("http://127.0.0.1:5000/", vec![], 0).is_ok());
        assert!(Shared::new("https://127.0.0.1:5000", vec![], 0).is_err());
        assert!(Shared::new("http://127.0.0.1:5000/x", vec![], 0).is_err());
        assert!(Shared::new("nonsense", vec![], 0).is_err());
        let shared = Shared::new("http://127.0.0.1:5000", vec![], 0).unwrap();
        let pq = PathAndQuery::from_static("/a?b=c");
        assert_eq!(
            shared.upstream_uri(Some(&pq)).unwrap().to_string(),
            "http://127.0.0.1:5000/a?b=c"
        );
        assert_eq!(
            shared.upstream_uri(None).unwrap().to_string(),
            "http://127.0.0.1:5000/"
        );
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "connection",
            HeaderValue::from_static("keep-alive, x-private"),
        );
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("TrentService.ListKeys"),
        );
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("x-amz-target"));
    }
}
