//! What AWS does with one call, as apply relies on it: each domain's [`crate::DomainOp`]
//! declares it for every operation, in one exhaustive match, so a new operation cannot be added
//! without deciding how a lost answer, a "not yet" error and confirmation are handled.

/// How AWS treats one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Semantics {
    /// How to learn the call's effect when its answer was lost (a timeout, a dropped connection).
    pub lost_answer: LostAnswer,
    /// AWS error codes that mean "not yet": the call did not take effect and is made again after
    /// a wait (a propagation window, a write in progress).
    pub not_yet: NotYet,
    /// The read that confirms the call took effect.
    pub confirm: Option<Confirm>,
}

/// What a call whose answer was lost did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostAnswer {
    /// Making the call again has the effect of making it once: the SDK's standard retries repeat
    /// it.
    Repeat,
    /// A repeat could act twice, so it is not repeated blindly: the operation's own run looks
    /// for what the call made (this way) and makes it again only when nothing is found.
    LookUp(&'static str),
    /// The SDK's retries repeat it; a repeat after a lost answer fails with "already done"
    /// (AlreadyExists, Duplicate..., NotAttached), which the run checks against what was asked
    /// (this way) and takes as done.
    RepeatIsChecked(&'static str),
    /// A repeat could act twice or fail, and apply has no way to look: what happens then.
    Unrecovered(&'static str),
}

/// Who makes a call again after a "not yet" error, and on which codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotYet {
    /// No error means "not yet": each is final once the SDK's retries are spent.
    Never,
    /// The apply loop makes the call again, with backoff, on these codes.
    RepeatedByApply(&'static [&'static str]),
    /// The operation's own run makes it again on these codes, between its look-ups.
    RepeatedByRun(&'static [&'static str]),
}

impl NotYet {
    pub fn codes(&self) -> &'static [&'static str] {
        match self {
            Self::Never => &[],
            Self::RepeatedByApply(codes) | Self::RepeatedByRun(codes) => codes,
        }
    }

    /// Whether the apply loop is to make the call again after an error with `code` and
    /// `message`.
    pub fn repeated_by_apply(&self, code: Option<&str>, message: &str) -> bool {
        matches!(self, Self::RepeatedByApply(_)) && self.means_not_yet(code, message)
    }

    /// Whether an error with `code` and `message` is one of this call's "not yet" answers. An
    /// entry is a code (`NotFoundException`), or a code and words its message must hold
    /// (`MalformedPolicyDocumentException|invalid principal`): one code can say "not yet" and
    /// "never" in other words.
    pub fn means_not_yet(&self, code: Option<&str>, message: &str) -> bool {
        let Some(code) = code else { return false };
        let message = message.to_ascii_lowercase();
        self.codes()
            .iter()
            .any(|entry| match entry.split_once('|') {
                None => *entry == code,
                Some((entry_code, words)) => {
                    entry_code == code && message.contains(&words.to_ascii_lowercase())
                }
            })
    }
}

/// The code KMS answers both an unknown principal and its lockout safety check with.
pub const MALFORMED_POLICY: &str = "MalformedPolicyDocumentException";

/// A key policy naming a principal IAM does not know yet (made seconds ago): "Policy contains a
/// statement with one or more invalid principals." Other malformed policies (syntax, KMS's
/// lockout safety check) are final.
pub const UNKNOWN_PRINCIPAL: &str = "MalformedPolicyDocumentException|invalid principal";

/// KMS's words when the policy would lock the caller out ("The new key policy will not allow
/// you to update the key policy in the future."; "Default key policy" in the KMS developer
/// guide, `BypassPolicyLockoutSafetyCheck` in the API reference). Waiting cannot fix that one.
pub fn is_lockout_refusal(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("will not allow you to update the key policy")
}

/// A read that confirms a call took effect: which call, and what it waits for. Made by the
/// operation's own run, which polls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirm {
    /// `service:Operation`.
    pub read: &'static str,
    pub until: &'static str,
}

impl Semantics {
    /// An idempotent call, no "not yet" error, nothing read back: most calls today.
    pub const REPEAT: Self = Self {
        lost_answer: LostAnswer::Repeat,
        not_yet: NotYet::Never,
        confirm: None,
    };

    /// Checks that the declaration holds together; `Err` says what does not. Each domain's
    /// tests run it on every operation.
    pub fn check(&self) -> Result<(), String> {
        if let NotYet::RepeatedByApply(codes) | NotYet::RepeatedByRun(codes) = self.not_yet {
            if codes.is_empty() {
                return Err("a \"not yet\" retry without error codes: use NotYet::Never".into());
            }
            if let Some(bad) = codes.iter().find(|entry| {
                let (code, words) = entry.split_once('|').unwrap_or((entry, "-"));
                code.is_empty() || code.contains(' ') || words.trim().is_empty()
            }) {
                return Err(format!(
                    "{bad:?} is not `Code` or `Code|words of its message`"
                ));
            }
        }
        // The apply loop repeats blindly: a call that must look before a repeat repeats itself.
        if matches!(self.lost_answer, LostAnswer::LookUp(_))
            && matches!(self.not_yet, NotYet::RepeatedByApply(_))
        {
            return Err("a call with a look-up after a lost answer must make its own repeats (NotYet::RepeatedByRun)".into());
        }
        if matches!(self.not_yet, NotYet::RepeatedByRun(_))
            && !matches!(self.lost_answer, LostAnswer::LookUp(_))
        {
            return Err("only a call with its own look-up makes its own repeats: let the apply loop repeat it (NotYet::RepeatedByApply)".into());
        }
        let described = match self.lost_answer {
            LostAnswer::Repeat => "-",
            LostAnswer::LookUp(how)
            | LostAnswer::RepeatIsChecked(how)
            | LostAnswer::Unrecovered(how) => how,
        };
        if described.trim().is_empty() {
            return Err(
                "say how a lost answer is looked up, or what happens without a look-up".into(),
            );
        }
        if let Some(confirm) = self.confirm
            && (!confirm.read.contains(':') || confirm.until.trim().is_empty())
        {
            return Err(format!(
                "a confirming read is `service:Operation` and what it waits for, not {confirm:?}"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apply_loop_repeats_on_its_codes() {
        let loop_ = NotYet::RepeatedByApply(&["ConcurrentModificationException"]);
        assert!(loop_.repeated_by_apply(Some("ConcurrentModificationException"), ""));
        assert!(!loop_.repeated_by_apply(Some("AccessDeniedException"), ""));
        assert!(!loop_.repeated_by_apply(None, ""));
        let run = NotYet::RepeatedByRun(&["MalformedPolicyDocumentException"]);
        assert!(!run.repeated_by_apply(Some("MalformedPolicyDocumentException"), ""));
        assert!(run.means_not_yet(Some("MalformedPolicyDocumentException"), ""));
        assert_eq!(run.codes(), ["MalformedPolicyDocumentException"]);
        let worded = NotYet::RepeatedByApply(&["ValidationException|has targets"]);
        assert!(worded.repeated_by_apply(
            Some("ValidationException"),
            "Rule can't be deleted since it has targets."
        ));
        assert!(!worded.repeated_by_apply(Some("ValidationException"), "bad pattern"));
        assert!(NotYet::Never.codes().is_empty());
    }

    #[test]
    fn an_unknown_principal_is_not_yet_and_the_lockout_check_is_final() {
        let put = NotYet::RepeatedByApply(&[UNKNOWN_PRINCIPAL]);
        assert!(!put.repeated_by_apply(
            Some(MALFORMED_POLICY),
            "MalformedPolicyDocumentException: Policy contains a statement with an invalid condition key"
        ));
        assert!(put.repeated_by_apply(
            Some(MALFORMED_POLICY),
            "MalformedPolicyDocumentException: Policy contains a statement with one or more invalid principals."
        ));
        assert!(!put.repeated_by_apply(
            Some(MALFORMED_POLICY),
            "MalformedPolicyDocumentException: The new key policy will not allow you to update the key policy in the future."
        ));
    }

    #[test]
    fn inconsistent_declarations_are_refused() {
        assert_eq!(Semantics::REPEAT.check(), Ok(()));
        let empty = Semantics {
            not_yet: NotYet::RepeatedByApply(&[]),
            ..Semantics::REPEAT
        };
        assert!(empty.check().is_err());
        let blind = Semantics {
            lost_answer: LostAnswer::LookUp("by tag"),
            not_yet: NotYet::RepeatedByApply(&["X"]),
            confirm: None,
        };
        assert!(blind.check().is_err());
        let unworded = Semantics {
            not_yet: NotYet::RepeatedByApply(&["ValidationException| "]),
            ..Semantics::REPEAT
        };
        assert!(unworded.check().is_err());
        let own_without_look_up = Semantics {
            not_yet: NotYet::RepeatedByRun(&["X"]),
            ..Semantics::REPEAT
        };
        assert!(own_without_look_up.check().is_err());
        let silent = Semantics {
            lost_answer: LostAnswer::Unrecovered(" "),
            ..Semantics::REPEAT
        };
        assert!(silent.check().is_err());
        let vague = Semantics {
            confirm: Some(Confirm {
                read: "describe it",
                until: "done",
            }),
            ..Semantics::REPEAT
        };
        assert!(vague.check().is_err());
    }
}
