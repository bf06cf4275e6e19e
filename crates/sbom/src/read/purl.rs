//! A lenient Package URL reader: type, namespace, name, version and qualifiers,
//! percent-decoded, with no canonicalisation (Go module paths and Python project names keep
//! their case) and no validation beyond the shape `pkg:type/…name[@version][?q][#sub]`.
//! SBOM tools write purls that strict parsers refuse (Syft's `zlib1g@1:1.2.13` keeps the
//! epoch colon unencoded); reading them as written is the point.

use std::collections::BTreeMap;

/// The parts of one purl, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Purl {
    pub ty: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: BTreeMap<String, String>,
}

impl Purl {
    pub(crate) fn parse(text: &str) -> Option<Purl> {
        let rest = text.trim().strip_prefix("pkg:")?;
        let rest = rest.trim_start_matches('/');
        let rest = rest.split_once('#').map_or(rest, |(head, _)| head);
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (ty, path) = rest.split_once('/')?;
        if ty.is_empty()
            || !ty
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
        {
            return None;
        }
        let path = path.trim_end_matches('/');
        // The version follows the last `@` that is not followed by a `/` (an npm scope
        // `@babel/core` sits in the namespace).
        let (path, version) = match path.rfind('@') {
            Some(i) if !path[i + 1..].contains('/') => (&path[..i], Some(decode(&path[i + 1..]))),
            _ => (path, None),
        };
        let (namespace, name) = match path.rsplit_once('/') {
            Some((ns, name)) => (
                Some(ns.split('/').map(decode).collect::<Vec<_>>().join("/")),
                decode(name),
            ),
            None => (None, decode(path)),
        };
        if name.is_empty() {
            return None;
        }
        let qualifiers = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_ascii_lowercase(), decode(v)))
            .collect();
        Some(Purl {
            ty: ty.to_ascii_lowercase(),
            namespace: namespace.filter(|ns| !ns.is_empty()),
            name,
            version: version.filter(|v| !v.is_empty()),
            qualifiers,
        })
    }

    pub(crate) fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }

    /// `namespace<sep>name`, or the name alone.
    pub(crate) fn joined(&self, separator: &str) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}{separator}{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Percent-decoding; invalid escapes stay as written, invalid UTF-8 is replaced.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(value) => {
                out.push(value);
                i += 3;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_purls_peers_write() {
        let p = Purl::parse(
            "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12&upstream=bash%405.2.15-2",
        )
        .unwrap();
        assert_eq!(p.ty, "deb");
        assert_eq!(p.namespace.as_deref(), Some("debian"));
        assert_eq!(p.name, "bash");
        assert_eq!(p.version.as_deref(), Some("5.2.15-2+b13"));
        assert_eq!(p.qualifier("upstream"), Some("bash@5.2.15-2"));
        assert_eq!(p.qualifier("distro"), Some("debian-12"));

        let p = Purl::parse("pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64").unwrap();
        assert_eq!(p.version.as_deref(), Some("1:1.2.13.dfsg-1"));

        let p = Purl::parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(p.joined("/"), "@babel/core");
        let p = Purl::parse("pkg:npm/@babel/core@7.0.0#lib").unwrap();
        assert_eq!(p.joined("/"), "@babel/core");
        assert_eq!(p.version.as_deref(), Some("7.0.0"));

        let p = Purl::parse("pkg:golang/github.com/BurntSushi/toml@v1.3.2").unwrap();
        assert_eq!(p.joined("/"), "github.com/BurntSushi/toml");
        let p = Purl::parse("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").unwrap();
        assert_eq!(p.joined(":"), "org.apache.logging.log4j:log4j-core");
    }

    #[test]
    fn refuses_what_is_not_a_purl() {
        for text in [
            "",
            "pkg:",
            "pkg:deb",
            "pkg:deb/",
            "deb/debian/x@1",
            "pkg:d b/x",
            "pkg:%/x",
        ] {
            assert_eq!(Purl::parse(text), None, "{text}");
        }
        // Truncated escapes and invalid UTF-8 never panic.
        let p = Purl::parse("pkg:npm/a%2@%ff%").unwrap();
        assert_eq!(p.name, "a%2");
        assert_eq!(p.version.as_deref(), Some("\u{fffd}%"));
    }
}
