//! apk-tools: `/lib/apk/db/installed` (Alpine, Wolfi, Chainguard).
//!
//! The database is a list of blank-line-separated records of `X:value` lines, where `X` is
//! one letter: `P` name, `V` version, `A` arch, `o` origin (the source package), `L`
//! license, `F` a directory and `R` a file in the last `F`.

use std::collections::BTreeMap;

use portcullis_types::{Distro, Ecosystem, Package};

use portcullis_image::{EntryInfo, Selection};

use crate::{CatalogError, Cataloger, Context, purl};

const INSTALLED: &str = "/lib/apk/db/installed";
// Newer apk-tools (usr-merged Alpine, apk v3 transition) keep the database here.
const INSTALLED_USR: &str = "/usr/lib/apk/db/installed";

/// Reads the apk database.
#[derive(Debug, Default)]
pub struct Apk;

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if entry.path == INSTALLED || entry.path == INSTALLED_USR {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        for path in [INSTALLED, INSTALLED_USR] {
            if let Some(bytes) = cx.read(path)? {
                let db_layer = cx.layer_of(path);
                return Ok(parse(bytes, path, cx.distro)
                    .into_iter()
                    .map(|mut p| {
                        p.layer = cx.layer_of_files(&p.files).or_else(|| db_layer.clone());
                        p
                    })
                    .collect());
            }
        }
        Ok(Vec::new())
    }
}

/// Parses the installed database. Records without a name or version are skipped, as
/// apk itself cannot have installed them.
pub(crate) fn parse(bytes: &[u8], found_in: &str, distro: Option<&Distro>) -> Vec<Package> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut record = Record::default();
    for line in text.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if let Some(p) = std::mem::take(&mut record).into_package(found_in, distro) {
                out.push(p);
            }
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "P" => record.name = value.to_owned(),
            "V" => record.version = value.to_owned(),
            "A" => record.arch = Some(value.to_owned()),
            "o" => record.origin = Some(value.to_owned()),
            "L" => record.license = Some(value.to_owned()),
            "m" => record.maintainer = Some(value.to_owned()),
            "c" => record.commit = Some(value.to_owned()),
            "F" => record.dir = value.to_owned(),
            "R" => record.files.push(if record.dir.is_empty() {
                format!("/{value}")
            } else {
                format!("/{}/{value}", record.dir)
            }),
            _ => {}
        }
    }
    out
}

#[derive(Default)]
struct Record {
    name: String,
    version: String,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
    maintainer: Option<String>,
    commit: Option<String>,
    dir: String,
    files: Vec<String>,
}

impl Record {
    fn into_package(self, found_in: &str, distro: Option<&Distro>) -> Option<Package> {
        if self.name.is_empty() || self.version.is_empty() {
            return None;
        }
        let mut metadata = BTreeMap::new();
        if let Some(m) = self.maintainer {
            metadata.insert("maintainer".to_owned(), m);
        }
        if let Some(c) = self.commit {
            metadata.insert("commit".to_owned(), c);
        }
        let purl = purl::apk(
            &self.name,
            &self.version,
            self.arch.as_deref(),
            self.origin.as_deref(),
            distro,
        );
        // apk writes licenses as a space-separated list or an SPDX expression; keep it whole
        // and let the writers decide whether it is a valid expression.
        let licenses = self.license.into_iter().filter(|l| !l.is_empty()).collect();
        Some(Package {
            ecosystem: Ecosystem::Apk,
            source_version: self.origin.as_ref().map(|_| self.version.clone()),
            source_name: self.origin,
            name: self.name,
            version: self.version,
            arch: self.arch,
            licenses,
            purl,
            layer: None,
            found_in: vec![found_in.to_owned()],
            files: self.files,
            metadata,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Timo Teräs <timo.teras@iki.fi>\nt:1698758405\nc:0e0a0c9b\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\nP:libcrypto3\nV:3.1.4-r1\nA:x86_64\nL:Apache-2.0\no:openssl\nF:usr/lib\nR:libcrypto.so.3\n\nP:broken\n\n";

    #[test]
    fn parses_records_with_origin_and_files() {
        let packages = parse(DB.as_bytes(), INSTALLED, None);
        assert_eq!(packages.len(), 2);
        let musl = &packages[0];
        assert_eq!(
            (musl.name.as_str(), musl.version.as_str()),
            ("musl", "1.2.4-r2")
        );
        assert_eq!(musl.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            musl.files,
            vec!["/lib/ld-musl-x86_64.so.1", "/lib/libc.musl-x86_64.so.1"]
        );
        assert_eq!(musl.licenses, vec!["MIT"]);
        let crypto = &packages[1];
        assert_eq!(crypto.source_name.as_deref(), Some("openssl"));
        assert_eq!(crypto.source_version.as_deref(), Some("3.1.4-r1"));
        assert_eq!(crypto.files, vec!["/usr/lib/libcrypto.so.3"]);
        assert_eq!(
            crypto.purl,
            "pkg:apk/alpine/libcrypto3@3.1.4-r1?arch=x86_64&upstream=openssl"
        );
    }

    #[test]
    fn garbage_never_panics() {
        assert!(parse(b"\xff\xff:\n::\nP\nV:\n", INSTALLED, None).is_empty());
        assert!(parse(b"", INSTALLED, None).is_empty());
    }
}
