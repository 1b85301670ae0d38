//! Which AWS operation a request is: `service:Operation`.
//!
//! The service is the SigV4 signing name from the `Authorization` header's credential scope (or the
//! `X-Amz-Credential` query parameter of a presigned request). The operation is what follows the dot in
//! `X-Amz-Target` (JSON protocols), or the `Action` form field (query protocols: STS, SNS), read from the
//! query string or, only for those services, from the body.

use http::HeaderMap;

pub(crate) const UNKNOWN: &str = "unknown";

/// The SigV4 signing name of the request, if it is signed.
pub(crate) fn signing_service(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let start = auth.find("Credential=")? + "Credential=".len();
        let credential = auth[start..].split([',', ' ']).next().unwrap_or_default();
        return scope_service(credential.split('/'));
    }
    let credential = form_field(query?, "X-Amz-Credential")?;
    scope_service(credential.split("%2F").flat_map(|s| s.split("%2f")))
}

/// The access key id and region of a signed request's credential scope (`AKID/DATE/REGION/SERVICE/...`).
pub(crate) fn access_key_and_region(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Option<(String, String)> {
    let parts: Vec<String> = if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let start = auth.find("Credential=")? + "Credential=".len();
        let credential = auth[start..].split([',', ' ']).next().unwrap_or_default();
        credential.split('/').map(str::to_string).collect()
    } else {
        let credential = form_field(query?, "X-Amz-Credential")?;
        credential
            .split("%2F")
            .flat_map(|s| s.split("%2f"))
            .map(str::to_string)
            .collect()
    };
    match parts.as_slice() {
        [key, _, region, ..] if !key.is_empty() => Some((key.clone(), region.clone())),
        _ => None,
    }
}

/// `AKID/DATE/REGION/SERVICE/aws4_request` → `SERVICE`.
fn scope_service<'a>(mut parts: impl Iterator<Item = &'a str>) -> Option<String> {
    let service = parts.nth(3)?;
    (!service.is_empty()).then(|| service.to_string())
}

/// Services whose requests name their operation in an `Action` form field rather than `X-Amz-Target`.
pub(crate) fn is_query_protocol(service: &str) -> bool {
    matches!(service, "sts" | "sns" | "iam")
}

/// Services that answer errors as JSON (`__type`); the others (query protocols) answer XML.
pub(crate) fn is_json_protocol(service: &str) -> bool {
    !is_query_protocol(service)
}

/// The operation named by `X-Amz-Target` (`TrentService.CreateKey` → `CreateKey`).
pub(crate) fn target_operation(headers: &HeaderMap) -> Option<&str> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    let op = target.rsplit('.').next()?;
    (!op.is_empty()).then_some(op)
}

/// The value of `name` in an `application/x-www-form-urlencoded` string (not decoded).
pub(crate) fn form_field<'a>(form: &'a str, name: &str) -> Option<&'a str> {
    form.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

/// `Action` from a form body, if it is one.
pub(crate) fn action_in_body(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    form_field(text.trim(), "Action").filter(|a| !a.is_empty())
}

/// `service:Operation`, with `unknown` for a part that could not be found.
pub(crate) fn op_name(service: Option<&str>, operation: Option<&str>) -> String {
    let service = service.unwrap_or(UNKNOWN);
    let operation = operation.unwrap_or(UNKNOWN);
    let mut name = String::with_capacity(service.len() + 1 + operation.len());
    name.push_str(service);
    name.push(':');
    name.push_str(operation);
    name
}

/// Whether the answer to `op` carries a policy document that `ShufflePolicies` rewrites.
pub(crate) fn carries_policy(op: &str) -> bool {
    matches!(op, "kms:GetKeyPolicy" | "organizations:DescribePolicy")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/kms/aws4_request, \
                        SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc";

    #[test]
    fn json_protocol() {
        let h = headers(&[
            ("authorization", AUTH),
            ("x-amz-target", "TrentService.CreateKey"),
        ]);
        let service = signing_service(&h, None);
        assert_eq!(service.as_deref(), Some("kms"));
        assert_eq!(target_operation(&h), Some("CreateKey"));
        assert_eq!(
            access_key_and_region(&h, None),
            Some(("testing".to_string(), "us-east-1".to_string()))
        );
        assert_eq!(
            op_name(service.as_deref(), target_operation(&h)),
            "kms:CreateKey"
        );
        let h = headers(&[
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=A/20261128/us-east-1/tagging/aws4_request,SignedHeaders=host,Signature=x",
            ),
            (
                "x-amz-target",
                "ResourceGroupsTaggingAPI_20170126.GetResources",
            ),
        ]);
        assert_eq!(
            op_name(signing_service(&h, None).as_deref(), target_operation(&h)),
            "tagging:GetResources"
        );
    }

    #[test]
    fn query_protocol_and_presigned() {
        assert_eq!(
            action_in_body(b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn"),
            Some("AssumeRole")
        );
        assert_eq!(action_in_body(b"Version=1"), None);
        assert_eq!(action_in_body(&[0xff, 0xfe]), None);
        let query = "Action=GetCallerIdentity&X-Amz-Credential=AKID%2F20261128%2Fus-east-1%2Fsts%2Faws4_request";
        assert_eq!(
            signing_service(&HeaderMap::new(), Some(query)).as_deref(),
            Some("sts")
        );
        assert_eq!(
            access_key_and_region(&HeaderMap::new(), Some(query)),
            Some(("AKID".to_string(), "us-east-1".to_string()))
        );
        assert_eq!(access_key_and_region(&HeaderMap::new(), None), None);
        assert!(is_query_protocol("sns") && is_json_protocol("organizations"));
    }

    #[test]
    fn unknown() {
        assert_eq!(signing_service(&HeaderMap::new(), None), None);
        assert_eq!(
            signing_service(&headers(&[("authorization", "Bearer x")]), None),
            None
        );
        assert_eq!(op_name(None, None), "unknown:unknown");
    }
}
