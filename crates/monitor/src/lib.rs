//! kmsctl's monitoring domain: AWS Config managed rules and CloudTrail-driven EventBridge alerts
//! to SNS, per environment.
//!
//! This first part is pure: the catalog of AWS managed rule identifiers (with the nearest valid
//! name for a typo), the seed's severity table, the EventBridge patterns per severity, and a
//! matcher that says which rule a CloudTrail event would fire.

pub mod catalog;
pub mod config;
pub mod guards;
pub mod pattern;
pub mod severity;
