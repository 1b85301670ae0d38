//! Offline guards on the desired keys: the framework's controls and AWS's own limits, checked
//! before any AWS call. `validate` and `plan` both run them; an error refuses the plan.

use std::collections::BTreeMap;

use kmsctl_core::environment::Rules;
use kmsctl_core::limits::{
    MAX_ALIAS_CHARS, MAX_PENDING_WINDOW_DAYS, MAX_ROTATION_PERIOD_DAYS, MAX_TAG_KEY_CHARS,
    MAX_TAG_VALUE_CHARS, MAX_TAGS, MIN_PENDING_WINDOW_DAYS, MIN_ROTATION_PERIOD_DAYS,
    PENDING_WINDOW_DAYS, ROTATION_PERIOD_DAYS,
};
use kmsctl_core::{Control, Finding, Location, Rule};

use crate::config::DeclaredState;
use crate::desired::DesiredKey;
use crate::spec;

pub const KEY_SPEC: Rule = Rule::error(
    "key-spec",
    None,
    "a known key spec, and a usage that spec allows",
);
pub const DELETION_WINDOW: Rule = Rule::error(
    "deletion-window",
    Some(Control::DeletionProtection),
    "a pending window AWS accepts, and at least the rule's minimum",
);
pub const CUSTOM_KEY_STORE_SPEC: Rule = Rule::error(
    "custom-key-store-spec",
    Some(Control::Hsm),
    "keys in a CloudHSM key store are SYMMETRIC_DEFAULT",
);
pub const CUSTOM_KEY_STORE_MULTI_REGION: Rule = Rule::error(
    "custom-key-store-multi-region",
    Some(Control::Hsm),
    "keys in a CloudHSM key store are single-Region",
);
pub const ROTATION_MANUAL_UNNEEDED: Rule = Rule::error(
    "rotation-manual-unneeded",
    Some(Control::Rotation),
    "no manual_rotation_days on keys AWS rotates",
);
pub const ROTATION_MANUAL_REQUIRED: Rule = Rule::error(
    "rotation-manual-required",
    Some(Control::Rotation),
    "a key store key declares manual_rotation_days where rotation is required",
);
pub const ROTATION_MANUAL_PERIOD: Rule = Rule::error(
    "rotation-manual-period",
    Some(Control::Rotation),
    "manual_rotation_days is 1 to the rule's maximum",
);
pub const ROTATION_UNSUPPORTED: Rule = Rule::error(
    "rotation-unsupported",
    Some(Control::Rotation),
    "automatic rotation only on keys AWS can rotate",
);
pub const ROTATION_REQUIRED: Rule = Rule::error(
    "rotation-required",
    Some(Control::Rotation),
    "automatic rotation on where the rules require it",
);
pub const ROTATION_PERIOD: Rule = Rule::error(
    "rotation-period",
    Some(Control::Rotation),
    "a rotation period AWS accepts, and at most the rule's maximum",
);
pub const REQUIRED_TAGS: Rule = Rule::error(
    "required-tags",
    Some(Control::TagAccess),
    "every required tag present",
);
pub const ENVIRONMENT_TAG: Rule = Rule::error(
    "environment-tag",
    Some(Control::TagAccess),
    "the environment tag equals the environment's name",
);
pub const TAG_LIMITS: Rule = Rule::error(
    "tag-limits",
    Some(Control::TagAccess),
    "AWS's tag limits (count, key and value lengths, no aws: prefix)",
);
pub const TAG_RESERVED: Rule = Rule::error(
    "tag-reserved",
    Some(Control::TagAccess),
    "no tag key with kmsctl's own prefix kmsctl:",
);
pub const ALIAS_NAME: Rule = Rule::error(
    "alias-name",
    None,
    "alias/ prefix, not alias/aws/, [A-Za-z0-9/_-], a length AWS accepts",
);
pub const ALIAS_UNIQUE: Rule = Rule::error("alias-unique", None, "no alias declared twice");
pub const KEY_UNIQUE: Rule = Rule::error("key-unique", None, "no key declared twice");

/// Every guard over every key of one environment.
pub fn check(env_name: &str, rules: &Rules, keys: &[DesiredKey]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for key in keys {
        check_spec(key, &mut findings);
        check_deletion_window(key, rules, &mut findings);
        check_rotation(key, rules, &mut findings);
        check_tags(key, env_name, rules, &mut findings);
        for alias in key.all_aliases() {
            check_alias(key, alias, &mut findings);
        }
        findings.extend(key.policy.findings.iter().cloned());
    }
    check_unique(keys, &mut findings);
    findings
}

fn at(location: Option<&Location>, key: &DesiredKey) -> Location {
    location
        .cloned()
        .unwrap_or_else(|| key.locations.key.clone())
}

fn check_spec(key: &DesiredKey, findings: &mut Vec<Finding>) {
    match spec::usages(&key.spec) {
        None => findings.push(Finding::of(
            &KEY_SPEC,
            at(key.locations.spec.as_ref(), key),
            format!("key {}: unknown key spec {:?}", key.id, key.spec),
            format!(
                "use one of: {}",
                spec::known_specs().collect::<Vec<_>>().join(", ")
            ),
        )),
        Some(usages) if !usages.contains(&key.usage.as_str()) => findings.push(Finding::of(
            &KEY_SPEC,
            at(
                key.locations.usage.as_ref().or(key.locations.spec.as_ref()),
                key,
            ),
            format!(
                "key {}: usage {:?} is not allowed for spec {}",
                key.id, key.usage, key.spec
            ),
            format!("use one of: {}", usages.join(", ")),
        )),
        Some(_) => {}
    }
}

fn check_deletion_window(key: &DesiredKey, rules: &Rules, findings: &mut Vec<Finding>) {
    let days = key.deletion_window_days;
    let location = at(key.locations.deletion_window.as_ref(), key);
    if !PENDING_WINDOW_DAYS.contains(&days) {
        findings.push(Finding::of(
            &DELETION_WINDOW,
            location,
            format!(
                "key {}: deletion_window_in_days = {days} is outside AWS's \
                 {MIN_PENDING_WINDOW_DAYS}–{MAX_PENDING_WINDOW_DAYS} days",
                key.id
            ),
            match rules.min_deletion_window_days.max(MIN_PENDING_WINDOW_DAYS) {
                MAX_PENDING_WINDOW_DAYS => format!(
                    "set deletion_window_in_days = {MAX_PENDING_WINDOW_DAYS} (or remove it: the default is {})",
                    crate::desired::DEFAULT_DELETION_WINDOW_DAYS
                ),
                min => format!("set deletion_window_in_days between {min} and {MAX_PENDING_WINDOW_DAYS}"),
            },
        ));
    } else if days < rules.min_deletion_window_days {
        findings.push(Finding::of(
            &DELETION_WINDOW,
            location,
            format!(
                "key {}: deletion_window_in_days = {days} is below the environment's minimum of {} days (control 3.4.1)",
                key.id, rules.min_deletion_window_days
            ),
            format!(
                "set deletion_window_in_days to at least {} (or remove it: the default is {})",
                rules.min_deletion_window_days,
                crate::desired::DEFAULT_DELETION_WINDOW_DAYS
            ),
        ));
    }
}

/// Keys in a CloudHSM key store: symmetric, single-Region, rotated by hand on a declared
/// schedule (AWS cannot rotate them).
fn check_manual_rotation(key: &DesiredKey, rules: &Rules, findings: &mut Vec<Finding>) {
    let at_store = || at(key.locations.custom_key_store.as_ref(), key);
    if key.custom_key_store.is_some() {
        if key.spec != crate::spec::DEFAULT_SPEC {
            findings.push(Finding::of(
                &CUSTOM_KEY_STORE_SPEC,
                at_store(),
                format!(
                    "key {}: a CloudHSM key store holds only SYMMETRIC_DEFAULT keys, not {}",
                    key.id, key.spec
                ),
                "remove spec, or take the key out of the key store",
            ));
        }
        if key.multi_region {
            findings.push(Finding::of(
                &CUSTOM_KEY_STORE_MULTI_REGION,
                at_store(),
                format!(
                    "key {}: keys in a CloudHSM key store cannot be multi-Region",
                    key.id
                ),
                "remove multi_region",
            ));
        }
    }
    if key.rotation.is_some() {
        if let Some(location) = &key.locations.manual_rotation {
            findings.push(Finding::of(
                &ROTATION_MANUAL_UNNEEDED,
                location.clone(),
                format!("key {}: AWS rotates this key itself; manual_rotation_days is for keys it cannot rotate", key.id),
                "remove manual_rotation_days and use enable_key_rotation / rotation_period_in_days",
            ));
        }
        return;
    }
    if key.state == DeclaredState::PendingDeletion {
        return;
    }
    match key.manual_rotation_days {
        None if rules.require_rotation && key.custom_key_store.is_some() => findings.push(Finding::of(
            &ROTATION_MANUAL_REQUIRED,
            at(None, key),
            format!(
                "key {}: AWS cannot rotate keys in a CloudHSM key store, and the environment requires rotation (control 3.3.1)",
                key.id
            ),
            format!(
                "declare how often you rotate it, e.g. manual_rotation_days = {} (then rotate with `kmsctl rotate`)",
                rules
                    .max_rotation_period_days
                    .min(crate::desired::DEFAULT_ROTATION_PERIOD_DAYS)
            ),
        )),
        Some(days) if !(1..=rules.max_rotation_period_days).contains(&days) => findings.push(Finding::of(
            &ROTATION_MANUAL_PERIOD,
            at(key.locations.manual_rotation.as_ref(), key),
            format!(
                "key {}: manual_rotation_days = {days} is outside 1–{} (the environment's max_rotation_period_days)",
                key.id, rules.max_rotation_period_days
            ),
            format!("set manual_rotation_days between 1 and {}", rules.max_rotation_period_days),
        )),
        _ => {}
    }
}

fn check_rotation(key: &DesiredKey, rules: &Rules, findings: &mut Vec<Finding>) {
    check_manual_rotation(key, rules, findings);
    if key.rotation_unsupported {
        findings.push(Finding::of(
            &ROTATION_UNSUPPORTED,
            at(key.locations.rotation.as_ref(), key),
            format!("key {}: AWS cannot rotate {} keys of origin {} automatically", key.id, key.spec, key.origin),
            "remove enable_key_rotation: automatic rotation exists only for SYMMETRIC_DEFAULT keys with origin AWS_KMS",
        ));
    }
    let Some(rotation) = &key.rotation else {
        return;
    };
    if rules.require_rotation && !rotation.enabled && key.state != DeclaredState::PendingDeletion {
        findings.push(Finding::of(
            &ROTATION_REQUIRED,
            at(key.locations.rotation.as_ref(), key),
            format!("key {}: automatic rotation is off, but the environment requires it (control 3.3.1)", key.id),
            "set enable_key_rotation = true (or remove it: rotation is on by default)",
        ));
    }
    let period = rotation.period_days;
    let location = at(key.locations.rotation_period.as_ref(), key);
    if !ROTATION_PERIOD_DAYS.contains(&period) {
        findings.push(Finding::of(
            &ROTATION_PERIOD,
            location,
            format!(
                "key {}: rotation_period_in_days = {period} is outside AWS's \
                 {MIN_ROTATION_PERIOD_DAYS}–{MAX_ROTATION_PERIOD_DAYS} days",
                key.id
            ),
            format!(
                "set rotation_period_in_days between {MIN_ROTATION_PERIOD_DAYS} and {}",
                rules
                    .max_rotation_period_days
                    .clamp(MIN_ROTATION_PERIOD_DAYS, MAX_ROTATION_PERIOD_DAYS)
            ),
        ));
    } else if period > rules.max_rotation_period_days {
        findings.push(Finding::of(
            &ROTATION_PERIOD,
            location,
            format!(
                "key {}: rotation_period_in_days = {period} exceeds the environment's maximum of {} days",
                key.id, rules.max_rotation_period_days
            ),
            format!("set rotation_period_in_days to at most {}", rules.max_rotation_period_days),
        ));
    }
}

fn check_tags(key: &DesiredKey, env_name: &str, rules: &Rules, findings: &mut Vec<Finding>) {
    let tag_at = |name: &str| {
        key.locations
            .tags
            .get(name)
            .cloned()
            .unwrap_or_else(|| key.locations.key.clone())
    };
    for required in &rules.required_tags {
        if !key.tags.contains_key(required) {
            findings.push(Finding::of(
                &REQUIRED_TAGS,
                key.locations.key.clone(),
                format!("key {}: required tag {required:?} is missing (control 3.1.1)", key.id),
                format!("add {required} = \"...\" under [key.tags], or under [tags] in environment.toml for every key"),
            ));
        }
    }
    match key.tags.get(&rules.environment_tag) {
        Some(value) if value != env_name => findings.push(Finding::of(
            &ENVIRONMENT_TAG,
            tag_at(&rules.environment_tag),
            format!(
                "key {}: tag {} = {value:?} must equal the environment name {env_name:?} (the boundary policies rely on it)",
                key.id, rules.environment_tag
            ),
            format!("set {} = \"{env_name}\"", rules.environment_tag),
        )),
        _ => {}
    }
    if key.tags.len() > MAX_TAGS {
        findings.push(Finding::of(
            &TAG_LIMITS,
            key.locations.key.clone(),
            format!(
                "key {}: {} tags, AWS allows at most {MAX_TAGS} (kmsctl adds 3 of its own)",
                key.id,
                key.tags.len()
            ),
            "remove tags",
        ));
    }
    // What the files declare, before kmsctl adds its own tags (which a user may not set).
    for (name, value) in &key.declared_tags {
        let location = tag_at(name);
        if name.is_empty() || name.chars().count() > MAX_TAG_KEY_CHARS {
            findings.push(Finding::of(
                &TAG_LIMITS,
                location.clone(),
                format!(
                    "key {}: tag key {name:?} must be 1–{MAX_TAG_KEY_CHARS} characters",
                    key.id
                ),
                "shorten the tag key",
            ));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            findings.push(Finding::of(
                &TAG_LIMITS,
                location.clone(),
                format!(
                    "key {}: the value of tag {name:?} is longer than {MAX_TAG_VALUE_CHARS} characters",
                    key.id
                ),
                "shorten the tag value",
            ));
        }
        if name.to_ascii_lowercase().starts_with("aws:") {
            findings.push(Finding::of(
                &TAG_LIMITS,
                location.clone(),
                format!(
                    "key {}: tag key {name:?} uses the reserved prefix aws:",
                    key.id
                ),
                "rename the tag: AWS reserves the aws: prefix",
            ));
        }
        if name.starts_with("kmsctl:") {
            findings.push(Finding::of(
                &TAG_RESERVED,
                location,
                format!(
                    "key {}: tag key {name:?} uses the prefix kmsctl:, which kmsctl manages itself",
                    key.id
                ),
                "rename the tag",
            ));
        }
    }
}

/// AWS's alias rules: `alias/` prefix, not `alias/aws/`, `[A-Za-z0-9/_-]`, at most 256 characters.
pub fn alias_problem(alias: &str) -> Option<String> {
    if !alias.starts_with("alias/") || alias.len() == "alias/".len() {
        Some("must start with alias/ followed by a name".into())
    } else if alias.starts_with("alias/aws/") {
        Some("is under alias/aws/, which AWS reserves for its managed keys".into())
    } else if alias.len() > MAX_ALIAS_CHARS {
        Some(format!("is longer than {MAX_ALIAS_CHARS} characters"))
    } else {
        alias
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-')))
            .map(|bad| {
                format!("contains {bad:?}; only letters, digits, '/', '_' and '-' are allowed")
            })
    }
}

fn check_alias(key: &DesiredKey, alias: &str, findings: &mut Vec<Finding>) {
    if let Some(problem) = alias_problem(alias) {
        findings.push(Finding::of(
            &ALIAS_NAME,
            key.locations
                .aliases
                .get(alias)
                .cloned()
                .unwrap_or_else(|| key.locations.key.clone()),
            format!("key {}: alias {alias:?} {problem}", key.id),
            "use alias/NAME with letters, digits, '/', '_' and '-', not under alias/aws/",
        ));
    }
}

fn check_unique(keys: &[DesiredKey], findings: &mut Vec<Finding>) {
    let mut adopted: BTreeMap<&str, &DesiredKey> = BTreeMap::new();
    for key in keys {
        let Some(key_id) = key.adopt_key_id.as_deref() else {
            continue;
        };
        if let Some(first) = adopted.insert(key_id, key) {
            findings.push(Finding::of(
                &crate::matching::ADOPT_KEY_ID,
                key.locations.key.clone(),
                format!(
                    "key {} adopts key_id {key_id}, which key {} (at {}) adopts too",
                    key.id, first.id, first.locations.key
                ),
                "one [[key]] per existing key: remove the other entry's key_id",
            ));
        }
    }
    let mut ids: BTreeMap<&str, &DesiredKey> = BTreeMap::new();
    let mut aliases: BTreeMap<&str, &DesiredKey> = BTreeMap::new();
    for key in keys {
        if let Some(first) = ids.insert(&key.id, key) {
            findings.push(Finding::of(
                &KEY_UNIQUE,
                key.locations.key.clone(),
                format!(
                    "key {} is declared twice (first at {})",
                    key.id, first.locations.key
                ),
                "give each key a distinct function, team or purpose",
            ));
        }
        for alias in key.all_aliases() {
            // A key declared twice is reported once, as such, not once more per alias.
            if let Some(first) = aliases
                .insert(alias, key)
                .filter(|first| first.id != key.id)
            {
                findings.push(Finding::of(
                    &ALIAS_UNIQUE,
                    key.locations
                        .aliases
                        .get(alias)
                        .cloned()
                        .unwrap_or_else(|| key.locations.key.clone()),
                    format!(
                        "alias {alias} is declared for {} and {}: an alias points to one key",
                        first.id, key.id
                    ),
                    "remove one of the two",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_rules() {
        assert_eq!(alias_problem("alias/prod-db-payments-encryption"), None);
        assert!(alias_problem("alias/aws/x").is_some_and(|p| p.contains("AWS reserves")));
        assert!(alias_problem("prod").is_some());
        assert!(alias_problem("alias/").is_some());
        assert!(alias_problem("alias/a b").is_some_and(|p| p.contains("' '")));
        assert!(alias_problem(&format!("alias/{}", "a".repeat(251))).is_some());
        assert!(alias_problem(&format!("alias/{}", "a".repeat(250))).is_none());
    }
}
