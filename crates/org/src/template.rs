//! Organization policy templates: `{{ name }}` variables as in environments, plus
//! `{{ ou_path 'root/prod' }}`, the OU's `aws:PrincipalOrgPaths` value resolved at plan time.
//! Placeholders sit inside JSON strings, so a policy file is valid JSON before and after rendering.

use std::collections::BTreeMap;

use kmsctl_core::template::{self, TemplateError};

use crate::target::Target;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgTemplateError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("line {line}: {message}")]
    OuPath { line: usize, message: String },
}

impl OrgTemplateError {
    pub fn line(&self) -> usize {
        match self {
            Self::Template(
                TemplateError::Unknown { line, .. }
                | TemplateError::Unterminated { line, .. }
                | TemplateError::InvalidName { line, .. },
            ) => *line,
            Self::OuPath { line, .. } => *line,
        }
    }
}

/// Renders `text`: `ou_path` calls through `resolve` (OU path by names → org path), then the
/// variables. `resolve` receives the names below the root (`root/prod` → `["prod"]`).
pub fn render(
    text: &str,
    variables: &BTreeMap<String, String>,
    resolve: &dyn Fn(&[String]) -> Result<String, String>,
) -> Result<String, OrgTemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        let line = kmsctl_core::source::line_of(text, consumed + start);
        out.push_str(&rest[..start]);
        match inner.strip_prefix("ou_path") {
            Some(argument) if argument.starts_with(char::is_whitespace) => {
                let path = argument.trim().strip_prefix('\'').and_then(|a| a.strip_suffix('\'')).ok_or_else(|| {
                    OrgTemplateError::OuPath {
                        line,
                        message: format!("write {{{{ ou_path 'root/NAME' }}}}, with the path in single quotes, not {inner:?}"),
                    }
                })?;
                let names = match Target::parse(path) {
                    Ok(Target::Root) => vec![],
                    Ok(Target::OuPath(names)) => names,
                    _ => {
                        return Err(OrgTemplateError::OuPath {
                            line,
                            message: format!(
                                "ou_path takes an OU path by names from the root (root/prod), not {path:?}"
                            ),
                        });
                    }
                };
                let resolved = resolve(&names)
                    .map_err(|message| OrgTemplateError::OuPath { line, message })?;
                // The value lands inside a JSON string.
                let quoted = serde_json::to_string(&resolved).unwrap_or_default();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            _ => out.push_str(&rest[start..start + len + 2]),
        }
        consumed += start + len + 2;
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    Ok(template::render_json_strings(&out, variables)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(names: &[String]) -> Result<String, String> {
        match names.join("/").as_str() {
            "prod" => Ok("o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/".into()),
            "" => Ok("o-a1b2c3d4e5/r-ab12/".into()),
            other => Err(format!("no OU {other:?}")),
        }
    }

    #[test]
    fn ou_paths_and_variables_render_and_the_json_stays_valid() {
        let vars = BTreeMap::from([("org_id".to_owned(), "o-a1b2c3d4e5".to_owned())]);
        let text = r#"{"a": ["{{ ou_path 'root/prod' }}*"], "b": "{{ org_id }}", "c": "${aws:username}", "d": "{{ou_path 'root'}}"}"#;
        let rendered = render(text, &vars, &resolver).expect("renders");
        assert_eq!(
            rendered,
            r#"{"a": ["o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/*"], "b": "o-a1b2c3d4e5", "c": "${aws:username}", "d": "o-a1b2c3d4e5/r-ab12/"}"#
        );
        serde_json::from_str::<serde_json::Value>(text).expect("valid before");
        serde_json::from_str::<serde_json::Value>(&rendered).expect("valid after");
    }

    #[test]
    fn errors_name_the_line() {
        let vars = BTreeMap::new();
        let err = render(
            "{\n \"a\": \"{{ ou_path 'root/staging' }}\"\n}",
            &vars,
            &resolver,
        )
        .expect_err("unknown OU");
        assert_eq!(err.line(), 2);
        assert!(err.to_string().contains("staging"), "{err}");
        let err = render(
            "{\n\n \"a\": \"{{ ou_path root/prod }}\"}",
            &vars,
            &resolver,
        )
        .expect_err("unquoted");
        assert_eq!(err.line(), 3);
        let err = render(
            "{ \"a\": \"{{ ou_path '/root/prod' }}\" }",
            &vars,
            &resolver,
        )
        .expect_err("seed's form");
        assert!(err.to_string().contains("OU path by names"), "{err}");
        let err =
            render("{ \"a\": \"{{ nope }}\" }", &vars, &resolver).expect_err("unknown variable");
        assert!(matches!(
            err,
            OrgTemplateError::Template(TemplateError::Unknown { .. })
        ));
    }
}
