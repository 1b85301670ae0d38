//! Renderers only print: every decision is already in the plan or the findings.

pub mod compliance;
pub mod drift;
pub mod escape;
pub mod findings;
pub mod lint_sarif;
pub mod plan;
pub mod simulate;
pub mod style;

#[cfg(test)]
mod tests;
