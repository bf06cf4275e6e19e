//! `policy lint`: checks one document, a policy (`kind: Policy`) or an
//! exceptions register (`kind: Exceptions`), optionally against the
//! organisation policy (a team policy must be only stricter; exceptions must
//! keep within `maxExceptionDays` and name existing stages).

use serde::Deserialize;

use crate::exception::Exceptions;
use crate::policy::{Policy, PolicyError, PolicySet, parse};

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    kind: Option<String>,
}

/// Every error found in `text` (named `file`), in order; empty when it is valid.
pub fn lint(text: &str, file: &str, organisation: Option<&Policy>) -> Vec<PolicyError> {
    let kind = serde_saphyr::from_str::<Header>(text)
        .ok()
        .and_then(|h| h.kind);
    if kind.as_deref() == Some("Exceptions") {
        return match Exceptions::parse(text, file) {
            Ok(register) => organisation.map_or_else(Vec::new, |org| register.lint(org)),
            Err(e) => vec![e],
        };
    }
    let policy = match parse::parse(text, file) {
        Ok(policy) => policy,
        Err(e) => return vec![e],
    };
    match (organisation, policy.team.is_some()) {
        (Some(org), true) => match PolicySet::new(org.clone()) {
            Ok(mut set) => set.add_team(policy).err().into_iter().collect(),
            Err(e) => vec![e],
        },
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_policy_has_no_error_and_a_broken_one_is_located() {
        let ok = "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: org }\n";
        assert!(lint(ok, "p.yaml", None).is_empty());
        let bad = format!("{ok}spec: {{ stage: [] }}\n");
        let errors = lint(&bad, "p.yaml", None);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].to_string().starts_with("p.yaml:4:"),
            "{}",
            errors[0]
        );
    }
}
