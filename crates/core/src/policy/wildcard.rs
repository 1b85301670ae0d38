//! IAM wildcard matching for action names.

/// True when `action` matches the IAM action pattern `pattern`: `*` matches any run of
/// characters (including none), `?` matches exactly one, and the comparison ignores case
/// (`kms:put*` matches `kms:PutKeyPolicy`).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let action: Vec<char> = action.chars().flat_map(char::to_lowercase).collect();
    let (mut p, mut a) = (0, 0);
    // Where the last `*` was seen in the pattern, and the action position it resumes from.
    let mut star: Option<(usize, usize)> = None;
    while a < action.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, a));
                p += 1;
            }
            Some(&c) if c == '?' || c == action[a] => {
                p += 1;
                a += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry.
                Some((star_p, star_a)) => {
                    star = Some((star_p, star_a + 1));
                    p = star_p + 1;
                    a = star_a + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
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
}
