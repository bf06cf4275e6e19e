//! Decoding one layer: stored bytes → (sniffed) decompression → tar entries.
//!
//! A layer is walked as a stream, never extracted. Every byte read is hashed twice on
//! the way: the stored bytes against the blob digest and the uncompressed bytes against
//! the config's `diff_id`; both streams are read to their very end so that the digests
//! cover trailers and padding. Limits are checked while streaming.

mod budget;
mod gzip;
mod stream;

use std::cell::Cell;
use std::io::{self, BufReader, Read};
use std::sync::{Arc, mpsc};

use portcullis_types::Digest;

use crate::entry_path::{self, normalise_entry};
use crate::select::{EntryInfo, Selection, Selector, Summarizer};
pub(crate) use budget::{Budget, Limit};
pub(crate) use stream::hash_stored;
use stream::{Chunk, Compression, Feed, PlainChunks, StoredCounter, Which};

/// What the reader knows about a layer before reading it.
#[derive(Clone, Debug)]
pub(crate) struct LayerSpec {
    /// The digest of the stored blob, when the source has one to check.
    pub stored_digest: Option<Digest>,
    /// Expected size of the stored blob, when the source states it.
    pub stored_size: Option<u64>,
    pub diff_id: Digest,
}

impl LayerSpec {
    /// The digest that names the layer in messages.
    pub(crate) fn name(&self) -> &Digest {
        self.stored_digest.as_ref().unwrap_or(&self.diff_id)
    }
}

/// One tar entry, normalised.
#[derive(Clone, Debug)]
pub(crate) struct LayerEntry {
    pub path: String,
    pub kind: EntryKind,
    pub mode: u32,
    pub size: u64,
    pub content: Option<Arc<[u8]>>,
    /// Whether the selector selected the file or hardlink (to keep or to summarize).
    pub wanted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Dir,
    Symlink(String),
    /// Target as a normalised absolute path.
    Hardlink(String),
    Other,
}

/// A whiteout: `name: Some` deletes `dir/name`, `None` makes `dir` opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Whiteout {
    pub dir: String,
    pub name: Option<String>,
}

/// The digests of a layer read to its end and checked: the sha256 of the bytes as
/// stored (whether or not the source named it) and of the uncompressed tar, which
/// equals the config's diff_id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VerifiedDigests {
    pub stored: Digest,
    pub diff_id: Digest,
}

/// Everything a layer contributes to the merged tree, in tar order.
#[derive(Debug, Default)]
pub(crate) struct LayerContents {
    pub entries: Vec<LayerEntry>,
    pub whiteouts: Vec<Whiteout>,
}

/// Why a layer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("failed to read layer {layer} `{digest}`")]
    Read {
        layer: usize,
        digest: Digest,
        #[source]
        source: io::Error,
    },
    #[error(
        "layer {layer} `{digest}` is compressed with {format}, which is not supported; only gzip, zstd and uncompressed layers are"
    )]
    UnsupportedCompression {
        layer: usize,
        digest: Digest,
        format: &'static str,
    },
    #[error("layer {layer} `{digest}` is not a valid {what}")]
    Corrupt {
        layer: usize,
        digest: Digest,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "layer {layer} blob `{expected}` does not match its content: the stored bytes hash to `{actual}`"
    )]
    DigestMismatch {
        layer: usize,
        expected: Digest,
        actual: Digest,
    },
    #[error("layer {layer} `{digest}` is {actual} bytes long but its descriptor says {expected}")]
    SizeMismatch {
        layer: usize,
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error(
        "layer {layer} `{digest}` uncompresses to `{actual}`, but the image config lists diff_id `{expected}`"
    )]
    DiffIdMismatch {
        layer: usize,
        digest: Digest,
        expected: Digest,
        actual: Digest,
    },
    #[error(
        "layer {layer} `{digest}` has an entry `{path}` that climbs above the image root; the layer is refused"
    )]
    EscapesRoot {
        layer: usize,
        digest: Digest,
        path: String,
    },
    #[error(
        "layer {layer} `{digest}` has a hardlink `{path}` whose target `{target}` climbs above the image root; the layer is refused"
    )]
    HardlinkEscapesRoot {
        layer: usize,
        digest: Digest,
        path: String,
        target: String,
    },
    #[error(
        "layer {layer} `{digest}` exceeds the limit `{limit}` ({value}){detail}; raise `{limit}` if the image is trusted"
    )]
    LimitExceeded {
        layer: usize,
        digest: Digest,
        limit: &'static str,
        value: u64,
        detail: String,
    },
    /// Another layer failed first; this one stopped early.
    #[error("reading layer {layer} was cancelled because another layer failed")]
    Cancelled { layer: usize },
}

impl LayerError {
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self, LayerError::Cancelled { .. })
    }
}

/// Reads a layer to its end, keeping content only for wanted files.
pub(crate) struct LayerReader<'a> {
    pub index: usize,
    pub spec: &'a LayerSpec,
    pub selector: &'a dyn Selector,
    pub budget: &'a Budget<'a>,
    pub progress: &'a dyn crate::Progress,
}

const BUFFER: usize = 256 * 1024;
/// Chunks in flight to the hashing thread (each up to `stream::CHUNK` bytes).
const HASH_QUEUE: usize = 16;

/// The outcome of streaming a layer, before its digests are known.
struct Streamed {
    contents: Result<LayerContents, LayerError>,
    stored_size: io::Result<u64>,
    /// Whether the stored stream was read to its end (so its digest means something).
    drained: bool,
    /// The layer was not compressed: its diff_id is its stored digest.
    uncompressed: bool,
}

impl LayerReader<'_> {
    /// Reads the layer; the two digests are computed on a helper thread fed with copies
    /// of the bytes, so that hashing overlaps decompression instead of adding to it.
    ///
    /// `Ok` only once both digests are verified (the stored one when the source knows
    /// it, the diff_id always); the digests come back with the contents, as computed.
    pub(crate) fn read(
        &self,
        reader: impl Read,
    ) -> Result<(LayerContents, VerifiedDigests), LayerError> {
        let (sender, receiver) = mpsc::sync_channel(HASH_QUEUE);
        let (recycle, recycled) = mpsc::channel();
        std::thread::scope(|scope| {
            let hasher = scope.spawn(move || stream::hash_chunks(&receiver, &recycle));
            let streamed = self.stream(reader, sender, recycled);
            let digests = hasher
                .join()
                .map_err(|_| self.io_error(io::Error::other("the hashing thread failed")))?;
            self.verify(streamed, digests)
        })
    }

    fn stream(
        &self,
        reader: impl Read,
        sender: mpsc::SyncSender<Chunk>,
        recycled: mpsc::Receiver<Vec<u8>>,
    ) -> Streamed {
        let mut stored = StoredCounter::new(
            reader,
            Feed::new(sender.clone(), Which::Stored),
            self.progress,
        );
        let limit_hit = Cell::new(None);
        let uncompressed = Cell::new(false);
        let walked = self.walk(&mut stored, &limit_hit, &uncompressed, sender, recycled);
        let uncompressed = uncompressed.get();
        match walked {
            Ok(contents) => Streamed {
                contents: Ok(contents),
                stored_size: stored.finish_draining(u64::MAX),
                drained: true,
                uncompressed,
            },
            Err(err) => {
                // A corrupt stream is most often a corrupt blob: drain it (no further than
                // its declared size) to tell. Other errors stop at once: a bomb or a
                // hostile registry must not be read to its end.
                let diagnose =
                    matches!(err, LayerError::Corrupt { .. }) && self.spec.stored_digest.is_some();
                match self.spec.stored_size.filter(|_| diagnose) {
                    Some(size) => Streamed {
                        contents: Err(err),
                        stored_size: stored.finish_draining(size),
                        drained: true,
                        uncompressed,
                    },
                    None => Streamed {
                        contents: Err(err),
                        stored_size: Ok(0),
                        drained: false,
                        uncompressed,
                    },
                }
            }
        }
    }

    fn verify(
        &self,
        streamed: Streamed,
        (stored_digest, diff_id): (Digest, Digest),
    ) -> Result<(LayerContents, VerifiedDigests), LayerError> {
        let Streamed {
            contents,
            stored_size,
            drained,
            uncompressed,
        } = streamed;
        let diff_id = if uncompressed {
            stored_digest.clone()
        } else {
            diff_id
        };
        let contents = match contents {
            Ok(contents) => contents,
            Err(err) => {
                if let Some(expected) = &self.spec.stored_digest
                    && drained
                    && stored_size.is_ok()
                    && *expected != stored_digest
                {
                    return Err(LayerError::DigestMismatch {
                        layer: self.index,
                        expected: expected.clone(),
                        actual: stored_digest,
                    });
                }
                return Err(err);
            }
        };
        let stored_size = stored_size.map_err(|e| self.io_error(e))?;
        if let Some(expected) = &self.spec.stored_digest
            && *expected != stored_digest
        {
            return Err(LayerError::DigestMismatch {
                layer: self.index,
                expected: expected.clone(),
                actual: stored_digest,
            });
        }
        if let Some(expected) = self.spec.stored_size
            && expected != stored_size
        {
            return Err(LayerError::SizeMismatch {
                layer: self.index,
                digest: self.spec.name().clone(),
                expected,
                actual: stored_size,
            });
        }
        if diff_id != self.spec.diff_id {
            return Err(LayerError::DiffIdMismatch {
                layer: self.index,
                digest: self.spec.name().clone(),
                expected: self.spec.diff_id.clone(),
                actual: diff_id,
            });
        }
        Ok((
            contents,
            VerifiedDigests {
                stored: stored_digest,
                diff_id,
            },
        ))
    }

    fn walk<R: Read>(
        &self,
        stored: &mut StoredCounter<'_, R>,
        limit_hit: &Cell<Option<Limit>>,
        uncompressed: &Cell<bool>,
        sender: mpsc::SyncSender<Chunk>,
        recycled: mpsc::Receiver<Vec<u8>>,
    ) -> Result<LayerContents, LayerError> {
        let mut head = [0u8; 6];
        let head_len = read_up_to(stored, &mut head).map_err(|e| self.io_error(e))?;
        let head = head.get(..head_len).unwrap_or(&[]);
        let compression =
            Compression::sniff(head).map_err(|format| LayerError::UnsupportedCompression {
                layer: self.index,
                digest: self.spec.name().clone(),
                format,
            })?;
        let input = BufReader::with_capacity(BUFFER, io::Cursor::new(head.to_vec()).chain(stored));
        let decoder: Box<dyn Read + '_> = match compression {
            Compression::Gzip => {
                Box::new(gzip::GzipMembers::new(input).map_err(|e| self.corrupt("gzip stream", e))?)
            }
            Compression::Zstd => Box::new(
                zstd::Decoder::with_buffer(input).map_err(|e| self.corrupt("zstd stream", e))?,
            ),
            Compression::None => Box::new(input),
        };
        uncompressed.set(compression == Compression::None);
        let mut plain = PlainChunks::new(
            decoder,
            sender,
            recycled,
            compression != Compression::None,
            self.budget,
            limit_hit,
        );
        let what = compression.stream_name();
        let contents = self
            .entries(&mut plain)
            .map_err(|e| self.classify(e, limit_hit, what))?;
        // Tar trailers and padding belong to the diff_id too.
        io::copy(&mut plain, &mut io::sink())
            .map_err(|e| self.classify(e.into(), limit_hit, what))?;
        Ok(contents)
    }

    fn entries(&self, plain: &mut impl Read) -> Result<LayerContents, WalkError> {
        let mut archive = tar::Archive::new(plain);
        let mut contents = LayerContents::default();
        let mut skip_buffer = vec![0u8; BUFFER];
        for entry in archive.entries().map_err(WalkError::Tar)? {
            let mut entry = entry.map_err(WalkError::Tar)?;
            let entry_type = entry.header().entry_type();
            if matches!(
                entry_type,
                tar::EntryType::XGlobalHeader
                    | tar::EntryType::XHeader
                    | tar::EntryType::GNULongName
                    | tar::EntryType::GNULongLink
            ) {
                continue;
            }
            let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            self.budget.count_entry().map_err(WalkError::Limit)?;
            let path = match normalise_entry(&raw_path) {
                Ok(Some(p)) => p,
                Ok(None) => continue, // the root directory itself
                Err(entry_path::EscapesRoot) => return Err(WalkError::Escapes(raw_path)),
            };
            if path.len() > self.budget.limits.max_path_len {
                return Err(WalkError::Limit(Limit::PathLen(path.len() as u64)));
            }
            let (dir, name) = entry_path::split_parent(&path);
            if let Some(hidden) = name.strip_prefix(".wh.") {
                if hidden == ".wh..opq" {
                    contents.whiteouts.push(Whiteout {
                        dir: dir.to_owned(),
                        name: None,
                    });
                } else if !hidden.starts_with(".wh.")
                    && !hidden.is_empty()
                    && hidden != "."
                    && hidden != ".."
                {
                    contents.whiteouts.push(Whiteout {
                        dir: dir.to_owned(),
                        name: Some(hidden.to_owned()),
                    });
                }
                // Other `.wh..wh.*` names are aufs bookkeeping, never content.
                continue;
            }
            let mode = entry.header().mode().unwrap_or(0o644);
            let size = entry.size();
            let mut wanted = false;
            let mut content = None;
            let kind = match entry_type {
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => {
                    let selection = self.selector.select(&EntryInfo {
                        path: &path,
                        size,
                        mode,
                    });
                    wanted = !selection.is_skip();
                    match selection {
                        Selection::Keep => content = Some(self.retain(&mut entry, size)?),
                        // A file too big to hold for summarizing is passed over, as
                        // peers do, rather than failing the whole image.
                        Selection::Summarize(summarize)
                            if size <= self.budget.limits.max_retained_file_bytes =>
                        {
                            content = self.summarize(&mut entry, &path, size, summarize)?;
                        }
                        _ => {
                            // Skip with a big buffer: tar's own skip reads 8 KiB at a time.
                            while entry.read(&mut skip_buffer).map_err(WalkError::Io)? > 0 {}
                        }
                    }
                    EntryKind::File
                }
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => {
                    let target = entry.link_name_bytes().unwrap_or_default();
                    EntryKind::Symlink(String::from_utf8_lossy(&target).into_owned())
                }
                tar::EntryType::Link => {
                    let raw = entry.link_name_bytes().unwrap_or_default();
                    let raw = String::from_utf8_lossy(&raw).into_owned();
                    match normalise_entry(&raw) {
                        Ok(Some(target)) => {
                            wanted = !self
                                .selector
                                .select(&EntryInfo {
                                    path: &path,
                                    size,
                                    mode,
                                })
                                .is_skip();
                            EntryKind::Hardlink(target)
                        }
                        _ => return Err(WalkError::HardlinkEscapes(path, raw)),
                    }
                }
                _ => EntryKind::Other,
            };
            contents.entries.push(LayerEntry {
                path,
                kind,
                mode,
                size,
                content,
                wanted,
            });
        }
        Ok(contents)
    }

    /// Reads a file into a transient buffer, keeps only its summary (counted against the
    /// retained-bytes budget) and drops the bytes.
    fn summarize(
        &self,
        entry: &mut impl Read,
        path: &str,
        size: u64,
        summarize: Summarizer,
    ) -> Result<Option<Arc<[u8]>>, WalkError> {
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .take(size)
            .read_to_end(&mut buf)
            .map_err(WalkError::Io)?;
        let Some(summary) = summarize(path, &buf) else {
            return Ok(None);
        };
        drop(buf);
        self.budget
            .reserve_retained(summary.len() as u64)
            .map_err(WalkError::Limit)?;
        Ok(Some(Arc::from(summary)))
    }

    fn retain(&self, entry: &mut impl Read, size: u64) -> Result<Arc<[u8]>, WalkError> {
        self.budget
            .reserve_retained(size)
            .map_err(WalkError::Limit)?;
        let cap = usize::try_from(size).unwrap_or(0).min(1 << 20);
        let mut buf = Vec::with_capacity(cap);
        // The header size is what we reserved; never keep more than that.
        entry
            .take(size)
            .read_to_end(&mut buf)
            .map_err(WalkError::Io)?;
        Ok(Arc::from(buf))
    }

    fn classify(
        &self,
        err: WalkError,
        limit_hit: &Cell<Option<Limit>>,
        what: &'static str,
    ) -> LayerError {
        if let Some(limit) = limit_hit.get() {
            return self.limit_error(limit);
        }
        if self.budget.is_cancelled() {
            return LayerError::Cancelled { layer: self.index };
        }
        let digest = self.spec.name().clone();
        match err {
            WalkError::Limit(limit) => self.limit_error(limit),
            WalkError::Escapes(path) => LayerError::EscapesRoot {
                layer: self.index,
                digest,
                path,
            },
            WalkError::HardlinkEscapes(path, target) => LayerError::HardlinkEscapesRoot {
                layer: self.index,
                digest,
                path,
                target,
            },
            WalkError::Tar(source) | WalkError::Io(source) => self.corrupt(what, source),
        }
    }

    fn limit_error(&self, limit: Limit) -> LayerError {
        let (name, value, detail) = limit.describe(self.budget.limits);
        LayerError::LimitExceeded {
            layer: self.index,
            digest: self.spec.name().clone(),
            limit: name,
            value,
            detail,
        }
    }

    fn corrupt(&self, what: &'static str, source: io::Error) -> LayerError {
        LayerError::Corrupt {
            layer: self.index,
            digest: self.spec.name().clone(),
            what,
            source,
        }
    }

    fn io_error(&self, source: io::Error) -> LayerError {
        LayerError::Read {
            layer: self.index,
            digest: self.spec.name().clone(),
            source,
        }
    }
}

#[derive(Debug)]
enum WalkError {
    Tar(io::Error),
    Io(io::Error),
    Limit(Limit),
    Escapes(String),
    HardlinkEscapes(String, String),
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            break;
        };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
