//! `WWW-Authenticate` challenges (RFC 7235) as registries send them.

use std::collections::BTreeMap;

/// One authentication challenge from a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm="…"`: send the user name and password with every request.
    Basic,
    /// `Bearer realm="…",service="…",scope="…"`: get a token from the realm first.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// The challenge to answer from a header that may carry several: Bearer is preferred,
    /// as Docker does, because it never sends the password to the registry itself.
    pub(crate) fn select(header: &str) -> Option<Self> {
        let mut basic = None;
        for (scheme, params) in parse(header) {
            if scheme.eq_ignore_ascii_case("bearer") {
                if let Some(realm) = params.get("realm").filter(|r| !r.is_empty()) {
                    return Some(Self::Bearer {
                        realm: realm.clone(),
                        service: params.get("service").cloned(),
                        scope: params.get("scope").cloned(),
                    });
                }
            } else if scheme.eq_ignore_ascii_case("basic") {
                basic = Some(Self::Basic);
            }
        }
        basic
    }
}

/// Splits a header into `(scheme, parameters)` pairs; parameter names are lowercased.
/// Malformed parts are skipped rather than refused, since the caller only needs the realm.
fn parse(header: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut challenges: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return challenges;
        }
        let (word, after) = split_token(rest);
        if word.is_empty() {
            // Not a token: skip one character so that the loop always advances.
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
            continue;
        }
        let after_spaces = after.trim_start_matches([' ', '\t']);
        let Some(value_start) = after_spaces.strip_prefix('=') else {
            challenges.push((word.to_owned(), BTreeMap::new()));
            rest = after;
            continue;
        };
        match challenges.last_mut() {
            Some((_, params)) if !value_start.starts_with('=') => {
                let (value, remainder) = split_value(value_start.trim_start_matches([' ', '\t']));
                params.insert(word.to_ascii_lowercase(), value);
                rest = remainder;
            }
            _ => {
                // token68 (`Basic abc==`) or a parameter before any scheme: skip it.
                let (_, remainder) = split_value(value_start.trim_start_matches('='));
                rest = remainder;
            }
        }
    }
}

fn split_token(input: &str) -> (&str, &str) {
    let end = input
        .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)))
        .unwrap_or(input.len());
    input.split_at(end)
}

/// A quoted string (with `\` escapes) or a token; returns the value and what follows it.
fn split_value(input: &str) -> (String, &str) {
    let Some(quoted) = input.strip_prefix('"') else {
        let (token, rest) = split_token(input);
        return (token.to_owned(), rest);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            _ => value.push(c),
        }
    }
    // Unterminated quote: take everything.
    (value, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_quoted_commas() {
        let header = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#;
        assert_eq!(
            Challenge::select(header),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
    }

    #[test]
    fn bearer_preferred_over_basic_and_case_insensitive() {
        let header = r#"Basic realm="x", bearer Realm="http://127.0.0.1:1/t", Service=svc"#;
        assert_eq!(
            Challenge::select(header),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/t".into(),
                service: Some("svc".into()),
                scope: None,
            })
        );
    }

    #[test]
    fn basic_alone() {
        assert_eq!(
            Challenge::select(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::select("Basic"), Some(Challenge::Basic));
    }

    #[test]
    fn escapes_and_garbage_do_not_panic() {
        let header = r#"Bearer realm="a\"b",scope="x"#;
        assert_eq!(
            Challenge::select(header),
            Some(Challenge::Bearer {
                realm: "a\"b".into(),
                service: None,
                scope: Some("x".into())
            })
        );
        for junk in [
            "",
            "=",
            "==,,",
            "\"",
            "Bearer",
            "Bearer realm=",
            "Négotiate é=\"",
            "Basic abc==",
        ] {
            let _ = Challenge::select(junk);
        }
        assert_eq!(Challenge::select("Bearer realm="), None);
        assert_eq!(Challenge::select("Basic abc=="), Some(Challenge::Basic));
    }
}
