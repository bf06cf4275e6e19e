//! A docker-archive's tar, indexed in place: one pass over the entry headers (entry data
//! is skipped by seeking, never extracted; no entry name ever becomes a path on disk),
//! then entries read as byte ranges. A gzip- or zstd-compressed archive is first
//! decompressed once into a temporary file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use portcullis_types::Digest;
use sha2::{Digest as _, Sha256};

use super::PushError;

/// Bound on `manifest.json` and the image config.
const MAX_METADATA: u64 = 4 * 1024 * 1024;
const MAX_LINK_HOPS: usize = 8;
const BUFFER: usize = 1024 * 1024;

#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) offset: u64,
    pub(super) size: u64,
    /// Normalised target of a symlink or hardlink.
    link: Option<String>,
}

/// The archive as indexed: `data` is the plain tar (the file itself, or its decompressed
/// copy); errors name `path`, the file the user gave.
pub(super) struct Archive<'a> {
    path: &'a Path,
    pub(super) data: PathBuf,
    entries: BTreeMap<String, Entry>,
}

/// A temporary plain copy of a gzip- or zstd-compressed archive; `None` for a plain one.
pub(super) fn decompressed(path: &Path) -> Result<Option<tempfile::TempPath>, PushError> {
    let read_error = |source| PushError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let mut magic = [0u8; 6];
    let mut filled = 0;
    while filled < magic.len() {
        let n = file.read(&mut magic[filled..]).map_err(read_error)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    file.seek(SeekFrom::Start(0)).map_err(read_error)?;
    let input = BufReader::with_capacity(BUFFER, file);
    let mut decoder: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(
            zstd::stream::read::Decoder::with_buffer(input).map_err(|source| {
                PushError::CorruptArchive {
                    path: path.to_owned(),
                    source,
                }
            })?,
        )
    } else if magic.starts_with(b"BZh") {
        return Err(PushError::UnsupportedCompression {
            path: path.to_owned(),
            format: "bzip2",
        });
    } else if magic == [0xfd, b'7', b'z', b'X', b'Z', 0] {
        return Err(PushError::UnsupportedCompression {
            path: path.to_owned(),
            format: "xz",
        });
    } else {
        return Ok(None);
    };
    let mut scratch = tempfile::NamedTempFile::new().map_err(|source| PushError::Scratch {
        path: path.to_owned(),
        source,
    })?;
    io::copy(&mut decoder, scratch.as_file_mut()).map_err(|source| PushError::CorruptArchive {
        path: path.to_owned(),
        source,
    })?;
    Ok(Some(scratch.into_temp_path()))
}

impl<'a> Archive<'a> {
    pub(super) fn index(path: &'a Path, data: PathBuf) -> Result<Self, PushError> {
        let read_error = |source| PushError::Read {
            path: path.to_owned(),
            source,
        };
        let corrupt = |source| PushError::CorruptArchive {
            path: path.to_owned(),
            source,
        };
        let file = File::open(&data).map_err(read_error)?;
        let length = file.metadata().map_err(read_error)?.len();
        let mut tar = tar::Archive::new(BufReader::with_capacity(64 * 1024, file));
        let mut entries = BTreeMap::new();
        // Where the last entry's data (padded to a block) ends.
        let mut end = 0u64;
        // A tar is made of 512-byte blocks: a file that is not ends inside one.
        let broken = |source| {
            if length % 512 == 0 {
                corrupt(source)
            } else {
                PushError::TruncatedArchive {
                    path: path.to_owned(),
                    entry: "(a partial block)".to_owned(),
                }
            }
        };
        for entry in tar.entries_with_seek().map_err(corrupt)? {
            let entry = entry.map_err(broken)?;
            end = entry
                .raw_file_position()
                .saturating_add(entry.size().div_ceil(512).saturating_mul(512));
            let Some(name) = normalise(&String::from_utf8_lossy(&entry.path_bytes())) else {
                continue;
            };
            let kind = entry.header().entry_type();
            let link = match kind {
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let Some(target) = entry.link_name_bytes() else {
                        continue;
                    };
                    let target = String::from_utf8_lossy(&target).into_owned();
                    let joined = match (kind, name.rsplit_once('/')) {
                        (tar::EntryType::Symlink, Some((parent, _)))
                            if !target.starts_with('/') =>
                        {
                            format!("{parent}/{target}")
                        }
                        _ => target,
                    };
                    match normalise(&joined) {
                        Some(target) => Some(target),
                        None => continue,
                    }
                }
                _ if kind.is_file() => None,
                _ => continue,
            };
            let (offset, size) = (entry.raw_file_position(), entry.size());
            if link.is_none() && offset.saturating_add(size) > length {
                return Err(PushError::TruncatedArchive {
                    path: path.to_owned(),
                    entry: name,
                });
            }
            entries.insert(name, Entry { offset, size, link });
        }
        // A complete tar ends with zero blocks; without them the file was cut, maybe right
        // between two entries (where `manifest.json` usually is, last).
        if length < end.saturating_add(512) {
            return Err(PushError::TruncatedArchive {
                path: path.to_owned(),
                entry: "(end-of-archive marker)".to_owned(),
            });
        }
        Ok(Self {
            path,
            data,
            entries,
        })
    }

    pub(super) fn missing(&self, name: &str) -> PushError {
        PushError::MissingEntry {
            path: self.path.to_owned(),
            entry: name.to_owned(),
        }
    }

    /// The regular entry `name` names, following links inside the archive.
    pub(super) fn lookup(&self, name: &str) -> Result<Entry, PushError> {
        let mut current = normalise(name).ok_or_else(|| self.missing(name))?;
        for _ in 0..MAX_LINK_HOPS {
            let entry = self
                .entries
                .get(&current)
                .ok_or_else(|| self.missing(name))?;
            match &entry.link {
                Some(target) => current = target.clone(),
                None => return Ok(entry.clone()),
            }
        }
        Err(self.missing(name))
    }

    fn open(&self, entry: &Entry) -> Result<io::Take<BufReader<File>>, PushError> {
        let read_error = |source| PushError::Read {
            path: self.path.to_owned(),
            source,
        };
        let mut file = File::open(&self.data).map_err(read_error)?;
        file.seek(SeekFrom::Start(entry.offset))
            .map_err(read_error)?;
        Ok(BufReader::with_capacity(BUFFER, file).take(entry.size))
    }

    /// A small entry's bytes, or `None` when the archive has no such entry.
    pub(super) fn read_small(&self, name: &str) -> Result<Option<Vec<u8>>, PushError> {
        let entry = match self.lookup(name) {
            Ok(entry) => entry,
            Err(PushError::MissingEntry { .. }) => return Ok(None),
            Err(other) => return Err(other),
        };
        if entry.size > MAX_METADATA {
            return Err(PushError::TooLarge {
                path: self.path.join(name),
                what: "docker-archive manifest.json or image config",
                limit: MAX_METADATA,
            });
        }
        let mut bytes = Vec::new();
        self.open(&entry)?
            .read_to_end(&mut bytes)
            .map_err(|source| PushError::Read {
                path: self.path.to_owned(),
                source,
            })?;
        if bytes.len() as u64 != entry.size {
            return Err(self.truncated(name));
        }
        Ok(Some(bytes))
    }

    fn truncated(&self, name: &str) -> PushError {
        PushError::TruncatedArchive {
            path: self.path.to_owned(),
            entry: name.to_owned(),
        }
    }

    /// The sha256 of a layer entry and its media type, by the compression it starts with.
    pub(super) fn hash(
        &self,
        name: &str,
        entry: &Entry,
    ) -> Result<(Digest, &'static str), PushError> {
        let mut reader = self.open(entry)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; BUFFER];
        let mut magic = Vec::with_capacity(4);
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(PushError::Read {
                        path: self.path.to_owned(),
                        source,
                    });
                }
            };
            let chunk = buffer.get(..n).unwrap_or_default();
            if magic.len() < 4 {
                let take = (4 - magic.len()).min(n);
                magic.extend_from_slice(chunk.get(..take).unwrap_or_default());
            }
            hasher.update(chunk);
            total += n as u64;
        }
        if total != entry.size {
            return Err(self.truncated(name));
        }
        let media_type = if magic.starts_with(&[0x1f, 0x8b]) {
            "application/vnd.oci.image.layer.v1.tar+gzip"
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            "application/vnd.oci.image.layer.v1.tar+zstd"
        } else {
            "application/vnd.oci.image.layer.v1.tar"
        };
        Ok((
            Digest::sha256_from_bytes(hasher.finalize().into()),
            media_type,
        ))
    }
}

/// `./a//b/./c` → `a/b/c`; `None` for the root or a name climbing above it.
fn normalise(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_normalised_and_confined() {
        assert_eq!(normalise("./a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(normalise("a/../b").as_deref(), Some("b"));
        assert_eq!(normalise("../etc/passwd"), None);
        assert_eq!(normalise("/"), None);
        assert_eq!(
            normalise("/manifest.json").as_deref(),
            Some("manifest.json")
        );
    }
}
