//! What an executable says about how it was built, reduced to a small summary while the
//! image streams: the Go build information (toolchain version and module list) and the
//! dependency list `cargo auditable` embeds in Rust binaries.
//!
//! The Go and Rust catalogers both summarize executables with [`summarize`]: the image
//! reader runs only one summarizer per file, so they must share one that extracts both.

use std::io::Read as _;

use object::{Object as _, ObjectSection as _, ObjectSegment as _};
use serde::{Deserialize, Serialize};

use super::buildinfo;

/// Bumped when the summary layout changes; a summary of another version is re-read.
const SCHEMA: u32 = 1;
/// The most decompressed bytes accepted from a `.dep-v0` section, as `cargo auditable`'s
/// own reader defaults to: real lists are a few KiB, a bigger one is a zip bomb.
pub(crate) const MAX_RUST_DEPS_BYTES: u64 = 8 << 20;

const ELF_MAGIC: &[u8] = b"\x7fELF";
const PE_MAGIC: &[u8] = b"MZ";
const MACHO_MAGICS: [&[u8]; 4] = [
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
];
/// Universal (fat) Mach-O; Java class files share this magic and are told apart by parsing.
const FAT_MAGIC: &[u8] = b"\xca\xfe\xba\xbe";

/// The build facts of one executable, as stored in place of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExecutableSummary {
    /// Marks the bytes as a summary (and of which layout), unlike any executable's bytes.
    #[serde(rename = "portcullis_executable")]
    pub(crate) schema: u32,
    /// `elf`, `pe` or `macho`.
    pub(crate) format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) go: Option<GoBuild>,
    /// The decompressed JSON of the `.dep-v0` section (`cargo auditable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rust_deps: Option<String>,
    /// Build information that was present but could not be read, for the catalogers to
    /// report as warnings (`go: …`, `rust: …`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) problems: Vec<String>,
}

/// The two strings of Go's build information.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GoBuild {
    /// `runtime.buildVersion`: `go1.21.3`, possibly with ` X:experiment` suffixes.
    pub(crate) version: String,
    /// `runtime/debug.modinfo` without its framing: the `path`/`mod`/`dep`/`build` lines.
    pub(crate) modinfo: String,
}

/// True when `bytes` start like an executable this module reads. Cheap: a prefix test.
pub(crate) fn has_executable_magic(bytes: &[u8]) -> bool {
    bytes.starts_with(ELF_MAGIC)
        || bytes.starts_with(PE_MAGIC)
        || bytes.starts_with(FAT_MAGIC)
        || MACHO_MAGICS.iter().any(|m| bytes.starts_with(m))
}

/// The [`portcullis_image::Summarizer`] for executables: `None` for anything that is not
/// an executable with Go or Rust build information, so that nothing is kept for it.
pub(crate) fn summarize(_path: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    let summary = summary_of_executable(bytes)?;
    serde_json::to_vec(&summary).ok()
}

/// Reads what the tree holds for an executable: our summary when the image reader
/// summarized it, else the whole file (a reader that kept it), summarized now.
pub(crate) fn read_stored(bytes: &[u8]) -> Option<ExecutableSummary> {
    if bytes.starts_with(b"{") {
        return serde_json::from_slice::<ExecutableSummary>(bytes)
            .ok()
            .filter(|s| s.schema == SCHEMA);
    }
    summary_of_executable(bytes)
}

/// Extracts the build information of an executable; `None` when there is none.
pub(crate) fn summary_of_executable(bytes: &[u8]) -> Option<ExecutableSummary> {
    if !has_executable_magic(bytes) {
        return None;
    }
    if bytes.starts_with(FAT_MAGIC) {
        return summary_of_fat(bytes);
    }
    let file = object::File::parse(bytes).ok()?;
    let format = match file.format() {
        object::BinaryFormat::Elf => "elf",
        object::BinaryFormat::Pe => "pe",
        object::BinaryFormat::MachO => "macho",
        _ => return None,
    };
    let mut summary = ExecutableSummary {
        schema: SCHEMA,
        format: format.to_owned(),
        ..ExecutableSummary::default()
    };
    match buildinfo::read(&file) {
        Ok(Some(go)) => summary.go = Some(go),
        Ok(None) => {}
        Err(problem) => summary.problems.push(format!("go: {problem}")),
    }
    match rust_deps(&file) {
        Ok(Some(deps)) => summary.rust_deps = Some(deps),
        Ok(None) => {}
        Err(problem) => summary.problems.push(format!("rust: {problem}")),
    }
    let empty = summary.go.is_none() && summary.rust_deps.is_none() && summary.problems.is_empty();
    (!empty).then_some(summary)
}

/// A universal Mach-O holds one executable per architecture, built from the same source;
/// the first one with build information speaks for the file.
fn summary_of_fat(bytes: &[u8]) -> Option<ExecutableSummary> {
    use object::read::macho::{FatArch as _, MachOFatFile32, MachOFatFile64};
    let arches: Vec<(u64, u64)> = if let Ok(fat) = MachOFatFile32::parse(bytes) {
        fat.arches().iter().map(|a| a.file_range()).collect()
    } else if let Ok(fat) = MachOFatFile64::parse(bytes) {
        fat.arches().iter().map(|a| a.file_range()).collect()
    } else {
        return None;
    };
    arches.into_iter().find_map(|(offset, size)| {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(size).ok()?)?;
        let inner = bytes.get(start..end)?;
        // Nested fat files do not exist; refuse them rather than recurse.
        if inner.starts_with(FAT_MAGIC) {
            return None;
        }
        summary_of_executable(inner)
    })
}

/// The `.dep-v0` section `cargo auditable` adds: zlib-compressed JSON.
fn rust_deps(file: &object::File<'_>) -> Result<Option<String>, String> {
    let Some(section) = file.section_by_name(".dep-v0") else {
        return Ok(None);
    };
    let compressed = section
        .data()
        .map_err(|e| format!("the `.dep-v0` section cannot be read: {e}"))?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_RUST_DEPS_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("the `.dep-v0` section is not valid zlib data: {e}"))?;
    if json.len() as u64 > MAX_RUST_DEPS_BYTES {
        return Err(format!(
            "the `.dep-v0` section decompresses to more than {MAX_RUST_DEPS_BYTES} bytes"
        ));
    }
    String::from_utf8(json)
        .map(Some)
        .map_err(|_| "the `.dep-v0` section is not UTF-8 JSON".to_owned())
}

/// Reads `len` bytes at virtual address `addr` from the file-backed part of a segment
/// (or, failing that, a section), as a loader would map them.
pub(super) fn read_at<'data>(
    file: &object::File<'data>,
    addr: u64,
    len: u64,
) -> Option<&'data [u8]> {
    let slice = |base: u64, data: &'data [u8]| -> Option<&'data [u8]> {
        let start = usize::try_from(addr.checked_sub(base)?).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        data.get(start..end)
    };
    file.segments()
        .find_map(|s| slice(s.address(), s.data().ok()?))
        .or_else(|| {
            file.sections()
                .find_map(|s| slice(s.address(), s.data().ok()?))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_executables_give_nothing() {
        assert!(summarize("/x", b"").is_none());
        assert!(summarize("/x", b"#!/bin/sh\necho hi\n").is_none());
        assert!(summarize("/x", b"\x7fELF").is_none());
        assert!(summarize("/x", b"MZ\x90\x00").is_none());
        // A Java class file starts like a universal Mach-O.
        assert!(summarize("/x", b"\xca\xfe\xba\xbe\x00\x00\x00\x34rest").is_none());
    }

    #[test]
    fn stored_summaries_round_trip_and_other_json_is_refused() {
        let summary = ExecutableSummary {
            schema: SCHEMA,
            format: "elf".into(),
            go: Some(GoBuild {
                version: "go1.21.3".into(),
                modinfo: "path\tx\n".into(),
            }),
            rust_deps: None,
            problems: vec![],
        };
        let bytes = serde_json::to_vec(&summary).unwrap();
        assert_eq!(read_stored(&bytes), Some(summary));
        assert_eq!(
            read_stored(b"{\"portcullis_executable\": 999, \"format\": \"elf\"}"),
            None
        );
        assert_eq!(read_stored(b"{not json"), None);
    }

    const RUST_FIXTURE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rust-auditable/portcullis-audit-fixture"
    ));

    #[test]
    fn reads_the_rust_fixture() {
        let summary = summary_of_executable(RUST_FIXTURE).unwrap();
        assert_eq!(summary.format, "elf");
        assert!(summary.go.is_none());
        assert!(summary.rust_deps.unwrap().contains("\"smallvec\""));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// A real executable with bytes overwritten anywhere (headers included).
        #[test]
        fn damaged_executables_never_panic(edits in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 1..16), anywhere in proptest::collection::vec((0usize..RUST_FIXTURE.len(), proptest::num::u8::ANY), 0..16)) {
            let mut bytes = RUST_FIXTURE.to_vec();
            for (at, value) in edits.into_iter().chain(anywhere) {
                bytes[at] = value;
            }
            let _ = summarize("/x", &bytes);
            let _ = summarize("/x", &bytes[..bytes.len() / 2]);
        }

        #[test]
        fn arbitrary_bytes_after_a_magic_never_panic(magic in 0usize..6, tail in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let magics: [&[u8]; 6] = [ELF_MAGIC, PE_MAGIC, FAT_MAGIC, MACHO_MAGICS[0], MACHO_MAGICS[1], MACHO_MAGICS[3]];
            let mut bytes = magics[magic].to_vec();
            bytes.extend(tail);
            let _ = summarize("/x", &bytes);
            let _ = read_stored(&bytes);
        }
    }
}
