//! Just enough of the Package URL specification to compare two purls the way
//! ignore entries and VEX statements need: type, namespace and name, and the
//! version when the pattern gives one; qualifiers and subpath are ignored.

/// The parts of a purl that identify a package, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageUrl {
    /// Lowercase, as the specification requires.
    pub(crate) kind: String,
    /// Empty when the purl has none.
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) version: Option<String>,
}

impl PackageUrl {
    /// Parse `pkg:type/namespace/name@version?qualifiers#subpath`; `None` when the
    /// text is not a purl (no `pkg:` scheme, no type or no name).
    pub(crate) fn parse(text: &str) -> Option<PackageUrl> {
        let text = text.trim();
        let scheme = text.get(..4)?;
        if !scheme.eq_ignore_ascii_case("pkg:") {
            return None;
        }
        let rest = text[4..].trim_start_matches('/');
        // Subpath first, then qualifiers: both are irrelevant to identity here.
        let rest = rest.split_once('#').map_or(rest, |(head, _)| head);
        let rest = rest.split_once('?').map_or(rest, |(head, _)| head);
        let (path, version) = match rest.rsplit_once('@') {
            // An `@` in the path part is the version separator only after the
            // last `/`; npm scopes are encoded as `%40`, but tolerate a raw one.
            Some((path, version)) if !version.contains('/') && !path.is_empty() => {
                (path, Some(decode(version)))
            }
            _ => (rest, None),
        };
        let mut segments = path.split('/').filter(|s| !s.is_empty());
        let kind = segments.next()?.to_ascii_lowercase();
        let mut parts: Vec<String> = segments.map(decode).collect();
        let name = parts.pop()?;
        if name.is_empty() {
            return None;
        }
        let version = version.filter(|v| !v.is_empty());
        Some(PackageUrl {
            namespace: parts.join("/"),
            name,
            version,
            kind,
        })
    }

    /// True when `candidate` is the same package as `self`; when `self` carries a
    /// version, the candidate's version must be equal to it.
    pub(crate) fn covers(&self, candidate: &PackageUrl) -> bool {
        if self.kind != candidate.kind {
            return false;
        }
        let fold = case_insensitive(&self.kind);
        let same = |a: &str, b: &str| {
            if fold {
                normalize(&self.kind, a) == normalize(&self.kind, b)
            } else {
                a == b
            }
        };
        if !same(&self.namespace, &candidate.namespace) || !same(&self.name, &candidate.name) {
            return false;
        }
        match (&self.version, &candidate.version) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
        }
    }
}

/// Purl types whose names are case-insensitive by their specification.
fn case_insensitive(kind: &str) -> bool {
    matches!(
        kind,
        "pypi" | "npm" | "deb" | "apk" | "github" | "bitbucket" | "composer" | "nuget" | "oci"
    )
}

fn normalize(kind: &str, text: &str) -> String {
    let lower = text.to_lowercase();
    if kind == "pypi" {
        // PEP 503: runs of `-`, `_` and `.` are equivalent.
        let mut out = String::with_capacity(lower.len());
        let mut last_dash = false;
        for c in lower.chars() {
            if matches!(c, '-' | '_' | '.') {
                if !last_dash {
                    out.push('-');
                }
                last_dash = true;
            } else {
                out.push(c);
                last_dash = false;
            }
        }
        out
    } else {
        lower
    }
}

/// Percent-decode one purl component; malformed escapes are kept as written.
pub(crate) fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex_value(*b)),
                bytes.get(i + 2).and_then(|b| hex_value(*b)),
            )
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purl(text: &str) -> PackageUrl {
        PackageUrl::parse(text).unwrap_or_else(|| panic!("`{text}` should parse"))
    }

    #[test]
    fn parses_the_parts_and_drops_qualifiers() {
        let p = purl("pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12#x");
        assert_eq!(p.kind, "deb");
        assert_eq!(p.namespace, "debian");
        assert_eq!(p.name, "libc6");
        assert_eq!(p.version.as_deref(), Some("2.36-9+deb12u4"));
        let scoped = purl("pkg:npm/%40babel/core@7.0.0");
        assert_eq!(scoped.namespace, "@babel");
        assert_eq!(scoped.name, "core");
        let oci = purl("pkg:oci/app@sha256%3Aabc?repository_url=registry.example/team/app");
        assert_eq!(oci.version.as_deref(), Some("sha256:abc"));
    }

    #[test]
    fn rejects_what_is_not_a_purl() {
        for text in [
            "",
            "pkg:",
            "pkg:deb",
            "libc6",
            "https://example.invalid/x",
            "pkg:/",
        ] {
            assert_eq!(PackageUrl::parse(text), None, "{text}");
        }
    }

    #[test]
    fn version_is_required_only_when_the_pattern_has_one() {
        let any = purl("pkg:pypi/Jinja2");
        let exact = purl("pkg:pypi/jinja2@3.1.2");
        assert!(any.covers(&purl("pkg:pypi/jinja2@3.1.2")));
        assert!(exact.covers(&purl("pkg:pypi/jinja2@3.1.2?foo=bar")));
        assert!(!exact.covers(&purl("pkg:pypi/jinja2@3.1.3")));
        assert!(!exact.covers(&purl("pkg:pypi/jinja2")));
        assert!(purl("pkg:pypi/typing_extensions").covers(&purl("pkg:pypi/typing-extensions@4")));
        assert!(!purl("pkg:cargo/Foo").covers(&purl("pkg:cargo/foo@1")));
        assert!(!purl("pkg:deb/debian/libc6").covers(&purl("pkg:deb/ubuntu/libc6@1")));
        assert!(!purl("pkg:deb/debian/libc6").covers(&purl("pkg:rpm/debian/libc6@1")));
    }
}
