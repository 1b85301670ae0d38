//! An organization in the emulator, to try `kmsctl plan organization` on (`cargo xtask emulator
//! organization`) and for the end-to-end tests: the organization (all features) in a management
//! account, and OUs under its root. The emulator makes up its ids; [`Organization::tree_toml`]
//! writes them as organization.toml's `[tree]` wants them.
//!
//! Calls go straight to moto over [`crate::http`], unsigned, as [`super::cloudtrail`]'s do.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::EmulatorError;
use super::cloudtrail::{failure, json_post};

/// The management account of the shipped `organization/organization.toml`, and the emulator's
/// default account (the one the credentials `cargo xtask emulator start` prints reach).
pub const MANAGEMENT_ACCOUNT: &str = "123456789012";

/// The OUs of the shipped `[tree.ous]`: `root/dev` and `root/prod`.
pub const SHIPPED_OUS: [&str; 2] = ["dev", "prod"];

/// An organization as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub org_id: String,
    pub root_id: String,
    /// Top-level OU name → id.
    pub ous: BTreeMap<String, String>,
}

impl Organization {
    /// `[tree]` and `[tree.ous]` for organization.toml, and each OU's org path (the value the
    /// environments' `*_org_path` variables hold).
    pub fn tree_toml(&self) -> String {
        let mut out = format!(
            "[tree]\norg_id = \"{}\"\nroot_id = \"{}\"\n\n[tree.ous]\n",
            self.org_id, self.root_id
        );
        for (name, id) in &self.ous {
            out.push_str(&format!("\"root/{name}\" = \"{id}\"\n"));
        }
        out
    }

    /// `o-…/r-…/ou-…/` of a top-level OU.
    pub fn org_path(&self, ou: &str) -> Option<String> {
        let id = self.ous.get(ou)?;
        Some(format!("{}/{}/{id}/", self.org_id, self.root_id))
    }
}

/// One Organizations call in `account`; its JSON output, or the HTTP status and body.
fn call(
    endpoint: &str,
    account: &str,
    operation: &str,
    input: &Value,
) -> Result<Result<Value, (u16, String)>, EmulatorError> {
    let target = format!("AWSOrganizationsV20161128.{operation}");
    let response = json_post(
        endpoint,
        account,
        "us-east-1",
        "organizations",
        &target,
        input,
    )?;
    if response.status != 200 {
        return Ok(Err((response.status, response.excerpt())));
    }
    let body = if response.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&response.body).map_err(|e| {
            failure(
                endpoint,
                format!(
                    "organizations:{operation} answered no JSON ({e}): {}",
                    response.excerpt()
                ),
            )
        })?
    };
    Ok(Ok(body))
}

/// [`call`], an error unless it succeeds.
fn ok(
    endpoint: &str,
    account: &str,
    operation: &str,
    input: &Value,
) -> Result<Value, EmulatorError> {
    call(endpoint, account, operation, input)?.map_err(|(status, excerpt)| {
        failure(
            endpoint,
            format!("organizations:{operation} answered HTTP {status}: {excerpt}"),
        )
    })
}

fn string(endpoint: &str, value: &Value, pointer: &str) -> Result<String, EmulatorError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| failure(endpoint, format!("no {pointer} in {value}")))
}

/// The organization whose management account is `account`, with the top-level OUs `ous`:
/// made where missing (an organization with all features; OUs under the root), found where
/// they exist. Running it again changes nothing.
pub fn create(endpoint: &str, account: &str, ous: &[&str]) -> Result<Organization, EmulatorError> {
    let org_id = match call(endpoint, account, "DescribeOrganization", &json!({}))? {
        Ok(described) => string(endpoint, &described, "/Organization/Id")?,
        Err(_) => {
            let created = ok(
                endpoint,
                account,
                "CreateOrganization",
                &json!({"FeatureSet": "ALL"}),
            )?;
            string(endpoint, &created, "/Organization/Id")?
        }
    };
    let roots = ok(endpoint, account, "ListRoots", &json!({}))?;
    let root_id = string(endpoint, &roots, "/Roots/0/Id")?;
    let listed = ok(
        endpoint,
        account,
        "ListOrganizationalUnitsForParent",
        &json!({"ParentId": root_id}),
    )?;
    let mut existing: BTreeMap<String, String> = listed
        .get("OrganizationalUnits")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ou| {
            Some((
                ou.get("Name")?.as_str()?.to_owned(),
                ou.get("Id")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut made = BTreeMap::new();
    for name in ous {
        let id = match existing.remove(*name) {
            Some(id) => id,
            None => {
                let created = ok(
                    endpoint,
                    account,
                    "CreateOrganizationalUnit",
                    &json!({"ParentId": root_id, "Name": name}),
                )?;
                string(endpoint, &created, "/OrganizationalUnit/Id")?
            }
        };
        made.insert((*name).to_owned(), id);
    }
    Ok(Organization {
        org_id,
        root_id,
        ous: made,
    })
}
