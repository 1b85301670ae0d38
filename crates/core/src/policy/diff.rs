//! Semantic diff of two policy documents, statement by statement.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::model::{PolicyDocument, Principals, Statement};

/// Name used for changes to the document's own members (`Version`, `Id`).
pub const DOCUMENT: &str = "(document)";

/// How a statement changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Modified,
}

/// One statement (or the document itself) that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementChange {
    /// The Sid; `Statement #N` (N is the 1-based position in its document) for a Sid-less
    /// statement; [`DOCUMENT`] for `Version`/`Id` changes.
    pub statement: String,
    pub kind: ChangeKind,
    /// For added and removed statements, every member with all its values.
    pub fields: Vec<FieldChange>,
}

/// The values one member lost and gained. For `Effect`, `Version` and `Id` the single old
/// value is in `removed` and the new one in `added`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// `Effect`, `Action`, `Principal` (for `"*"`), `Principal.AWS`,
    /// `Condition.StringEquals.kms:ViaService`, ...
    pub field: String,
    pub removed: Vec<String>,
    pub added: Vec<String>,
}

/// The statement-by-statement difference as plan attributes: `{prefix}statement "Sid": Field`
/// with the removed and added values.
pub fn attribute_changes(
    before: &PolicyDocument,
    after: &PolicyDocument,
    prefix: &str,
) -> Vec<crate::plan::AttributeChange> {
    diff(before, after)
        .into_iter()
        .flat_map(|statement| {
            let label = statement.statement.clone();
            statement.fields.into_iter().map(move |field| {
                let list = |values: Vec<String>| {
                    (!values.is_empty()).then(|| serde_json::Value::from(values))
                };
                crate::plan::AttributeChange::new(
                    format!("{prefix}statement {label:?}: {}", field.field),
                    list(field.removed),
                    list(field.added),
                )
            })
        })
        .collect()
}

/// What changed from `before` to `after`; empty when they are semantically equal.
///
/// Statements with a Sid are matched by Sid (duplicates in order of appearance); Sid-less
/// statements are matched to an equal (canonical) Sid-less statement, and any left over are
/// reported as removed and added. Condition keys compare case-insensitively.
pub fn diff(before: &PolicyDocument, after: &PolicyDocument) -> Vec<StatementChange> {
    let mut changes = Vec::new();
    let document_fields: Vec<FieldChange> = [
        ("Version", &before.version, &after.version),
        ("Id", &before.id, &after.id),
    ]
    .into_iter()
    .filter(|(_, b, a)| b != a)
    .map(|(field, b, a)| FieldChange {
        field: field.to_owned(),
        removed: b.iter().cloned().collect(),
        added: a.iter().cloned().collect(),
    })
    .collect();
    if !document_fields.is_empty() {
        changes.push(StatementChange {
            statement: DOCUMENT.to_owned(),
            kind: ChangeKind::Modified,
            fields: document_fields,
        });
    }

    let mut unmatched_after: Vec<&Statement> = after.statements.iter().collect();
    for old in &before.statements {
        // An identical statement first: with duplicate Sids, matching by Sid alone pairs
        // statements by position, and a reordered but equal document would show changes.
        let partner = unmatched_after
            .iter()
            .position(|new| same_statement(old, new) && old.canonical() == new.canonical())
            .or_else(|| {
                unmatched_after
                    .iter()
                    .position(|new| same_statement(old, new))
            });
        match partner {
            Some(i) => {
                let new = unmatched_after.remove(i);
                let fields = field_changes(old, new);
                if !fields.is_empty() {
                    changes.push(StatementChange {
                        statement: name(new),
                        kind: ChangeKind::Modified,
                        fields,
                    });
                }
            }
            None => changes.push(StatementChange {
                statement: name(old),
                kind: ChangeKind::Removed,
                fields: whole(old, |values| (values, Vec::new())),
            }),
        }
    }
    for new in unmatched_after {
        changes.push(StatementChange {
            statement: name(new),
            kind: ChangeKind::Added,
            fields: whole(new, |values| (Vec::new(), values)),
        });
    }
    changes
}

fn same_statement(old: &Statement, new: &Statement) -> bool {
    match (old.sid_name(), new.sid_name()) {
        (Some(a), Some(b)) => a == b,
        (None, None) => old.canonical() == new.canonical(),
        _ => false,
    }
}

fn name(st: &Statement) -> String {
    match st.sid_name() {
        Some(sid) => sid.to_owned(),
        None => format!("Statement #{}", st.index + 1),
    }
}

/// A statement flattened to (sort rank, comparison key) → (display name, values).
type Flat = BTreeMap<(u8, String), (String, BTreeSet<String>)>;

fn flatten(st: &Statement) -> Flat {
    let mut flat = Flat::new();
    let mut put = |rank: u8, key: String, display: String, values: BTreeSet<String>| {
        flat.insert((rank, key), (display, values));
    };
    if let Some(effect) = &st.effect {
        put(
            0,
            "Effect".into(),
            "Effect".into(),
            BTreeSet::from([effect.clone()]),
        );
    }
    let principals = [
        (1, "Principal", &st.principal),
        (2, "NotPrincipal", &st.not_principal),
    ];
    for (rank, field, principals) in principals {
        match principals {
            Some(Principals::Wildcard) => {
                put(
                    rank,
                    field.into(),
                    field.into(),
                    BTreeSet::from(["*".to_owned()]),
                );
            }
            Some(Principals::Map(map)) => {
                for (kind, values) in map {
                    let name = format!("{field}.{kind}");
                    put(rank, name.clone(), name, values.clone());
                }
            }
            None => {}
        }
    }
    let sets = [
        (3, "Action", &st.action),
        (4, "NotAction", &st.not_action),
        (5, "Resource", &st.resource),
        (6, "NotResource", &st.not_resource),
    ];
    for (rank, field, set) in sets {
        if let Some(set) = set {
            put(rank, field.into(), field.into(), set.clone());
        }
    }
    for (operator, keys) in &st.condition {
        for (key, values) in keys {
            put(
                7,
                format!("Condition.{operator}.{}", key.to_lowercase()),
                format!("Condition.{operator}.{key}"),
                values.clone(),
            );
        }
    }
    flat
}

fn field_changes(old: &Statement, new: &Statement) -> Vec<FieldChange> {
    let old = flatten(old);
    let new = flatten(new);
    let keys: BTreeSet<&(u8, String)> = old.keys().chain(new.keys()).collect();
    let empty = BTreeSet::new();
    keys.into_iter()
        .filter_map(|key| {
            let (old_name, old_values) = old.get(key).map_or((None, &empty), |(n, v)| (Some(n), v));
            let (new_name, new_values) = new.get(key).map_or((None, &empty), |(n, v)| (Some(n), v));
            let removed: Vec<String> = old_values.difference(new_values).cloned().collect();
            let added: Vec<String> = new_values.difference(old_values).cloned().collect();
            if removed.is_empty() && added.is_empty() {
                return None;
            }
            let field = new_name.or(old_name).cloned().unwrap_or_default();
            Some(FieldChange {
                field,
                removed,
                added,
            })
        })
        .collect()
}

/// Every member of a statement, as removed or added values.
fn whole(
    st: &Statement,
    side: impl Fn(Vec<String>) -> (Vec<String>, Vec<String>),
) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    if let Some(sid) = st.sid_name() {
        let (removed, added) = side(vec![sid.to_owned()]);
        fields.push(FieldChange {
            field: "Sid".into(),
            removed,
            added,
        });
    }
    for (_, (field, values)) in flatten(st) {
        let (removed, added) = side(values.into_iter().collect());
        fields.push(FieldChange {
            field,
            removed,
            added,
        });
    }
    fields
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Modified => "modified",
        })
    }
}

impl fmt::Display for FieldChange {
    /// `    Action` followed by one `      - value` / `      + value` line per value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "    {}", self.field)?;
        for value in &self.removed {
            write!(f, "\n      - {value}")?;
        }
        for value in &self.added {
            write!(f, "\n      + {value}")?;
        }
        Ok(())
    }
}

impl fmt::Display for StatementChange {
    /// `~ Sid (modified)` followed by the changed fields, one per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.kind {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Modified => '~',
        };
        write!(f, "{sign} {} ({})", self.statement, self.kind)?;
        for field in &self.fields {
            write!(f, "\n{field}")?;
        }
        Ok(())
    }
}

/// The changes as text, one block per statement, each ending with a newline. Empty when
/// there are no changes.
pub fn render_diff(changes: &[StatementChange]) -> String {
    changes.iter().map(|change| format!("{change}\n")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::parse;
    use crate::policy::test_fixtures::{DEFAULT_KEY_POLICY, REALISTIC_POLICY};

    fn doc(text: &str) -> PolicyDocument {
        parse(text).unwrap()
    }

    /// Found by the policy_parser fuzz target: two statements sharing a Sid, in an order the
    /// canonical form does not keep.
    #[test]
    fn duplicate_sids_in_another_order_are_no_change() {
        let text = r#"{"Statement": [{ "Sid":"DenyKeyUsageFromNonDevOUs","o": {}},{"Sid":"DenyKeyUsageFromNonDevOUs","Condition": {"":{ "":"l" } }}]}"#;
        let original = doc(text);
        let reparsed = doc(&original.canonical().to_string());
        assert!(crate::policy::semantically_equal(&original, &reparsed));
        assert_eq!(diff(&original, &reparsed), vec![]);
        assert_eq!(diff(&reparsed, &original), vec![]);
    }

    fn field(field: &str, removed: &[&str], added: &[&str]) -> FieldChange {
        FieldChange {
            field: field.to_owned(),
            removed: removed.iter().map(|s| (*s).to_owned()).collect(),
            added: added.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn identical_documents_have_no_changes() {
        let a = doc(REALISTIC_POLICY);
        assert_eq!(diff(&a, &a), vec![]);
    }

    #[test]
    fn removed_action_names_the_sid_and_the_action() {
        let before = doc(REALISTIC_POLICY);
        let after = doc(&REALISTIC_POLICY.replace("\"kms:Decrypt\",\n", ""));
        assert_eq!(
            diff(&before, &after),
            vec![StatementChange {
                statement: "Allow use of the key".into(),
                kind: ChangeKind::Modified,
                fields: vec![field("Action", &["kms:Decrypt"], &[])],
            }]
        );
    }

    #[test]
    fn added_and_removed_statements_list_all_their_fields() {
        let before = doc(DEFAULT_KEY_POLICY);
        let after = doc(
            r#"{"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
              {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
               "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
              {"Sid": "Logs", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
               "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
               "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}}}
            ]}"#,
        );
        let changes = diff(&before, &after);
        assert_eq!(
            changes,
            vec![StatementChange {
                statement: "Logs".into(),
                kind: ChangeKind::Added,
                fields: vec![
                    field("Sid", &[], &["Logs"]),
                    field("Effect", &[], &["Allow"]),
                    field("Principal.Service", &[], &["logs.amazonaws.com"]),
                    field("Action", &[], &["kms:Decrypt", "kms:Encrypt"]),
                    field("Resource", &[], &["*"]),
                    field(
                        "Condition.ArnLike.kms:EncryptionContext:aws:logs:arn",
                        &[],
                        &["arn:aws:logs:*"]
                    ),
                ],
            }]
        );
        let back = diff(&after, &before);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].kind, ChangeKind::Removed);
        assert_eq!(back[0].statement, "Logs");
        assert_eq!(
            back[0].fields[3],
            field("Action", &["kms:Decrypt", "kms:Encrypt"], &[])
        );
    }

    #[test]
    fn document_members_are_reported_as_document() {
        let before = doc(r#"{"Version": "2008-10-17", "Statement": []}"#);
        let after = doc(r#"{"Version": "2012-10-17", "Id": "k", "Statement": []}"#);
        assert_eq!(
            diff(&before, &after),
            vec![StatementChange {
                statement: DOCUMENT.into(),
                kind: ChangeKind::Modified,
                fields: vec![
                    field("Version", &["2008-10-17"], &["2012-10-17"]),
                    field("Id", &[], &["k"]),
                ],
            }]
        );
    }

    #[test]
    fn effect_principal_and_condition_changes() {
        let before = doc(
            r#"{"Statement": [{"Sid": "S", "Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt",
                "Condition": {"StringEquals": {"kms:ViaService": ["a", "b"], "kms:CallerAccount": "1"}}}]}"#,
        );
        let after = doc(
            r#"{"Statement": [{"Sid": "S", "Effect": "Deny", "Principal": {"AWS": "arn:x"}, "Action": "kms:Encrypt",
                "Condition": {"StringEquals": {"KMS:VIASERVICE": ["b", "c"], "kms:CallerAccount": "1"}}}]}"#,
        );
        assert_eq!(
            diff(&before, &after),
            vec![StatementChange {
                statement: "S".into(),
                kind: ChangeKind::Modified,
                fields: vec![
                    field("Effect", &["Allow"], &["Deny"]),
                    field("Principal", &["*"], &[]),
                    field("Principal.AWS", &[], &["arn:x"]),
                    field("Condition.StringEquals.KMS:VIASERVICE", &["a"], &["c"]),
                ],
            }]
        );
    }

    #[test]
    fn condition_key_case_alone_is_not_a_change() {
        let a = doc(
            r#"{"Statement": [{"Sid": "S", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}"#,
        );
        let b = doc(
            r#"{"Statement": [{"Sid": "S", "Condition": {"Bool": {"AWS:securetransport": true}}}]}"#,
        );
        assert_eq!(diff(&a, &b), vec![]);
    }

    #[test]
    fn sidless_statements_match_by_content() {
        let a = doc(
            r#"{"Statement": [{"Effect": "Allow", "Action": "a"}, {"Effect": "Deny", "Action": "b"}]}"#,
        );
        let reordered = doc(
            r#"{"Statement": [{"Effect": "Deny", "Action": ["b"]}, {"Action": "a", "Effect": "Allow"}]}"#,
        );
        assert_eq!(diff(&a, &reordered), vec![]);

        let changed = doc(
            r#"{"Statement": [{"Effect": "Deny", "Action": "b"}, {"Effect": "Allow", "Action": "c"}]}"#,
        );
        assert_eq!(
            diff(&a, &changed),
            vec![
                StatementChange {
                    statement: "Statement #1".into(),
                    kind: ChangeKind::Removed,
                    fields: vec![
                        field("Effect", &["Allow"], &[]),
                        field("Action", &["a"], &[])
                    ],
                },
                StatementChange {
                    statement: "Statement #2".into(),
                    kind: ChangeKind::Added,
                    fields: vec![
                        field("Effect", &[], &["Allow"]),
                        field("Action", &[], &["c"])
                    ],
                },
            ]
        );
    }

    #[test]
    fn duplicate_sidless_statements_are_matched_one_to_one() {
        let one = doc(r#"{"Statement": [{"Action": "a"}]}"#);
        let two = doc(r#"{"Statement": [{"Action": "a"}, {"Action": "a"}]}"#);
        let changes = diff(&one, &two);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].kind, ChangeKind::Added);
        assert_eq!(changes[0].statement, "Statement #2");
    }

    #[test]
    fn sid_added_to_a_statement_is_remove_plus_add() {
        let a = doc(r#"{"Statement": [{"Action": "a"}]}"#);
        let b = doc(r#"{"Statement": [{"Sid": "X", "Action": "a"}]}"#);
        let kinds: Vec<_> = diff(&a, &b)
            .iter()
            .map(|c| (c.statement.clone(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("Statement #1".to_owned(), ChangeKind::Removed),
                ("X".to_owned(), ChangeKind::Added)
            ]
        );
    }

    #[test]
    fn change_serializes_with_lowercase_kind() {
        let change = StatementChange {
            statement: "S".into(),
            kind: ChangeKind::Added,
            fields: vec![field("Action", &[], &["kms:Encrypt"])],
        };
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(json["kind"], "added");
        assert_eq!(
            serde_json::from_value::<StatementChange>(json).unwrap(),
            change
        );
    }

    #[test]
    fn render_is_empty_without_changes() {
        assert_eq!(render_diff(&[]), "");
    }

    #[test]
    fn display_of_a_realistic_diff() {
        let before = doc(REALISTIC_POLICY);
        let after_text = REALISTIC_POLICY
            .replace("\"kms:Decrypt\",\n", "")
            .replace(
                "\"kms:ReEncrypt*\",",
                "\"kms:ReEncrypt*\", \"kms:GenerateDataKeyPair*\",",
            )
            .replace(
                "\"ec2.eu-west-1.amazonaws.com\"",
                "\"ebs.eu-west-1.amazonaws.com\"",
            )
            .replace("\"2012-10-17\"", "\"2008-10-17\"");
        let mut after = doc(&after_text);
        after.statements.remove(2); // "Allow attachment of persistent resources"
        insta::assert_snapshot!(render_diff(&diff(&before, &after)));
    }
}
