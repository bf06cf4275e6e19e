//! Hostile and wrong input: every refusal is an error that names the file and says what
//! the file is; nothing panics, however the bytes are mangled.

use portcullis_sbom::{Format, MAX_SBOM_BYTES, ReadError, WriteOptions, read_sbom_file, to_string};

use crate::fixture;

const NAME: &str = "upload/evil.json";

fn error(bytes: &[u8]) -> String {
    match read_sbom_file(bytes, NAME) {
        Ok(read) => panic!(
            "read {} packages from hostile input {}",
            read.sbom.packages.len(),
            String::from_utf8_lossy(bytes)
        ),
        Err(e) => {
            assert!(
                e.to_string().contains(NAME),
                "the error names the file: {e}"
            );
            chain(&e)
        }
    }
}

/// The error and its causes, as the CLI prints them.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    // Zeroed pages are not touched: the size check comes first.
    let huge = vec![0u8; MAX_SBOM_BYTES + 1];
    let err = read_sbom_file(&huge, NAME).unwrap_err();
    assert!(matches!(err, ReadError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("more than"), "{err}");
}

#[test]
fn wrong_formats_are_named() {
    for (bytes, expected) in [
        (&b""[..], "is not JSON"),
        (b"   \n", "is not JSON"),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\", ",
            "is not JSON",
        ),
        (b"\xff\xfe{}", "is not JSON"),
        (b"[]", "is not an SBOM portcullis reads"),
        (b"42", "is not an SBOM portcullis reads"),
        (b"{}", "is not an SBOM portcullis reads"),
        (
            b"{\"bomFormat\": \"Other\"}",
            "is not an SBOM portcullis reads",
        ),
        (b"<?xml version=\"1.0\"?><bom/>", "is XML"),
        (
            b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n",
            "SPDX tag-value",
        ),
        (
            b"{\"artifacts\": [], \"descriptor\": {\"name\": \"syft\"}}",
            "Syft's own JSON",
        ),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.3\"}",
            "CycloneDX 1.3",
        ),
        (
            b"{\"bomFormat\": \"CycloneDX\"}",
            "CycloneDX of no specVersion",
        ),
        (
            b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": 1.6}",
            "CycloneDX of no specVersion",
        ),
        (b"{\"spdxVersion\": \"SPDX-2.1\"}", "SPDX SPDX-2.1"),
        (
            b"{\"schemaVersion\": \"portcullis.sbom/v9\"}",
            "portcullis JSON of schema `portcullis.sbom/v9`",
        ),
        (
            b"{\"schemaVersion\": \"portcullis.sbom/v1\"}",
            "not a valid json document",
        ),
    ] {
        let text = error(bytes);
        assert!(
            text.contains(expected),
            "{:?}: `{text}` lacks `{expected}`",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn wrong_types_are_errors_that_say_where() {
    for body in [
        r#""components": "x""#,
        r#""components": [{"name": "a", "version": 5, "purl": "pkg:npm/a@1"}]"#,
        r#""components": [{"name": "a", "properties": {"name": "x"}}]"#,
        r#""components": [{"name": "a", "purl": ["pkg:npm/a@1"]}]"#,
        r#""metadata": 7"#,
        r#""dependencies": [{"dependsOn": ["a"]}]"#,
    ] {
        let doc = format!(r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", {body}}}"#);
        let text = error(doc.as_bytes());
        assert!(
            text.contains("is not a valid cyclonedx document") && text.contains("line 1"),
            "{body}: {text}"
        );
    }
    for body in [
        r#""packages": {"name": "a"}"#,
        r#""packages": [{"name": 1}]"#,
        r#""packages": [{"externalRefs": [{"referenceLocator": true}]}]"#,
        r#""creationInfo": {"creators": "Tool: x-1"}"#,
    ] {
        let doc = format!(r#"{{"spdxVersion": "SPDX-2.3", {body}}}"#);
        let text = error(doc.as_bytes());
        assert!(
            text.contains("is not a valid spdx document"),
            "{body}: {text}"
        );
    }
    let text = error(br#"{"schemaVersion": "portcullis.sbom/v1", "tool": 1}"#);
    assert!(text.contains("is not a valid json document"), "{text}");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let text = error(arrays.as_bytes());
    assert!(text.contains("recursion limit"), "{text}");

    let mut doc =
        String::from(r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": "#);
    for _ in 0..depth {
        doc.push_str(r#"[{"name": "x", "components": "#);
    }
    doc.push_str("[]");
    for _ in 0..depth {
        doc.push_str("}]");
    }
    doc.push('}');
    assert!(error(doc.as_bytes()).contains("recursion limit"));
}

/// A small xorshift generator: deterministic, so a failure names a reproducible seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mangled_documents_never_panic() {
    const NOISE: &[&[u8]] = &[
        b"\"",
        b"{",
        b"}",
        b"[",
        b"]",
        b",",
        b":",
        b"null",
        b"0",
        b"-1e999",
        b"\"pkg:\"",
        b"\"pkg:deb/x@\"",
        b"\"pkg:%\"",
        b"\\u0000",
        b"\xc3",
        b"true",
        b"\"portcullis:layer:index\"",
    ];
    let options = WriteOptions {
        include_files: true,
        ..fixture::timestamped()
    };
    let documents: Vec<Vec<u8>> = Format::ALL
        .iter()
        .map(|f| {
            to_string(&fixture::mixed(), *f, &options)
                .unwrap()
                .into_bytes()
        })
        .collect();
    let mut outcomes = [0usize; 2];
    for seed in 1..=600u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut doc = documents[(seed % 3) as usize].clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(doc.len());
            match rng.below(3) {
                0 => {
                    let end = (at + rng.below(40)).min(doc.len());
                    doc.drain(at..end);
                }
                1 => {
                    let noise = NOISE[rng.below(NOISE.len())];
                    doc.splice(at..at, noise.iter().copied());
                }
                _ => {
                    if let Some(byte) = doc.get_mut(at) {
                        *byte = (rng.next() & 0xff) as u8;
                    }
                }
            }
        }
        match read_sbom_file(&doc, NAME) {
            Ok(_) => outcomes[0] += 1,
            Err(e) => {
                assert!(e.to_string().contains(NAME), "seed {seed}: {e}");
                outcomes[1] += 1;
            }
        }
    }
    // Both branches were exercised: some mangling is harmless, most is not.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "{outcomes:?}");
}
