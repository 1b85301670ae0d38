//! kmsctl's core: the plan model, diffs, plan files, guard findings and policy documents.
//! Pure data and pure functions: no AWS SDK, no command-line parsing.

pub mod address;
pub mod approval;
pub mod domain;
pub mod drift;
pub mod environment;
pub mod finding;
pub mod fingerprint;
pub mod limits;
pub mod operation;
pub mod plan;
pub mod plan_file;
pub mod policy;
pub mod project_files;
pub mod reference;
pub mod rule;
pub mod secrets;
pub mod semantics;
pub mod serde_fields;
pub mod source;
pub mod template;

pub use address::Address;
pub use finding::{Finding, KeyRef, Location, Severity};
pub use operation::{DomainOp, Operation};
pub use plan::{
    Action, AttributeChange, Identity, Note, NoteLevel, Observed, Plan, ResourceChange, Target,
};
pub use reference::{Outputs, Ref, Reference};
pub use rule::{Control, ResourceKind, Rule, Severities};
pub use semantics::Semantics;

/// The rules core's checks report: key policy guards, policy lint and secrets in files.
pub const RULES: &[&Rule] = &[
    &policy::guards::POLICY_VERSION,
    &policy::guards::POLICY_SIZE,
    &policy::guards::POLICY_UNKNOWN_FIELD,
    &policy::guards::POLICY_SID_UNIQUE,
    &policy::guards::POLICY_STATEMENT,
    &policy::grammar::POLICY_ELEMENT,
    &policy::guards::POLICY_LOCKOUT,
    &policy::guards::POLICY_PUBLIC_PRINCIPAL,
    &policy::lint::POLICY_FILE,
    &policy::lint::POLICY_JSON,
    &policy::lint::UNKNOWN_SERVICE,
    &policy::lint::UNKNOWN_ACTION,
    &policy::lint::UNKNOWN_CONDITION_KEY,
    &policy::lint::INVALID_OPERATOR,
    &policy::lint::OPERATOR_TYPE,
    &policy::lint::OPERATOR_TYPE_TEXT,
    &policy::lint::CONDITION_VALUE,
    &policy::lint::SET_OPERATOR_SINGLE_VALUED,
    &policy::lint::PLAIN_OPERATOR_MULTI_VALUED,
    &policy::lint::NEGATED_OPERATOR_ABSENT_KEY,
    &policy::lint::VACUOUS_CONDITION,
    &policy::lint::ORGPATHS_VALUE,
    &policy::lint::POLICY_SID,
    &policy::lint::PRINCIPAL_FORM,
    &policy::lint::NOTPRINCIPAL_ALLOW,
    &policy::lint::KEY_POLICY_RESOURCE,
    &policy::lint::KEY_POLICY_FOREIGN_ACTION,
    &policy::lint::CREATE_GRANT_UNSCOPED,
    &policy::lint::SCP_PRINCIPAL,
    &policy::lint::RCP_ALLOW,
    &policy::lint::RCP_PRINCIPAL,
    &policy::lint::RCP_SERVICE,
    &policy::lint::PLACEHOLDER,
    &secrets::SECRET_IN_FILE,
];
