//! The trust anchor: the PEM certificate of the operator's CA, which signed the cluster's CSR.

use std::path::Path;

use kmsctl_core::project_files::{CERTIFICATE, ProjectFiles};
use x509_parser::prelude::*;

/// Reads (inside the project, size-capped) and checks the trust anchor; returns its PEM text as
/// AWS wants it.
pub fn read(files: &ProjectFiles, path: &Path) -> Result<String, String> {
    let text = files.read(path, CERTIFICATE).map_err(|e| {
        // The error names the path itself; the finding names it already.
        match e {
            kmsctl_core::project_files::FileError::Io { reason, .. } => {
                format!("cannot be read ({reason})")
            }
            other => format!("is refused: {other}"),
        }
    })?;
    check(&text)?;
    Ok(text)
}

/// One PEM `CERTIFICATE` that parses as X.509, is a CA, and is valid today.
pub fn check(text: &str) -> Result<(), String> {
    let (_, pem) = parse_x509_pem(text.as_bytes())
        .map_err(|_| "is not a PEM file (no -----BEGIN CERTIFICATE----- block)".to_owned())?;
    if pem.label != "CERTIFICATE" {
        return Err(format!("holds a PEM {:?}, not a CERTIFICATE", pem.label));
    }
    let certificate = pem
        .parse_x509()
        .map_err(|e| format!("does not parse as an X.509 certificate ({e})"))?;
    if !certificate.validity().is_valid() {
        return Err(format!(
            "is not valid today (valid {} to {})",
            certificate.validity().not_before,
            certificate.validity().not_after
        ));
    }
    let is_ca = certificate
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|c| c.value.ca);
    if !is_ca {
        return Err("is not a CA certificate (basicConstraints CA:TRUE is missing)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("../../../examples/prod-hsm/certs/customerCA.crt");
    const NOT_A_CA: &str = include_str!("../tests/fixtures/not-a-ca.crt");
    const CSR: &str = include_str!("../tests/fixtures/a-request.csr");

    #[test]
    fn the_example_ca_is_a_valid_trust_anchor() {
        assert_eq!(check(CA), Ok(()));
    }

    #[test]
    fn a_leaf_certificate_a_csr_and_garbage_are_refused_with_the_reason() {
        assert!(
            check(NOT_A_CA)
                .expect_err("leaf")
                .contains("not a CA certificate")
        );
        assert!(check(CSR).expect_err("csr").contains("CERTIFICATE REQUEST"));
        assert!(
            check("hello")
                .expect_err("garbage")
                .contains("not a PEM file")
        );
        let broken = CA.replace("MII", "xyz");
        assert!(check(&broken).is_err());
    }
}
