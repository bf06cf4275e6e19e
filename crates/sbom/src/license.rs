//! The license policy shared by the CycloneDX and SPDX writers.
//!
//! Package managers record licenses in their own vocabularies: Debian copyright files say
//! `GPL-2+` or `Expat`, RPM says `GPLv2+` or `MIT and BSD`, Alpine mostly uses SPDX. Only a
//! string that is already a valid SPDX expression over the SPDX license list (deprecated
//! ids such as `GPL-2.0+` included) is written as an SPDX id or expression; everything else
//! is kept verbatim as a license *name* (CycloneDX) or a `LicenseRef-` with the original
//! text (SPDX). Nothing is guessed: mapping `GPLv2+` to `GPL-2.0-or-later` is a cataloger's
//! call, made where the ecosystem's conventions are known.

use std::collections::BTreeSet;

use sha2::{Digest as _, Sha256};
use spdx::ParseMode;
use spdx::lexer::{Lexer, Token};

/// One license string as a package recorded it, classified by the policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum License {
    /// Exactly one id from the SPDX license list (`MIT`, `GPL-2.0+`).
    Id(String),
    /// A compound SPDX expression, rewritten with upper-case operators and single spaces.
    Expression(String),
    /// Anything else, trimmed.
    Name(String),
}

/// Strict SPDX, except that deprecated ids are still ids (they are on the list, and the
/// CycloneDX schema's license enumeration includes them), and that `+` may follow a GNU
/// id as the SPDX grammar allows after any id, which is how `GPL-2.0+` is written.
const MODE: ParseMode = ParseMode {
    allow_slash_as_or_operator: false,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: true,
    allow_deprecated: true,
    allow_unknown: false,
};

impl License {
    pub fn classify(raw: &str) -> Option<License> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        Some(canonical_expression(raw).unwrap_or_else(|| License::Name(raw.to_owned())))
    }

    /// True for an id or an expression that SPDX tools can evaluate.
    pub fn is_spdx(&self) -> bool {
        !matches!(self, License::Name(_))
    }
}

/// The package's licenses classified, empty strings dropped, duplicates removed, in the
/// order the package lists them.
pub(crate) fn classify_all(raw: &[String]) -> Vec<License> {
    let mut seen = BTreeSet::new();
    raw.iter()
        .filter_map(|r| License::classify(r))
        .filter(|l| seen.insert(l.clone()))
        .collect()
}

/// Rebuilds `raw` from its tokens when it is a valid expression made only of listed
/// licenses and exceptions. `LicenseRef-`/`AdditionRef-` terms are refused: in SPDX they
/// would need a definition we do not have, so such strings are kept as names.
fn canonical_expression(raw: &str) -> Option<License> {
    spdx::Expression::parse_mode(raw, MODE).ok()?;
    let mut out = String::with_capacity(raw.len());
    let mut terms = 0usize;
    for token in Lexer::new_mode(raw, MODE) {
        let token = token.ok()?.token;
        let word = match token {
            Token::Spdx(id) => {
                terms += 1;
                id.name
            }
            Token::Exception(id) => id.name,
            Token::Plus => {
                out.push('+');
                continue;
            }
            Token::OpenParen => {
                space_before(&mut out);
                out.push('(');
                continue;
            }
            Token::CloseParen => {
                out.push(')');
                continue;
            }
            Token::With => "WITH",
            Token::And => "AND",
            Token::Or => "OR",
            Token::LicenseRef { .. } | Token::AdditionRef { .. } | Token::Unknown(_) => {
                return None;
            }
        };
        space_before(&mut out);
        out.push_str(word);
    }
    // A lone `GPL-2.0+` is an id (the GNU `+` forms are list entries of their own), a lone
    // `Apache-2.0+` an expression.
    Some(if terms == 1 && is_listed(&out) {
        License::Id(out)
    } else {
        License::Expression(out)
    })
}

/// Exact lookup: `spdx::license_id` ignores a trailing `+`.
fn is_listed(id: &str) -> bool {
    spdx::identifiers::LICENSES
        .binary_search_by(|l| l.name.cmp(id))
        .is_ok()
}

fn space_before(out: &mut String) {
    if !out.is_empty() && !out.ends_with('(') {
        out.push(' ');
    }
}

/// The SPDX `LicenseRef-` for a license name: its letters, digits, `.` and `-`, the rest
/// turned into `-`; when that loses information, a short hash of the original keeps two
/// different names from meeting on one reference.
pub(crate) fn license_ref(name: &str) -> String {
    let sanitised: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if sanitised == name {
        format!("LicenseRef-{sanitised}")
    } else {
        let hash = hex::encode(Sha256::digest(name.as_bytes()));
        format!(
            "LicenseRef-{sanitised}-{}",
            hash.get(..8).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(raw: &str) -> Option<License> {
        License::classify(raw)
    }

    #[test]
    fn listed_ids_are_ids() {
        assert_eq!(class(" MIT "), Some(License::Id("MIT".into())));
        assert_eq!(
            class("GPL-2.0-or-later"),
            Some(License::Id("GPL-2.0-or-later".into()))
        );
        // Deprecated, but on the list and in the CycloneDX enumeration.
        assert_eq!(class("GPL-2.0+"), Some(License::Id("GPL-2.0+".into())));
        assert_eq!(class("GPL-2.0"), Some(License::Id("GPL-2.0".into())));
    }

    #[test]
    fn compound_expressions_are_canonicalised() {
        assert_eq!(
            class("MIT or  Apache-2.0"),
            Some(License::Expression("MIT OR Apache-2.0".into()))
        );
        assert_eq!(
            class("(MIT OR Apache-2.0) and GPL-2.0-only with Classpath-exception-2.0"),
            Some(License::Expression(
                "(MIT OR Apache-2.0) AND GPL-2.0-only WITH Classpath-exception-2.0".into()
            ))
        );
        // `+` on a license with no listed `+` form is an expression, not an id.
        assert_eq!(
            class("Apache-2.0+"),
            Some(License::Expression("Apache-2.0+".into()))
        );
    }

    #[test]
    fn package_manager_vocabularies_stay_names() {
        for raw in [
            "GPLv2+",
            "MIT and BSD",
            "GPL-2+",
            "Expat",
            "mit",
            "LicenseRef-foo",
            "Public Domain",
        ] {
            assert_eq!(class(raw), Some(License::Name(raw.into())), "{raw}");
        }
        assert_eq!(class("   "), None);
    }

    #[test]
    fn classify_all_deduplicates_in_order() {
        let raw = [
            "GPLv2+".to_owned(),
            "MIT".to_owned(),
            " MIT".to_owned(),
            String::new(),
        ];
        assert_eq!(
            classify_all(&raw),
            [License::Name("GPLv2+".into()), License::Id("MIT".into())]
        );
    }

    #[test]
    fn license_refs_are_valid_and_distinct() {
        assert_eq!(license_ref("Expat"), "LicenseRef-Expat");
        let a = license_ref("GPLv2+");
        let b = license_ref("GPLv2 ");
        assert_ne!(a, b);
        for r in [&a, &b, &license_ref("MIT and BSD"), &license_ref("é")] {
            let idstring = r.strip_prefix("LicenseRef-").unwrap();
            assert!(
                idstring
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{r}"
            );
        }
    }
}
