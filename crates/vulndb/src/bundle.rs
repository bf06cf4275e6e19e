//! `db export` and `db import`: one compressed file that carries an index into
//! a site without network.
//!
//! A bundle is a zstd-compressed tar with two members, in this order:
//! `manifest.json` (a [`BundleManifest`]: format, schema version, the index's
//! size and SHA-256, and the index's own manifest) and `index.redb`. Import
//! streams the index into a temporary file beside the current one, checks
//! size, SHA-256, schema version and that it opens, and only then swaps it
//! in; a bundle that fails any check changes nothing.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{DbError, Home, io_err};
use crate::index::{Index, Manifest, SCHEMA_VERSION};

/// The format name in a bundle's manifest.
pub const BUNDLE_FORMAT: &str = "portcullis-advisory-bundle";

/// The first member of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format: String,
    pub format_version: u32,
    pub schema_version: u32,
    pub created_at: String,
    pub index_bytes: u64,
    pub index_sha256: String,
    pub index: Manifest,
}

fn bundle_err(path: &Path, what: impl std::fmt::Display) -> DbError {
    DbError::Bundle(format!(
        "bundle {}: {what}; nothing was changed",
        path.display()
    ))
}

/// Writes the current index of `home` to `dest` as a bundle (atomically:
/// `dest` appears complete or not at all). Returns the manifest written.
pub fn export(home: &Home, dest: &Path, level: i32) -> Result<BundleManifest, DbError> {
    let index_path = home.index_path();
    let index = home.open_index()?;
    let inner = index.manifest().clone();
    drop(index);
    let (bytes, sha256) = hash_file(&index_path)?;
    let manifest = BundleManifest {
        format: BUNDLE_FORMAT.into(),
        format_version: 1,
        schema_version: SCHEMA_VERSION,
        created_at: crate::build::now_rfc3339(),
        index_bytes: bytes,
        index_sha256: sha256,
        index: inner,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| DbError::Bundle(format!("manifest: {e}")))?;
    let file_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".into());
    let tmp = dest.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut encoder = zstd::Encoder::new(BufWriter::new(file), level)?;
        encoder.include_checksum(true)?;
        encoder.long_distance_matching(true)?;
        let mut tar = tar::Builder::new(encoder);
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, "manifest.json", json.as_slice())?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, "index.redb", File::open(&index_path)?)?;
        let encoder = tar.into_inner()?;
        let mut writer = encoder.finish()?;
        writer.flush()?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(dest)(e));
    }
    std::fs::rename(&tmp, dest).map_err(io_err(dest))?;
    Ok(manifest)
}

fn hash_file(path: &Path) -> Result<(u64, String), DbError> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// Verifies the bundle at `path` and installs its index in `home`.
pub fn import(home: &Home, path: &Path) -> Result<BundleManifest, DbError> {
    let lock = home.lock()?;
    let file = File::open(path).map_err(io_err(path))?;
    let decoder = zstd::Decoder::new(BufReader::new(file))
        .map_err(|e| bundle_err(path, format!("not a zstd stream: {e}")))?;
    let mut archive = tar::Archive::new(decoder);
    let mut entries = archive
        .entries()
        .map_err(|e| bundle_err(path, format!("unreadable: {e}")))?;
    let mut next = |what: &str| -> Result<tar::Entry<'_, _>, DbError> {
        match entries.next() {
            Some(Ok(entry)) => Ok(entry),
            Some(Err(e)) => Err(bundle_err(path, format!("corrupt before {what}: {e}"))),
            None => Err(bundle_err(path, format!("{what} is missing"))),
        }
    };
    let mut first = next("manifest.json")?;
    if first.path().ok().as_deref() != Some(Path::new("manifest.json")) {
        return Err(bundle_err(
            path,
            "the first member is not manifest.json; this is not a portcullis bundle",
        ));
    }
    let mut json = Vec::new();
    (&mut first)
        .take(16 << 20)
        .read_to_end(&mut json)
        .map_err(|e| bundle_err(path, format!("corrupt manifest: {e}")))?;
    let manifest: BundleManifest = serde_json::from_slice(&json)
        .map_err(|e| bundle_err(path, format!("manifest.json: {e}")))?;
    if manifest.format != BUNDLE_FORMAT {
        return Err(bundle_err(
            path,
            format!("format {:?} is not {BUNDLE_FORMAT:?}", manifest.format),
        ));
    }
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(bundle_err(
            path,
            format!(
                "index schema version {} cannot be read by this portcullis (version {SCHEMA_VERSION}); export it with a matching portcullis",
                manifest.schema_version
            ),
        ));
    }
    let mut entry = next("index.redb")?;
    if entry.path().ok().as_deref() != Some(Path::new("index.redb")) {
        return Err(bundle_err(path, "the second member is not index.redb"));
    }
    let tmp = home.temp_index_path(&lock);
    let checked = (|| -> Result<(), DbError> {
        let mut out = BufWriter::new(File::create(&tmp).map_err(io_err(&tmp))?);
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| bundle_err(path, format!("corrupt index data: {e}")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > manifest.index_bytes {
                return Err(bundle_err(
                    path,
                    "the index is larger than the manifest says",
                ));
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io_err(&tmp))?;
        }
        let file = out.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
        file.sync_all().map_err(io_err(&tmp))?;
        let sha = hex::encode(hasher.finalize());
        if total != manifest.index_bytes || sha != manifest.index_sha256 {
            return Err(bundle_err(
                path,
                format!(
                    "the index is {total} bytes with SHA-256 {sha}, the manifest says {} bytes with {}",
                    manifest.index_bytes, manifest.index_sha256
                ),
            ));
        }
        let index = Index::open(&tmp)?;
        if index.manifest() != &manifest.index {
            return Err(bundle_err(
                path,
                "the index's own manifest differs from the bundle's",
            ));
        }
        Ok(())
    })();
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    home.install(&lock, &tmp)?;
    Ok(manifest)
}
