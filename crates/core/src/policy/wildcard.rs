//! IAM wildcards: `*` matches any run of characters (including none), `?` exactly one.

/// True when `action` matches the IAM action pattern `pattern`, ignoring case
/// (`kms:put*` matches `kms:PutKeyPolicy`). Allocation-free for ASCII names (every AWS action):
/// the lint matches each pattern of every key policy against every action of its service.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    if pattern.is_ascii() && action.is_ascii() {
        return matches(pattern.as_bytes(), action.as_bytes(), b'*', b'?', |p, a| {
            p.eq_ignore_ascii_case(&a)
        });
    }
    let pattern: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let action: Vec<char> = action.chars().flat_map(char::to_lowercase).collect();
    matches(&pattern, &action, '*', '?', |p, a| p == a)
}

/// Case-sensitive wildcard match, as for resource ARNs and `StringLike`/`ArnLike` values.
pub fn glob(pattern: &str, value: &str) -> bool {
    if pattern.is_ascii() && value.is_ascii() {
        return matches(pattern.as_bytes(), value.as_bytes(), b'*', b'?', |p, v| {
            p == v
        });
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    matches(&pattern, &value, '*', '?', |p, v| p == v)
}

fn matches<T: Copy + PartialEq>(
    pattern: &[T],
    value: &[T],
    star_symbol: T,
    one: T,
    same: impl Fn(T, T) -> bool,
) -> bool {
    let (mut p, mut v) = (0, 0);
    // Where the last `*` was seen in the pattern, and the value position it resumes from.
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some(&c) if c == star_symbol => {
                star = Some((p, v));
                p += 1;
            }
            Some(&c) if c == one || same(c, value[v]) => {
                p += 1;
                v += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry.
                Some((star_p, star_v)) => {
                    star = Some((star_p, star_v + 1));
                    p = star_p + 1;
                    v = star_v + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == star_symbol)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::action_matches;

    #[test]
    fn exact_and_case_insensitive() {
        assert!(action_matches("kms:PutKeyPolicy", "kms:PutKeyPolicy"));
        assert!(action_matches("KMS:putkeypolicy", "kms:PutKeyPolicy"));
        assert!(!action_matches("kms:PutKeyPolicy", "kms:GetKeyPolicy"));
        assert!(!action_matches("kms:PutKeyPolicy", "kms:PutKeyPolicyX"));
        assert!(!action_matches("kms:PutKeyPolicyX", "kms:PutKeyPolicy"));
    }

    #[test]
    fn star_matches_any_run() {
        for pattern in [
            "*",
            "kms:*",
            "kms:Put*",
            "kms:*Policy",
            "*:*",
            "kms:*Key*",
            "k*s:P*y",
        ] {
            assert!(action_matches(pattern, "kms:PutKeyPolicy"), "{pattern}");
        }
        for pattern in ["kms:Get*", "iam:*", "kms:*Grant", "s3*", "*x*"] {
            assert!(!action_matches(pattern, "kms:PutKeyPolicy"), "{pattern}");
        }
        assert!(action_matches("kms:Put*", "kms:Put"));
        assert!(action_matches("**", ""));
    }

    #[test]
    fn question_mark_matches_one_character() {
        assert!(action_matches("kms:PutKeyPolic?", "kms:PutKeyPolicy"));
        assert!(action_matches("kms:???KeyPolicy", "kms:PutKeyPolicy"));
        assert!(!action_matches("kms:??KeyPolicy", "kms:PutKeyPolicy"));
        assert!(!action_matches("kms:PutKeyPolicy?", "kms:PutKeyPolicy"));
    }

    #[test]
    fn backtracking() {
        assert!(action_matches("a*b*c", "aXbYbZc"));
        assert!(!action_matches("a*b*c", "aXbYbZ"));
        assert!(action_matches("*ab", "aaab"));
        assert!(!action_matches("", "a"));
        assert!(action_matches("", ""));
    }

    #[test]
    fn glob_is_case_sensitive_and_handles_non_ascii() {
        use super::glob;
        assert!(glob(
            "arn:aws:kms:*:111111111111:key/*",
            "arn:aws:kms:us-east-1:111111111111:key/abc"
        ));
        assert!(!glob(
            "arn:aws:kms:*:111111111111:KEY/*",
            "arn:aws:kms:us-east-1:111111111111:key/abc"
        ));
        assert!(glob("o-a1/r-ab/ou-*/*", "o-a1/r-ab/ou-x/"));
        assert!(glob("caf?-*", "café-crème"));
        assert!(!glob("caf?", "café-crème"));
        assert!(action_matches("KMS:ÉCRIRE*", "kms:écrireTout"));
    }
}
