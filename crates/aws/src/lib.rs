//! kmsctl's AWS layer: SDK configuration from the standard chain, retries, pagination and
//! bounded concurrency. Callers never see page tokens or retry loops.

pub mod apply;
pub mod concurrency;
pub mod config;
pub mod error;
pub mod governor;
pub mod kms;
pub mod propagation;
pub mod query;
pub mod retry_codes;
pub mod sdk_enum;
pub mod sns;
pub mod tags;

pub use apply::{Produced, apply_operations};
pub use concurrency::map_bounded;
pub use config::{AwsSettings, Session, caller_identity, connect};
pub use error::{ApplyError, AwsError, describe, failed};
pub use kms::KmsClients;
pub use propagation::Propagation;
pub use sdk_enum::Reported;
pub use tags::sdk_tags;
