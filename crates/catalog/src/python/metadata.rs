//! Core metadata of an installed distribution (`METADATA`, `PKG-INFO`): RFC 822 style
//! headers, then an optional body (the long description) after the first blank line.

/// What portcullis reads of a distribution's core metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CoreMetadata {
    pub name: String,
    pub version: String,
    pub licenses: Vec<String>,
}

/// Why a metadata file gave no distribution.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MetadataError {
    #[error("no `{0}` header")]
    Missing(&'static str),
    #[error("not UTF-8 text")]
    NotText,
}

/// Parses the headers of a core metadata file. Repeated headers (`Classifier`) are kept in
/// order; continuation lines (starting with white space) are joined with `\n`.
pub(crate) fn headers(text: &str) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            // The body (long description) starts after the first blank line.
            break;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = out.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            out.push((key.trim(), value.trim().to_owned()));
        }
    }
    out
}

/// Reads name, version and licenses from a `METADATA`/`PKG-INFO` file.
pub(crate) fn parse(bytes: &[u8]) -> Result<CoreMetadata, MetadataError> {
    // Metadata is UTF-8 by specification; old PKG-INFO files written by distutils may hold
    // Latin-1 in the description, which is after the headers we need, so decode lossily.
    let text = String::from_utf8_lossy(bytes);
    if text.contains('\u{0}') {
        return Err(MetadataError::NotText);
    }
    let headers = headers(&text);
    let get = |key: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let name = get("Name")
        .ok_or(MetadataError::Missing("Name"))?
        .to_owned();
    let version = get("Version")
        .ok_or(MetadataError::Missing("Version"))?
        .to_owned();
    let licenses = licenses(
        get("License-Expression"),
        get("License"),
        headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("Classifier"))
            .map(|(_, v)| v.as_str()),
    );
    Ok(CoreMetadata {
        name,
        version,
        licenses,
    })
}

/// The declared licenses, most precise first: the SPDX `License-Expression` (metadata 2.4),
/// else a short `License` field, else the `License ::` trove classifiers. A `License` field
/// that holds the whole license text is not a license name, so it is left out.
fn licenses<'a>(
    expression: Option<&str>,
    license: Option<&str>,
    classifiers: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    if let Some(expression) = expression {
        return vec![expression.to_owned()];
    }
    if let Some(license) = license
        .filter(|l| !l.contains('\n') && l.len() <= 120 && !l.eq_ignore_ascii_case("UNKNOWN"))
    {
        return vec![license.to_owned()];
    }
    let mut out: Vec<String> = classifiers
        .filter_map(|c| c.strip_prefix("License ::"))
        .filter_map(|c| c.rsplit("::").next())
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty() && c != "OSI Approved")
        .collect();
    out.dedup();
    out
}

/// The name as PEP 503 normalises it: runs of `-`, `_` and `.` become one `-`, lowercased.
pub(crate) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
            continue;
        }
        if separator && !out.is_empty() {
            out.push('-');
        }
        separator = false;
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_as_pep_503() {
        for (name, expected) in [
            ("Django", "django"),
            ("zope.interface", "zope-interface"),
            ("typing_extensions", "typing-extensions"),
            ("Foo.._-Bar", "foo-bar"),
            ("friendly-bard", "friendly-bard"),
            ("FRIENDLY_BARD", "friendly-bard"),
            ("", ""),
        ] {
            assert_eq!(normalize(name), expected, "{name}");
        }
    }

    #[test]
    fn reads_headers_and_stops_at_the_body() {
        let text = "Metadata-Version: 2.1\nName: Flask\nVersion: 0.12.2\nLicense: BSD\nClassifier: License :: OSI Approved :: BSD License\n\nName: NotThis\nVersion: 9\n";
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(
            m,
            CoreMetadata {
                name: "Flask".into(),
                version: "0.12.2".into(),
                licenses: vec!["BSD".into()],
            }
        );
    }

    #[test]
    fn license_sources_in_order_of_precision() {
        let m =
            parse(b"Name: a\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: MIT\n")
                .unwrap();
        assert_eq!(m.licenses, vec!["MIT OR Apache-2.0"]);
        // A whole license text in `License` is skipped in favour of the classifiers.
        let m = parse(
            b"Name: a\nVersion: 1\nLicense: Copyright (c) 2020\n        Permission is hereby granted\nClassifier: License :: OSI Approved :: MIT License\nClassifier: License :: OSI Approved :: Apache Software License\n",
        )
        .unwrap();
        assert_eq!(m.licenses, vec!["MIT License", "Apache Software License"]);
        let m = parse(b"Name: a\nVersion: 1\nLicense: UNKNOWN\n").unwrap();
        assert!(m.licenses.is_empty());
    }

    #[test]
    fn missing_fields_are_errors() {
        assert_eq!(parse(b"Version: 1\n"), Err(MetadataError::Missing("Name")));
        assert_eq!(
            parse(b"Name: a\nVersion:\n"),
            Err(MetadataError::Missing("Version"))
        );
        assert_eq!(parse(b"\0\0PK"), Err(MetadataError::NotText));
        assert!(parse(b"").is_err());
    }
}
