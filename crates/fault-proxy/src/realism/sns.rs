//! SNS (query protocol, XML answers): new topics and subscriptions (`Unseen`). `CreateTopic` of a topic
//! the proxy saw before (`ListTopics`, an earlier create) is not a create.

use std::time::Instant;

use bytes::Bytes;
use http::{Response, StatusCode};

use super::request::Kind;
use super::resources::Res;
use super::{Call, State, xml};
use crate::answers;

/// `Unseen`: a read naming a hidden topic or subscription answers `NotFound` (HTTP 404).
pub(super) fn refuse(state: &State, call: &Call<'_>, now: Instant) -> Option<Response<Bytes>> {
    if call.kind() != Kind::Read {
        return None;
    }
    let hidden = |field: &str, res: Res| {
        call.body
            .str(field)
            .is_some_and(|arn| state.hidden.is_hidden(&call.scope, res, arn, now))
    };
    let (code, message) = if hidden("TopicArn", Res::Topic) {
        ("NotFound", "Topic does not exist")
    } else if hidden("SubscriptionArn", Res::Subscription) {
        ("NotFound", "Subscription does not exist")
    } else if hidden("ResourceArn", Res::Topic) {
        ("ResourceNotFound", "Resource does not exist")
    } else {
        return None;
    };
    Some(answers::error("sns", StatusCode::NOT_FOUND, code, message))
}

/// Learns topics; hides a new topic or subscription until `until` (when the rule fired).
pub(super) fn track(
    state: &mut State,
    call: &Call<'_>,
    answer: Option<&str>,
    until: Option<Instant>,
) {
    let scope = &call.scope;
    match call.action {
        "CreateTopic" => {
            if let Some(arn) = answer.and_then(|a| xml::text(a, "TopicArn"))
                && state.known.add(scope, Res::Topic, &arn)
                && let Some(until) = until
            {
                state.hidden.hide(scope, Res::Topic, &arn, until);
            }
        }
        "Subscribe" => {
            if let Some(arn) = answer.and_then(|a| xml::text(a, "SubscriptionArn"))
                && arn.starts_with("arn:")
                && let Some(until) = until
            {
                state.hidden.hide(scope, Res::Subscription, &arn, until);
            }
        }
        "DeleteTopic" => {
            if let Some(arn) = call.body.str("TopicArn") {
                state.known.remove(scope, Res::Topic, arn);
            }
        }
        "ListTopics" => {
            for arn in answer
                .map(|a| xml::texts(a, "TopicArn"))
                .unwrap_or_default()
            {
                state.known.add(scope, Res::Topic, &arn);
            }
        }
        _ => {}
    }
}

/// `Unseen`: leaves hidden topics out of `ListTopics`, hidden subscriptions out of `ListSubscriptions` and
/// `ListSubscriptionsByTopic`.
pub(super) fn filter(state: &State, call: &Call<'_>, answer: &mut String, now: Instant) -> usize {
    let (tag, res) = match call.action {
        "ListTopics" => ("TopicArn", Res::Topic),
        "ListSubscriptions" | "ListSubscriptionsByTopic" => ("SubscriptionArn", Res::Subscription),
        _ => return 0,
    };
    let (rewritten, dropped) = xml::drop_members(answer, tag, |arn| {
        state.hidden.is_hidden(&call.scope, res, arn, now)
    });
    if dropped > 0 {
        *answer = rewritten;
    }
    dropped
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call<'a>(op: &'a str, body: &str) -> Call<'a> {
        Call::test("1", op, body)
    }

    #[test]
    fn new_topics_and_subscriptions_are_hidden() {
        let mut state = State::default();
        let now = Instant::now();
        let until = Some(now + Duration::from_secs(1));
        let create = call("sns:CreateTopic", "Action=CreateTopic&Name=t");
        let answer = "<CreateTopicResponse><CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:1:t</TopicArn>\
                      </CreateTopicResult></CreateTopicResponse>";
        track(&mut state, &create, Some(answer), until);
        let subscribe = call("sns:Subscribe", "Action=Subscribe");
        track(
            &mut state,
            &subscribe,
            Some(
                "<SubscribeResult><SubscriptionArn>arn:aws:sns:us-east-1:1:t:s1</SubscriptionArn></SubscribeResult>",
            ),
            until,
        );

        let attributes = call(
            "sns:GetTopicAttributes",
            "Action=GetTopicAttributes&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At",
        );
        let refusal = refuse(&state, &attributes, now).unwrap();
        assert_eq!(refusal.status(), 404);
        assert!(
            std::str::from_utf8(refusal.body())
                .unwrap()
                .contains("<Code>NotFound</Code>")
        );
        assert!(refuse(&state, &attributes, now + Duration::from_secs(1)).is_none());

        let mut topics =
            "<Topics><member><TopicArn>arn:aws:sns:us-east-1:1:old</TopicArn></member>\
                          <member><TopicArn>arn:aws:sns:us-east-1:1:t</TopicArn></member></Topics>"
                .to_string();
        assert_eq!(
            filter(
                &state,
                &call("sns:ListTopics", "Action=ListTopics"),
                &mut topics,
                now
            ),
            1
        );
        assert_eq!(
            xml::texts(&topics, "TopicArn"),
            ["arn:aws:sns:us-east-1:1:old"]
        );
        let mut subscriptions =
            "<Subscriptions><member><SubscriptionArn>arn:aws:sns:us-east-1:1:t:s1</SubscriptionArn></member></Subscriptions>"
                .to_string();
        let by_topic = call(
            "sns:ListSubscriptionsByTopic",
            "Action=ListSubscriptionsByTopic",
        );
        assert_eq!(filter(&state, &by_topic, &mut subscriptions, now), 1);
        assert!(!subscriptions.contains("member"));

        // A create of a known topic is no create.
        let mut state = State::default();
        track(
            &mut state,
            &call("sns:ListTopics", "Action=ListTopics"),
            Some("<member><TopicArn>arn:aws:sns:us-east-1:1:t</TopicArn></member>"),
            None,
        );
        track(&mut state, &create, Some(answer), until);
        assert!(refuse(&state, &attributes, now).is_none());
    }
}
