//! Just enough XML for the query protocols' answers (SNS, STS): element texts and `<member>` lists.

/// The text of the first `<tag>...</tag>` in `xml`, unescaped.
pub(crate) fn text(xml: &str, tag: &str) -> Option<String> {
    texts(xml, tag).into_iter().next()
}

/// The texts of every `<tag>...</tag>` in `xml`, unescaped.
pub(crate) fn texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(unescape(after[..end].trim()));
        rest = &after[end + close.len()..];
    }
    out
}

/// `xml` without the `<member>...</member>` elements whose `<key_tag>` text `drop` accepts, and how many
/// went. Members are not nested in the lists this is used on.
pub(crate) fn drop_members(
    xml: &str,
    key_tag: &str,
    mut drop: impl FnMut(&str) -> bool,
) -> (String, usize) {
    const OPEN: &str = "<member>";
    const CLOSE: &str = "</member>";
    let mut out = String::with_capacity(xml.len());
    let mut dropped = 0;
    let mut rest = xml;
    while let Some(start) = rest.find(OPEN) {
        let Some(len) = rest[start..].find(CLOSE) else {
            break;
        };
        let end = start + len + CLOSE.len();
        let member = &rest[start..end];
        out.push_str(&rest[..start]);
        if text(member, key_tag).is_some_and(|key| drop(&key)) {
            dropped += 1;
        } else {
            out.push_str(member);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    (out, dropped)
}

fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "<ListTopicsResponse><ListTopicsResult><Topics>\
        <member><TopicArn>arn:a</TopicArn></member>\n<member><TopicArn>arn:b&amp;c</TopicArn></member>\
        <member><TopicArn>arn:d</TopicArn></member></Topics></ListTopicsResult></ListTopicsResponse>";

    #[test]
    fn texts_and_members() {
        assert_eq!(text(LIST, "TopicArn").as_deref(), Some("arn:a"));
        assert_eq!(texts(LIST, "TopicArn"), ["arn:a", "arn:b&c", "arn:d"]);
        assert_eq!(text(LIST, "Nope"), None);
        let (out, n) = drop_members(LIST, "TopicArn", |arn| arn == "arn:b&c");
        assert_eq!(n, 1);
        assert_eq!(texts(&out, "TopicArn"), ["arn:a", "arn:d"]);
        assert!(out.starts_with("<ListTopicsResponse>") && out.ends_with("</ListTopicsResponse>"));
        let (same, n) = drop_members(LIST, "TopicArn", |_| false);
        assert_eq!((same.as_str(), n), (LIST, 0));
    }
}
