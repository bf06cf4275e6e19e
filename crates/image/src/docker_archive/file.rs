//! A tar file read in place: entries indexed once by offset, then read as byte ranges.
//!
//! A plain tar is seekable, so any entry can be read at any time from any thread. A
//! gzip-compressed tar is one stream: entries are read through a single decoder that
//! only moves forward (restarting from the beginning when asked to go back), so its
//! layers are read one at a time in archive order. Small entries (JSON documents) are
//! kept from the indexing pass so that they never need a second decompression.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use flate2::read::MultiGzDecoder;

use super::ArchiveError;
use crate::entry_path::{child, normalise_entry, split_parent};

const BUFFER: usize = 256 * 1024;
const MAX_LINK_HOPS: usize = 8;

#[derive(Clone, Debug)]
struct Entry {
    offset: u64,
    size: u64,
    /// Normalised target of a symlink or hardlink entry.
    link: Option<String>,
}

/// The forward-only decoder of a gzip-compressed archive, and where it is.
struct GzCursor {
    decoder: MultiGzDecoder<BufReader<File>>,
    position: u64,
}

pub(crate) struct ArchiveFile {
    pub path: PathBuf,
    gzip: bool,
    entries: BTreeMap<String, Entry>,
    small: BTreeMap<String, Vec<u8>>,
    cursor: Mutex<Option<GzCursor>>,
    max_small: u64,
}

impl std::fmt::Debug for ArchiveFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveFile")
            .field("path", &self.path)
            .field("gzip", &self.gzip)
            .finish_non_exhaustive()
    }
}

impl ArchiveFile {
    /// Indexes the archive's entries; `max_metadata` bounds each kept small entry.
    pub(crate) fn open(path: &Path, max_metadata: u64) -> Result<Self, ArchiveError> {
        let io_err = |source| ArchiveError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let mut magic = [0u8; 2];
        let n = file.read(&mut magic).map_err(io_err)?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let gzip = n == 2 && magic == [0x1f, 0x8b];
        let mut archive = Self {
            path: path.to_owned(),
            gzip,
            entries: BTreeMap::new(),
            small: BTreeMap::new(),
            cursor: Mutex::new(None),
            max_small: max_metadata.min(4 << 20),
        };
        let corrupt = |source| ArchiveError::Corrupt {
            path: path.to_owned(),
            source,
        };
        if gzip {
            let decoder = MultiGzDecoder::new(BufReader::with_capacity(BUFFER, file));
            let mut tar = tar::Archive::new(decoder);
            let budget = max_metadata.saturating_mul(4);
            let mut kept = 0u64;
            for entry in tar.entries().map_err(corrupt)? {
                let mut entry = entry.map_err(corrupt)?;
                let Some((name, record)) = archive.record(&entry) else {
                    continue;
                };
                let regular = entry.header().entry_type().is_file();
                if regular && record.size <= archive.max_small && kept + record.size <= budget {
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes).map_err(corrupt)?;
                    kept += record.size;
                    archive.small.insert(name.clone(), bytes);
                }
                archive.entries.insert(name, record);
            }
        } else {
            let mut tar = tar::Archive::new(BufReader::with_capacity(BUFFER, file));
            for entry in tar.entries_with_seek().map_err(corrupt)? {
                let entry = entry.map_err(corrupt)?;
                if let Some((name, record)) = archive.record(&entry) {
                    archive.entries.insert(name, record);
                }
            }
        }
        Ok(archive)
    }

    fn record<R: Read>(&self, entry: &tar::Entry<'_, R>) -> Option<(String, Entry)> {
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = normalise_entry(&raw).ok().flatten()?;
        let kind = entry.header().entry_type();
        let link = match kind {
            tar::EntryType::Symlink => {
                let target = String::from_utf8_lossy(&entry.link_name_bytes()?).into_owned();
                let base = if target.starts_with('/') {
                    String::new()
                } else {
                    split_parent(&name).0.to_owned()
                };
                normalise_entry(&child(&base, &target)).ok().flatten()
            }
            tar::EntryType::Link => {
                normalise_entry(&String::from_utf8_lossy(&entry.link_name_bytes()?))
                    .ok()
                    .flatten()
            }
            _ => None,
        };
        Some((
            name,
            Entry {
                offset: entry.raw_file_position(),
                size: entry.size(),
                link,
            },
        ))
    }

    pub(crate) fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The entry at `name`, following links inside the archive.
    fn lookup(&self, name: &str) -> Option<&Entry> {
        let mut name = normalise_entry(name).ok().flatten()?;
        for _ in 0..MAX_LINK_HOPS {
            let entry = self.entries.get(&name)?;
            match &entry.link {
                Some(target) => name = target.clone(),
                None => return Some(entry),
            }
        }
        None
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.lookup(name).is_some()
    }

    /// Where entry `name` starts, to read layers of a compressed archive in order.
    pub(crate) fn offset(&self, name: &str) -> Option<u64> {
        self.lookup(name).map(|e| e.offset)
    }

    pub(crate) fn size(&self, name: &str) -> Option<u64> {
        self.lookup(name).map(|e| e.size)
    }

    /// Reads a small entry whole; `None` if it does not exist.
    pub(crate) fn read_small(
        &self,
        name: &str,
        limit: u64,
    ) -> Result<Option<Vec<u8>>, ArchiveError> {
        let Some(entry) = self.lookup(name) else {
            return Ok(None);
        };
        if entry.size > limit {
            return Err(ArchiveError::TooLarge {
                path: self.path.clone(),
                entry: name.to_owned(),
                limit,
            });
        }
        let key = normalise_entry(name).ok().flatten().unwrap_or_default();
        if let Some(bytes) = self.small.get(&key) {
            return Ok(Some(bytes.clone()));
        }
        let mut bytes = Vec::new();
        self.open_entry(name)?
            .read_to_end(&mut bytes)
            .map_err(|source| ArchiveError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(Some(bytes))
    }

    /// Streams entry `name`.
    pub(crate) fn open_entry(&self, name: &str) -> Result<Box<dyn Read + '_>, ArchiveError> {
        let entry = self
            .lookup(name)
            .ok_or_else(|| ArchiveError::MissingEntry {
                path: self.path.clone(),
                entry: name.to_owned(),
            })?;
        let io_err = |source| ArchiveError::Io {
            path: self.path.clone(),
            source,
        };
        if !self.gzip {
            let mut file = File::open(&self.path).map_err(io_err)?;
            file.seek(SeekFrom::Start(entry.offset)).map_err(io_err)?;
            return Ok(Box::new(BufReader::with_capacity(
                BUFFER,
                file.take(entry.size),
            )));
        }
        let mut slot = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let cursor = match slot.take() {
            Some(c) if c.position <= entry.offset => c,
            _ => {
                let file = File::open(&self.path).map_err(io_err)?;
                GzCursor {
                    decoder: MultiGzDecoder::new(BufReader::with_capacity(BUFFER, file)),
                    position: 0,
                }
            }
        };
        drop(slot);
        let mut reader = GzEntry {
            cursor: Some(cursor),
            remaining: entry.size,
            slot: &self.cursor,
        };
        reader.skip_to(entry.offset).map_err(io_err)?;
        Ok(Box::new(reader))
    }
}

/// Reads one entry of a gzip-compressed archive and gives the decoder back when done.
struct GzEntry<'a> {
    cursor: Option<GzCursor>,
    remaining: u64,
    slot: &'a Mutex<Option<GzCursor>>,
}

impl GzEntry<'_> {
    fn skip_to(&mut self, offset: u64) -> io::Result<()> {
        let Some(cursor) = self.cursor.as_mut() else {
            return Ok(());
        };
        let gap = offset.saturating_sub(cursor.position);
        let skipped = io::copy(&mut (&mut cursor.decoder).take(gap), &mut io::sink())?;
        cursor.position += skipped;
        if skipped < gap {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive ends before the entry",
            ));
        }
        Ok(())
    }
}

impl Read for GzEntry<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(cursor) = self.cursor.as_mut() else {
            return Ok(0);
        };
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let Some(window) = buf.get_mut(..want) else {
            return Ok(0);
        };
        if window.is_empty() {
            return Ok(0);
        }
        let n = cursor.decoder.read(window)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "archive ends inside an entry",
            ));
        }
        cursor.position += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

impl Drop for GzEntry<'_> {
    fn drop(&mut self) {
        if let Some(cursor) = self.cursor.take() {
            *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(cursor);
        }
    }
}
