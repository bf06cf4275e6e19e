//! Reading a local source: a directory of feed files, a `.zip` (osv.dev's
//! `all.zip`), a tarball (`.tar`, `.tar.gz`, `.tgz`, `.tar.zst`) or a single
//! file, gzip'd or not. Every file is recognised by its content
//! ([`crate::detect`]) and parsed; files that are no feed (READMEs, licences,
//! scripts) are counted as ignored.
//!
//! Limits guard against decompression bombs and runaway inputs: a file that
//! decompresses past [`ReadLimits::max_file_bytes`] or a source past
//! [`ReadLimits::max_total_bytes`] is an error naming it.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

use crate::feed::{self, FeedKind, Parsed};

/// Limits on what one source may decompress to.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// One file, decompressed (default 2 GiB: NVD's largest yearly feed is a few hundred MiB).
    pub max_file_bytes: u64,
    /// All files of a source together (default 16 GiB).
    pub max_total_bytes: u64,
    /// Files in a source (default 2 million).
    pub max_files: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_file_bytes: 2 << 30,
            max_total_bytes: 16 << 30,
            max_files: 2_000_000,
        }
    }
}

/// Why a source could not be read at all (as opposed to a record being skipped).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read or write `{path}`")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a valid zip archive: {reason}")]
    Zip { path: String, reason: String },
    #[error(
        "{path}: {what} exceeds the limit of {limit} bytes; if this is a real feed, raise the limit (--max-feed-bytes)"
    )]
    TooLarge {
        path: String,
        what: String,
        limit: u64,
    },
    #[error("{path}: more than {limit} files; raise the limit if this is a real feed")]
    TooManyFiles { path: String, limit: u64 },
}

/// What reading a source yields.
#[derive(Debug, Default)]
pub struct SourceRead {
    pub parsed: Parsed,
    /// Files recognised, by format.
    pub formats: BTreeMap<FeedKind, u64>,
    /// Files that are not feed files.
    pub ignored: u64,
}

fn io_err(path: &str) -> impl Fn(std::io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads every feed file under `path` for the source named `name`, parsing
/// on `threads` threads.
pub fn read_source(
    name: &str,
    path: &Path,
    limits: &ReadLimits,
    threads: usize,
) -> Result<SourceRead, SourceError> {
    let (sender, receiver) = mpsc::sync_channel::<(String, Vec<u8>)>(threads * 4);
    let receiver = Mutex::new(receiver);
    let threads = threads.max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = SourceRead::default();
                    loop {
                        let next = match receiver.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok((file, bytes)) = next else { break };
                        match feed::detect(&file, &bytes) {
                            Some(kind) => {
                                *out.formats.entry(kind).or_default() += 1;
                                feed::parse(kind, name, &file, &bytes, &mut out.parsed);
                            }
                            None => out.ignored += 1,
                        }
                    }
                    out
                })
            })
            .collect();
        let mut walker = Walker {
            limits,
            total: 0,
            files: 0,
            sink: &sender,
        };
        let walked = walker.walk(path);
        drop(sender);
        let mut all = SourceRead::default();
        for worker in workers {
            // A parser panic is a bug; surface it rather than lose data silently.
            let part = match worker.join() {
                Ok(part) => part,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            merge_read(&mut all, part);
        }
        walked.map(|()| all)
    })
}

fn merge_read(all: &mut SourceRead, part: SourceRead) {
    let SourceRead {
        parsed,
        formats,
        ignored,
    } = part;
    all.ignored += ignored;
    for (k, v) in formats {
        *all.formats.entry(k).or_default() += v;
    }
    all.parsed.absorb(parsed);
}

struct Walker<'a> {
    limits: &'a ReadLimits,
    total: u64,
    files: u64,
    sink: &'a mpsc::SyncSender<(String, Vec<u8>)>,
}

impl Walker<'_> {
    fn walk(&mut self, path: &Path) -> Result<(), SourceError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(io_err(&shown))?;
        if meta.is_dir() {
            return self.walk_dir(path, path);
        }
        let mut file = File::open(path).map_err(io_err(&shown))?;
        let mut magic = [0u8; 6];
        let n = read_up_to(&mut file, &mut magic).map_err(io_err(&shown))?;
        let magic = &magic[..n];
        drop(file);
        let lower = shown.to_ascii_lowercase();
        if magic.starts_with(b"PK\x03\x04") || magic.starts_with(b"PK\x05\x06") {
            return self.walk_zip(path);
        }
        let file = BufReader::new(File::open(path).map_err(io_err(&shown))?);
        let decoded: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Box::new(zstd::Decoder::with_buffer(file).map_err(io_err(&shown))?)
        } else {
            Box::new(file)
        };
        let is_tar = lower.ends_with(".tar")
            || lower.ends_with(".tar.gz")
            || lower.ends_with(".tgz")
            || lower.ends_with(".tar.zst");
        if is_tar {
            return self.walk_tar(&shown, decoded);
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown.clone());
        let name = strip_compression_suffix(&name);
        let bytes = self.read_limited(&shown, decoded)?;
        self.emit(name, bytes)
    }

    fn emit(&mut self, name: String, bytes: Vec<u8>) -> Result<(), SourceError> {
        self.files += 1;
        if self.files > self.limits.max_files {
            return Err(SourceError::TooManyFiles {
                path: name,
                limit: self.limits.max_files,
            });
        }
        // The receivers only stop when the sender is dropped; a send error
        // means every worker is gone, which join reports.
        let _ = self.sink.send((name, bytes));
        Ok(())
    }

    fn read_limited(&mut self, shown: &str, reader: impl Read) -> Result<Vec<u8>, SourceError> {
        let limit = self.limits.max_file_bytes;
        let mut bytes = Vec::new();
        reader
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err(shown))?;
        if bytes.len() as u64 > limit {
            return Err(SourceError::TooLarge {
                path: shown.to_owned(),
                what: "the file, decompressed,".into(),
                limit,
            });
        }
        self.total += bytes.len() as u64;
        if self.total > self.limits.max_total_bytes {
            return Err(SourceError::TooLarge {
                path: shown.to_owned(),
                what: "the source, decompressed,".into(),
                limit: self.limits.max_total_bytes,
            });
        }
        // A gzip'd file inside an archive (EPSS, NVD feeds in a mirror tarball).
        if bytes.starts_with(&[0x1f, 0x8b]) {
            let inner = flate2::read::MultiGzDecoder::new(bytes.as_slice());
            let mut out = Vec::new();
            inner
                .take(limit + 1)
                .read_to_end(&mut out)
                .map_err(io_err(shown))?;
            if out.len() as u64 > limit {
                return Err(SourceError::TooLarge {
                    path: shown.to_owned(),
                    what: "the file, decompressed,".into(),
                    limit,
                });
            }
            self.total += out.len() as u64;
            return Ok(out);
        }
        Ok(bytes)
    }

    fn walk_dir(&mut self, root: &Path, dir: &Path) -> Result<(), SourceError> {
        let shown = dir.display().to_string();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_err(&shown))?
            .collect::<Result<_, _>>()
            .map_err(io_err(&shown))?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue; // .git, editor files, our own .meta.json files
            }
            let path = entry.path();
            let file_type = entry.file_type().map_err(io_err(&shown))?;
            if file_type.is_dir() {
                self.walk_dir(root, &path)?;
            } else if file_type.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                let lower = rel.to_ascii_lowercase();
                let nested_archive = lower.ends_with(".zip")
                    || lower.ends_with(".tar.gz")
                    || lower.ends_with(".tgz")
                    || lower.ends_with(".tar.zst")
                    || lower.ends_with(".tar");
                if nested_archive {
                    self.walk(&path)?;
                    continue;
                }
                let p = path.display().to_string();
                let file = File::open(&path).map_err(io_err(&p))?;
                let bytes = self.read_limited(&p, file)?;
                self.emit(strip_compression_suffix(&rel), bytes)?;
            }
            // Symlinks are not followed: a feed directory has none, and
            // following them could loop or leave the source.
        }
        Ok(())
    }

    fn walk_tar(&mut self, shown: &str, reader: Box<dyn Read>) -> Result<(), SourceError> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(io_err(shown))? {
            let entry = entry.map_err(io_err(shown))?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .map_err(io_err(shown))?;
            if name
                .split('/')
                .any(|part| part.starts_with('.') && part.len() > 1)
            {
                continue;
            }
            let what = format!("{shown}: {name}");
            let bytes = self.read_limited(&what, entry)?;
            self.emit(strip_compression_suffix(&name), bytes)?;
        }
        Ok(())
    }

    fn walk_zip(&mut self, path: &Path) -> Result<(), SourceError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(io_err(&shown))?;
        let mut archive =
            zip::ZipArchive::new(BufReader::new(file)).map_err(|e| SourceError::Zip {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        for i in 0..archive.len() {
            let entry = archive.by_index(i).map_err(|e| SourceError::Zip {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            if !entry.is_file() {
                continue;
            }
            let name = entry
                .name()
                .map_err(|e| SourceError::Zip {
                    path: shown.clone(),
                    reason: e.to_string(),
                })?
                .into_owned();
            // The declared size is checked before inflating, the actual one while inflating.
            if entry.size() > self.limits.max_file_bytes {
                return Err(SourceError::TooLarge {
                    path: format!("{shown}: {name}"),
                    what: "the file, decompressed,".into(),
                    limit: self.limits.max_file_bytes,
                });
            }
            let what = format!("{shown}: {name}");
            let bytes = self.read_limited(&what, entry)?;
            self.emit(strip_compression_suffix(&name), bytes)?;
        }
        Ok(())
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn strip_compression_suffix(name: &str) -> String {
    name.strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(name)
        .to_owned()
}
