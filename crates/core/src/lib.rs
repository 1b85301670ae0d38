//! kmsctl's core: the plan model, diffs, plan files, guard findings and policy documents.
//! Pure data and pure functions: no AWS SDK, no command-line parsing.

pub mod address;
pub mod drift;
pub mod environment;
pub mod finding;
pub mod fingerprint;
pub mod limits;
pub mod plan;
pub mod plan_file;
pub mod policy;
pub mod project_files;
pub mod reference;
pub mod secrets;
pub mod source;
pub mod template;

pub use address::Address;
pub use finding::{Finding, Location, Severity};
pub use plan::{Action, AttributeChange, Note, NoteLevel, Observed, Plan, ResourceChange, Target};
pub use reference::{Outputs, Reference};
