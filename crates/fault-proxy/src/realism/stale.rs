//! `StaleReads`: the answers of reads naming resources, and the resources written a moment ago.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, header};

use super::Scope;

/// Past this many cached answers, the cache starts afresh (a bound on memory, not a policy).
const MAX_ANSWERS: usize = 50_000;

struct Cached {
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Default)]
pub(crate) struct Stale {
    /// Resource id → end of its stale window.
    until: HashMap<Scope, HashMap<String, Instant>>,
    /// (scope, operation, request body) → the last successful answer.
    answers: HashMap<(Scope, String, Bytes), Cached>,
}

impl Stale {
    /// `ids` were written: they read stale until `until`.
    pub fn mark(&mut self, scope: &Scope, ids: &[String], until: Instant) {
        if ids.is_empty() {
            return;
        }
        let windows = self.until.entry(scope.clone()).or_default();
        for id in ids {
            let end = windows.entry(id.clone()).or_insert(until);
            *end = (*end).max(until);
        }
    }

    pub fn is_stale(&self, scope: &Scope, ids: &[String], now: Instant) -> bool {
        self.until.get(scope).is_some_and(|windows| {
            ids.iter()
                .any(|id| windows.get(id).is_some_and(|until| now < *until))
        })
    }

    /// The cached answer to `op` with `body`, as a response.
    pub fn answer(&self, scope: &Scope, op: &str, body: &Bytes) -> Option<Response<Bytes>> {
        let cached = self
            .answers
            .get(&(scope.clone(), op.to_string(), body.clone()))?;
        let mut response = Response::new(cached.body.clone());
        *response.headers_mut() = cached.headers.clone();
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(cached.body.len()));
        Some(response)
    }

    /// Remembers a successful answer (the one the client got).
    pub fn remember(
        &mut self,
        scope: &Scope,
        op: &str,
        request: &Bytes,
        headers: &HeaderMap,
        answer: Bytes,
    ) {
        if self.answers.len() >= MAX_ANSWERS {
            self.answers.clear();
        }
        let mut headers = headers.clone();
        headers.remove(header::CONTENT_LENGTH);
        self.answers.insert(
            (scope.clone(), op.to_string(), request.clone()),
            Cached {
                headers,
                body: answer,
            },
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stale_windows_and_answers() {
        let scope = Scope::new("1", "r");
        let now = Instant::now();
        let mut stale = Stale::default();
        let request = Bytes::from_static(br#"{"KeyId":"k"}"#);
        assert!(stale.answer(&scope, "kms:GetKeyPolicy", &request).is_none());
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("999"));
        stale.remember(
            &scope,
            "kms:GetKeyPolicy",
            &request,
            &headers,
            Bytes::from_static(b"old"),
        );

        let ids = vec!["k".to_string()];
        assert!(!stale.is_stale(&scope, &ids, now));
        stale.mark(&scope, &ids, now + Duration::from_millis(100));
        assert!(stale.is_stale(&scope, &ids, now));
        assert!(!stale.is_stale(&scope, &["j".to_string()], now));
        assert!(!stale.is_stale(&Scope::new("2", "r"), &ids, now));
        assert!(!stale.is_stale(&scope, &ids, now + Duration::from_millis(100)));

        let answer = stale.answer(&scope, "kms:GetKeyPolicy", &request).unwrap();
        assert_eq!(answer.body().as_ref(), b"old");
        assert_eq!(answer.headers()[header::CONTENT_LENGTH], "3");
        assert_eq!(
            answer.headers()[header::CONTENT_TYPE],
            "application/x-amz-json-1.1"
        );
        assert!(
            stale.answer(&scope, "kms:DescribeKey", &request).is_none(),
            "per operation"
        );
        assert!(
            stale
                .answer(&scope, "kms:GetKeyPolicy", &Bytes::from_static(b"{}"))
                .is_none(),
            "per request body"
        );
    }
}
