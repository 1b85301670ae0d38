//! `{{ ou_path 'root/prod' }}` in a key policy: the OU's `aws:PrincipalOrgPaths` value by ids,
//! from the `[tree]` of organization.toml, as organization policies render it.

use std::collections::BTreeMap;

/// `raw` with every `{{ ou_path '...' }}` replaced by its org path; other `{{ }}` are left for
/// the variables. `ou_paths`: the declared OUs (`root/prod` → `o-…/r-…/ou-…/`); `None` without
/// an organization.toml. An error is (line, message, help).
pub fn render(
    raw: &str,
    ou_paths: Option<&BTreeMap<String, String>>,
) -> Result<String, (usize, String, String)> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    let mut consumed = 0;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        out.push_str(&rest[..start]);
        match inner.strip_prefix("ou_path") {
            Some(argument) if argument.starts_with(char::is_whitespace) => {
                let line = kmsctl_core::source::line_of(raw, consumed + start);
                let path = argument
                    .trim()
                    .strip_prefix('\'')
                    .and_then(|a| a.strip_suffix('\''))
                    .ok_or_else(|| {
                        (
                            line,
                            format!("{{{{ {inner} }}}}: the OU path goes in single quotes"),
                            "write {{ ou_path 'root/NAME' }}".to_owned(),
                        )
                    })?;
                let paths = ou_paths.filter(|p| !p.is_empty()).ok_or_else(|| {
                    (
                        line,
                        format!("{{{{ {inner} }}}} needs the organization's ids, and organization/organization.toml declares no [tree]"),
                        "declare the organization's ids under [tree] in organization/organization.toml (org_id, root_id, [tree.ous]), or write the org path by ids".to_owned(),
                    )
                })?;
                let resolved = paths.get(path.trim_end_matches('/')).ok_or_else(|| {
                    let known: Vec<&str> = paths.keys().map(String::as_str).collect();
                    (
                        line,
                        format!("{{{{ {inner} }}}}: [tree.ous] declares no OU {path:?}"),
                        format!(
                            "OU paths by names that [tree] declares: {}",
                            known.join(", ")
                        ),
                    )
                })?;
                out.push_str(resolved);
            }
            _ => out.push_str(&rest[start..start + len + 2]),
        }
        consumed += start + len + 2;
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ou_paths_render_from_the_tree_and_other_templates_stay() {
        let paths: BTreeMap<String, String> = [(
            "root/prod".to_owned(),
            "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/".to_owned(),
        )]
        .into();
        let rendered = render(
            r#"{"p": "{{ ou_path 'root/prod' }}*", "a": "{{ account_id }}"}"#,
            Some(&paths),
        )
        .expect("renders");
        assert_eq!(
            rendered,
            r#"{"p": "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/*", "a": "{{ account_id }}"}"#
        );
        let (line, message, help) = render("{\n\"p\": \"{{ ou_path 'root/dev' }}\"}", Some(&paths))
            .expect_err("unknown OU");
        assert_eq!(line, 2);
        assert!(
            message.contains("root/dev") && help.contains("root/prod"),
            "{message} {help}"
        );
        assert!(render("{{ ou_path 'root/prod' }}", None).is_err());
    }
}
