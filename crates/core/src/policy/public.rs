//! Whether an Allow to everyone (`"Principal": "*"`) is public, as IAM Access Analyzer decides:
//! it is, unless its conditions keep out a caller from outside, that is a principal of another
//! account, in no organization (or another one), calling from no endpoint of the owner's.
//!
//! Only the conditions on the keys that name the caller or where the call comes from can keep
//! such a caller out ([`LIMITING_KEYS`]); every other key (`aws:SecureTransport`,
//! `kms:ViaService`, `aws:SourceIp`, tags…) is one the caller can meet. The evaluation engine
//! decides each limiting key for the two requests such a caller can make: with a value of its
//! own (none of the policy's) and without the key. A key limits the statement when neither meets
//! its conditions: `StringEquals aws:PrincipalOrgID` limits; `StringNotEquals`, `…IfExists` and
//! `ForAllValues:…` (vacuously true when the key is absent) do not.

use std::collections::BTreeMap;

use super::eval::{Principal, Request, key_conditions_hold};
use super::model::{Principals, Statement};

/// The keys that can limit who calls, each with two values a caller from outside could have
/// (the first the statement does not name is used).
pub const LIMITING_KEYS: &[(&str, [&str; 2])] = &[
    ("aws:PrincipalOrgID", ["o-outsider000", "o-outsider001"]),
    (
        "aws:PrincipalOrgPaths",
        [
            "o-outsider000/r-out0/ou-out0-outsider/",
            "o-outsider001/r-out1/",
        ],
    ),
    ("aws:PrincipalAccount", ["999999999999", "999999999998"]),
    (
        "aws:PrincipalArn",
        [
            "arn:aws:iam::999999999999:role/outsider",
            "arn:aws:iam::999999999998:user/outsider",
        ],
    ),
    ("kms:CallerAccount", ["999999999999", "999999999998"]),
    (
        "aws:userid",
        ["AROAOUTSIDER00000000:outsider", "AIDAOUTSIDER00000000"],
    ),
    ("aws:username", ["outsider", "outsider2"]),
    (
        "aws:SourceVpce",
        ["vpce-0outsider0000000", "vpce-0outsider0000001"],
    ),
    (
        "aws:SourceVpc",
        ["vpc-0outsider0000000", "vpc-0outsider0000001"],
    ),
    ("aws:SourceAccount", ["999999999999", "999999999998"]),
    ("aws:SourceOwner", ["999999999999", "999999999998"]),
    (
        "aws:SourceArn",
        [
            "arn:aws:s3:::outsider-bucket",
            "arn:aws:sns:us-east-1:999999999999:outsider",
        ],
    ),
    ("aws:SourceOrgID", ["o-outsider000", "o-outsider001"]),
    (
        "aws:SourceOrgPaths",
        [
            "o-outsider000/r-out0/ou-out0-outsider/",
            "o-outsider001/r-out1/",
        ],
    ),
];

/// What keeps everyone out of an Allow to `"*"`, or why nothing does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// Not an Allow to everyone.
    NotPublic,
    /// An Allow to everyone whose conditions keep callers from outside out: the keys that do.
    Limited(Vec<String>),
    /// An Allow to everyone that a caller from outside meets; `limiting_keys` are the limiting
    /// keys its conditions name, none of which keeps that caller out.
    Public { limiting_keys: Vec<String> },
}

/// Whether the statement allows everyone (`"*"` or `{"AWS": "*"}`), and whether its conditions
/// limit that to callers of the owner's (see the module documentation).
pub fn exposure(st: &Statement) -> Exposure {
    if !st.is_allow() || !st.principal.as_ref().is_some_and(Principals::is_public) {
        return Exposure::NotPublic;
    }
    let mut named = Vec::new();
    let mut limiting = Vec::new();
    for (key, candidates) in LIMITING_KEYS {
        let written: Vec<(&String, &std::collections::BTreeSet<String>)> = st
            .condition
            .values()
            .flat_map(|keys| keys.iter())
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .collect();
        if written.is_empty() {
            continue;
        }
        named.push((*key).to_owned());
        let in_policy = |v: &str| {
            written
                .iter()
                .any(|(_, values)| values.iter().any(|w| w.eq_ignore_ascii_case(v)))
        };
        let own = candidates
            .iter()
            .find(|c| !in_policy(c))
            .unwrap_or(&candidates[1]);
        let met = [Some(*own), None]
            .into_iter()
            .any(|value| key_conditions_hold(st, key, &outsider(key, value)));
        if !met {
            limiting.push((*key).to_owned());
        }
    }
    if limiting.is_empty() {
        Exposure::Public {
            limiting_keys: named,
        }
    } else {
        Exposure::Limited(limiting)
    }
}

/// A caller from outside: an IAM role of another account, in no organization, whose request
/// carries `value` for `key` (`None`: lacks the key).
fn outsider(key: &str, value: Option<&str>) -> Request {
    let mut context = BTreeMap::new();
    context.insert(
        key.to_lowercase(),
        value.map(|v| vec![v.to_owned()]).unwrap_or_default(),
    );
    Request {
        principal: Principal {
            arn: "arn:aws:iam::999999999999:role/outsider".into(),
            account: "999999999999".into(),
            ..Principal::default()
        },
        action: "kms:Decrypt".into(),
        resource: "arn:aws:kms:us-east-1:000000000000:key/outsider".into(),
        // No account has this id: a condition comparing the caller with the key's own account
        // (`${aws:ResourceAccount}`) keeps the outsider out.
        resource_account: "000000000000".into(),
        resource_tags: BTreeMap::new(),
        context,
    }
}
