//! [`LocalBlobs`]: blob storage in one local directory.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use portcullis_types::{BoxFuture, Digest};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncSeekExt;

use super::{BlobBackend, BlobError, BlobReader, ByteStream, check_upload_id};

/// Bytes buffered before each write system call (fsync happens only at commit).
const WRITE_BUFFER: usize = 1 << 20;
/// Chunks queued between the network and the writing thread.
const CHANNEL_DEPTH: usize = 16;
/// The default cap on one blob's size: 16 GiB.
pub const DEFAULT_MAX_BLOB_SIZE: u64 = 16 << 30;

/// Blob storage in one directory; clones share the directory and the running hashes.
#[derive(Clone, Debug)]
pub struct LocalBlobs {
    inner: Arc<Inner>,
    max_blob_size: u64,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    /// Per upload: a lock that serializes its chunks, over its running hash.
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<UploadState>>>>>,
    counter: AtomicU64,
}

/// The running hash of an upload and the number of bytes it has hashed.
#[derive(Clone, Debug)]
pub struct UploadState {
    hasher: Sha256,
    /// Bytes hashed so far (equal to the upload file's length when the state is current).
    pub len: u64,
}

fn io_error(operation: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BlobError {
    let path = path.to_owned();
    move |source| BlobError::Io {
        operation,
        path,
        source,
    }
}

async fn blocking<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BlobError::Io {
            operation: "finish a blocking task on",
            path: path.to_owned(),
            source: io::Error::other(e),
        })?
}

impl LocalBlobs {
    /// Opens (creating if needed) blob storage under `root`.
    pub async fn open(root: impl Into<PathBuf>) -> Result<Self, BlobError> {
        let root = root.into();
        for dir in [root.join("blobs").join("sha256"), root.join("uploads")] {
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(io_error("create the directory", &dir))?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                root,
                sessions: Mutex::new(HashMap::new()),
                counter: AtomicU64::new(0),
            }),
            max_blob_size: DEFAULT_MAX_BLOB_SIZE,
        })
    }

    /// The same storage, refusing blobs larger than `max` bytes (default 16 GiB).
    pub fn with_max_blob_size(mut self, max: u64) -> Self {
        self.max_blob_size = max;
        self
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Where committed blob `digest` lives (`ROOT/blobs/<algorithm>/<hex>`).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.inner
            .root
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex())
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.inner.root.join("uploads").join(id)
    }

    fn session(&self, id: &str) -> Arc<tokio::sync::Mutex<Option<UploadState>>> {
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.entry(id.to_owned()).or_default().clone()
    }

    fn forget(&self, id: &str) {
        let mut sessions = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.remove(id);
    }

    /// A fresh name for an internal upload (monolithic pushes, manifests), unique in this
    /// process; it has no session row, so clients cannot address it.
    pub fn internal_upload_id(&self) -> String {
        let n = self.inner.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("internal-{}-{nanos}-{n}", std::process::id())
    }

    /// The size of committed blob `digest`, or `None`.
    pub async fn stat(&self, digest: &Digest) -> Result<Option<u64>, BlobError> {
        let path = self.blob_path(digest);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(meta.len())),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read the metadata of", &path)(e)),
        }
    }

    /// Opens `[start, end)` of committed blob `digest` (`end` capped at its size).
    pub async fn open_read(
        &self,
        digest: &Digest,
        start: u64,
        end: Option<u64>,
    ) -> Result<Option<BlobReader>, BlobError> {
        let path = self.blob_path(digest);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("open", &path)(e)),
        };
        let size = file
            .metadata()
            .await
            .map_err(io_error("read the metadata of", &path))?
            .len();
        let end = end.unwrap_or(size).min(size);
        let start = start.min(end);
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(io_error("seek in", &path))?;
        }
        Ok(Some(BlobReader {
            file,
            len: end - start,
            size,
        }))
    }

    /// Starts an empty upload `id`.
    pub async fn begin_upload(&self, id: &str) -> Result<(), BlobError> {
        check_upload_id(id)?;
        let path = self.upload_path(id);
        tokio::fs::File::create(&path)
            .await
            .map_err(io_error("create the upload file", &path))?;
        *self.session(id).lock().await = Some(UploadState {
            hasher: Sha256::new(),
            len: 0,
        });
        Ok(())
    }

    /// The number of bytes upload `id` holds.
    pub async fn upload_len(&self, id: &str) -> Result<u64, BlobError> {
        check_upload_id(id)?;
        let path = self.upload_path(id);
        match tokio::fs::metadata(&path).await {
            Ok(meta) => Ok(meta.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(BlobError::UnknownUpload(id.to_owned()))
            }
            Err(e) => Err(io_error("read the metadata of", &path)(e)),
        }
    }

    /// Makes sure `state` hashes exactly the first `offset` bytes of upload `path`.
    ///
    /// With a current in-memory state, `offset` must equal its length (a racing chunk that
    /// already advanced it gets a mismatch). Without one (after a restart), the bytes past
    /// `offset` were never acknowledged and are cut off, and the rest is hashed again.
    async fn resume(
        &self,
        id: &str,
        path: &Path,
        state: &mut Option<UploadState>,
        offset: u64,
    ) -> Result<(), BlobError> {
        let file_len = self.upload_len(id).await?;
        if let Some(current) = state.as_ref() {
            if current.len == offset && file_len == offset {
                return Ok(());
            }
            if current.len != offset {
                return Err(BlobError::OffsetMismatch {
                    id: id.to_owned(),
                    expected: offset,
                    actual: current.len,
                });
            }
        }
        if file_len < offset {
            return Err(BlobError::OffsetMismatch {
                id: id.to_owned(),
                expected: offset,
                actual: file_len,
            });
        }
        let owned = path.to_owned();
        let rehashed = blocking(path, move || {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&owned)
                .map_err(io_error("open the upload file", &owned))?;
            file.set_len(offset)
                .map_err(io_error("truncate the upload file", &owned))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; WRITE_BUFFER];
            loop {
                let n = file
                    .read(&mut buf)
                    .map_err(io_error("read the upload file", &owned))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            Ok(UploadState {
                hasher,
                len: offset,
            })
        })
        .await?;
        *state = Some(rehashed);
        Ok(())
    }

    /// Appends `body` to upload `id`, which must hold `offset` bytes; returns the new length.
    /// If the body fails or the blob grows past the size limit, the upload is cut back to
    /// `offset`, so that it holds only whole acknowledged chunks.
    pub async fn append(&self, id: &str, offset: u64, body: ByteStream) -> Result<u64, BlobError> {
        check_upload_id(id)?;
        let path = self.upload_path(id);
        let session = self.session(id);
        let mut state = session.lock().await;
        self.resume(id, &path, &mut state, offset).await?;
        let Some(current) = state.take() else {
            return Err(BlobError::UnknownUpload(id.to_owned()));
        };
        match self.write_stream(id, &path, current, body).await {
            Ok(next) => {
                let len = next.len;
                *state = Some(next);
                Ok(len)
            }
            Err(err) => {
                // The hash consumed bytes that are now cut off: the next chunk re-hashes.
                let owned = path.clone();
                blocking(&path, move || {
                    OpenOptions::new()
                        .write(true)
                        .open(&owned)
                        .and_then(|f| f.set_len(offset))
                        .map_err(io_error("truncate the upload file", &owned))
                })
                .await?;
                Err(err)
            }
        }
    }

    async fn write_stream(
        &self,
        id: &str,
        path: &Path,
        state: UploadState,
        mut body: ByteStream,
    ) -> Result<UploadState, BlobError> {
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(CHANNEL_DEPTH);
        let owned = path.to_owned();
        let limit = self.max_blob_size;
        let writer_id = id.to_owned();
        // Hashing and writing run on a blocking thread while the next chunks arrive.
        let writer = tokio::task::spawn_blocking(move || -> Result<UploadState, BlobError> {
            let file = OpenOptions::new()
                .append(true)
                .open(&owned)
                .map_err(io_error("open the upload file", &owned))?;
            let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
            let mut state = state;
            while let Some(chunk) = receiver.blocking_recv() {
                if state.len.saturating_add(chunk.len() as u64) > limit {
                    return Err(BlobError::TooLarge {
                        id: writer_id,
                        limit,
                    });
                }
                out.write_all(&chunk)
                    .map_err(io_error("write the upload file", &owned))?;
                state.hasher.update(&chunk);
                state.len += chunk.len() as u64;
            }
            out.flush()
                .map_err(io_error("write the upload file", &owned))?;
            Ok(state)
        });
        let mut body_error = None;
        let mut received = 0u64;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(bytes) => {
                    received += bytes.len() as u64;
                    if sender.send(bytes).await.is_err() {
                        break; // the writer failed; its error is reported below
                    }
                }
                Err(source) => {
                    body_error = Some(source);
                    break;
                }
            }
        }
        drop(sender);
        let written = writer.await.map_err(|e| BlobError::Io {
            operation: "finish writing",
            path: path.to_owned(),
            source: io::Error::other(e),
        })??;
        match body_error {
            Some(source) => Err(BlobError::Body {
                id: id.to_owned(),
                received,
                source,
            }),
            None => Ok(written),
        }
    }

    /// Verifies upload `id` against `expected` and moves it into place; returns its size.
    pub async fn commit(&self, id: &str, expected: &Digest) -> Result<u64, BlobError> {
        check_upload_id(id)?;
        if !expected.is_sha256() {
            return Err(BlobError::UnsupportedAlgorithm(expected.clone()));
        }
        let path = self.upload_path(id);
        let session = self.session(id);
        let mut state = session.lock().await;
        let file_len = self.upload_len(id).await?;
        if state.as_ref().is_none_or(|s| s.len != file_len) {
            *state = None;
            self.resume(id, &path, &mut state, file_len).await?;
        }
        let Some(done) = state.take() else {
            return Err(BlobError::UnknownUpload(id.to_owned()));
        };
        let actual = Digest::sha256_from_bytes(done.hasher.finalize().into());
        if actual != *expected {
            drop(state);
            self.abort(id).await?;
            return Err(BlobError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        let target = self.blob_path(expected);
        let source = path.clone();
        blocking(&path, move || publish(&source, &target)).await?;
        drop(state);
        self.forget(id);
        Ok(done.len)
    }

    /// Discards upload `id` (absent is fine).
    pub async fn abort(&self, id: &str) -> Result<(), BlobError> {
        check_upload_id(id)?;
        let path = self.upload_path(id);
        self.forget(id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove the upload file", &path)(e)),
        }
    }

    /// Stores small `bytes` (a manifest) durably as committed blob `digest`.
    pub async fn put_bytes(&self, digest: &Digest, bytes: Bytes) -> Result<(), BlobError> {
        if !digest.is_sha256() {
            return Err(BlobError::UnsupportedAlgorithm(digest.clone()));
        }
        let actual = Digest::sha256_from_bytes(Sha256::digest(&bytes).into());
        if actual != *digest {
            return Err(BlobError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        if self.stat(digest).await? == Some(bytes.len() as u64) {
            return Ok(());
        }
        let temp = self.upload_path(&self.internal_upload_id());
        let target = self.blob_path(digest);
        blocking(&temp.clone(), move || {
            let mut file = File::create(&temp).map_err(io_error("create", &temp))?;
            file.write_all(&bytes).map_err(io_error("write", &temp))?;
            drop(file);
            publish(&temp, &target)
        })
        .await
    }

    /// Deletes committed blob `digest`; returns whether it existed.
    pub async fn delete(&self, digest: &Digest) -> Result<bool, BlobError> {
        let path = self.blob_path(digest);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("delete the blob", &path)(e)),
        }
    }

    /// Removes every upload file whose name is not in `keep` (the open sessions), as after
    /// a crash; returns the removed names, sorted. Call it before serving, not while
    /// internal uploads are running.
    pub async fn remove_uploads_except(
        &self,
        keep: &BTreeSet<String>,
    ) -> Result<Vec<String>, BlobError> {
        let dir = self.inner.root.join("uploads");
        let keep = keep.clone();
        let removed = blocking(&dir.clone(), move || {
            let mut removed = Vec::new();
            for entry in fs::read_dir(&dir).map_err(io_error("list", &dir))? {
                let entry = entry.map_err(io_error("list", &dir))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if keep.contains(&name) {
                    continue;
                }
                let path = entry.path();
                fs::remove_file(&path).map_err(io_error("remove the upload file", &path))?;
                removed.push(name);
            }
            removed.sort();
            Ok(removed)
        })
        .await?;
        for name in &removed {
            self.forget(name);
        }
        Ok(removed)
    }
}

/// fsyncs `source`, renames it to `target` and fsyncs the target's directory, so that the
/// blob is either wholly present under its name after a crash or absent.
fn publish(source: &Path, target: &Path) -> Result<(), BlobError> {
    File::open(source)
        .and_then(|f| f.sync_all())
        .map_err(io_error("fsync", source))?;
    let dir = target.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_error("create the directory", dir))?;
    fs::rename(source, target).map_err(io_error("move the blob into place at", target))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("fsync the directory", dir))
}

impl BlobBackend for LocalBlobs {
    fn stat<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        Box::pin(LocalBlobs::stat(self, digest))
    }
    fn open_read<'a>(
        &'a self,
        digest: &'a Digest,
        start: u64,
        end: Option<u64>,
    ) -> BoxFuture<'a, Result<Option<BlobReader>, BlobError>> {
        Box::pin(LocalBlobs::open_read(self, digest, start, end))
    }
    fn begin_upload<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(LocalBlobs::begin_upload(self, id))
    }
    fn append<'a>(
        &'a self,
        id: &'a str,
        offset: u64,
        body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, BlobError>> {
        Box::pin(LocalBlobs::append(self, id, offset, body))
    }
    fn upload_len<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<u64, BlobError>> {
        Box::pin(LocalBlobs::upload_len(self, id))
    }
    fn commit<'a>(
        &'a self,
        id: &'a str,
        expected: &'a Digest,
    ) -> BoxFuture<'a, Result<u64, BlobError>> {
        Box::pin(LocalBlobs::commit(self, id, expected))
    }
    fn abort<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(LocalBlobs::abort(self, id))
    }
    fn put_bytes<'a>(
        &'a self,
        digest: &'a Digest,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(LocalBlobs::put_bytes(self, digest, bytes))
    }
    fn delete<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<bool, BlobError>> {
        Box::pin(LocalBlobs::delete(self, digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn body(chunks: &[&[u8]]) -> ByteStream {
        let chunks: Vec<Result<Bytes, io::Error>> = chunks
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        stream::iter(chunks).boxed()
    }

    fn digest_of(bytes: &[u8]) -> Digest {
        Digest::sha256_from_bytes(Sha256::digest(bytes).into())
    }

    #[tokio::test]
    async fn chunks_survive_a_restart_and_commit_under_their_digest() -> Result<(), BlobError> {
        let dir = tempfile::tempdir().map_err(io_error("create", Path::new("tmp")))?;
        let blobs = LocalBlobs::open(dir.path()).await?;
        blobs.begin_upload("s1").await?;
        assert_eq!(blobs.append("s1", 0, body(&[b"hello ", b"wor"])).await?, 9);
        // A new instance has no running hash: it re-hashes the partial file.
        let reopened = LocalBlobs::open(dir.path()).await?;
        assert_eq!(reopened.append("s1", 9, body(&[b"ld"])).await?, 11);
        let digest = digest_of(b"hello world");
        assert_eq!(reopened.commit("s1", &digest).await?, 11);
        assert_eq!(reopened.stat(&digest).await?, Some(11));
        let read = tokio::fs::read(reopened.blob_path(&digest)).await.ok();
        assert_eq!(read.as_deref(), Some(&b"hello world"[..]));
        Ok(())
    }

    #[tokio::test]
    async fn a_wrong_digest_or_offset_leaves_no_blob() -> Result<(), BlobError> {
        let dir = tempfile::tempdir().map_err(io_error("create", Path::new("tmp")))?;
        let blobs = LocalBlobs::open(dir.path()).await?;
        blobs.begin_upload("s2").await?;
        blobs.append("s2", 0, body(&[b"abc"])).await?;
        let err = blobs
            .append("s2", 1, body(&[b"x"]))
            .await
            .expect_err("offset");
        assert!(
            matches!(err, BlobError::OffsetMismatch { actual: 3, .. }),
            "{err}"
        );
        let wrong = digest_of(b"abd");
        let err = blobs.commit("s2", &wrong).await.expect_err("digest");
        assert!(matches!(err, BlobError::DigestMismatch { .. }), "{err}");
        assert_eq!(blobs.stat(&wrong).await?, None);
        assert_eq!(blobs.stat(&digest_of(b"abc")).await?, None);
        assert!(matches!(
            blobs.upload_len("s2").await,
            Err(BlobError::UnknownUpload(_))
        ));
        assert!(matches!(
            blobs.begin_upload("../x").await,
            Err(BlobError::InvalidUploadId(_))
        ));
        Ok(())
    }

    #[tokio::test]
    async fn a_failed_body_is_cut_back_and_limits_hold() -> Result<(), BlobError> {
        let dir = tempfile::tempdir().map_err(io_error("create", Path::new("tmp")))?;
        let blobs = LocalBlobs::open(dir.path()).await?.with_max_blob_size(8);
        blobs.begin_upload("s3").await?;
        blobs.append("s3", 0, body(&[b"1234"])).await?;
        let failing = stream::iter(vec![
            Ok(Bytes::from_static(b"56")),
            Err(io::Error::other("client went away")),
        ])
        .boxed();
        let err = blobs.append("s3", 4, failing).await.expect_err("body");
        assert!(matches!(err, BlobError::Body { .. }), "{err}");
        assert_eq!(
            blobs.upload_len("s3").await?,
            4,
            "only acknowledged bytes stay"
        );
        let err = blobs
            .append("s3", 4, body(&[b"56789"]))
            .await
            .expect_err("limit");
        assert!(matches!(err, BlobError::TooLarge { limit: 8, .. }), "{err}");
        blobs.append("s3", 4, body(&[b"5678"])).await?;
        assert_eq!(blobs.commit("s3", &digest_of(b"12345678")).await?, 8);
        blobs.begin_upload("keep").await?;
        blobs.begin_upload("orphan").await?;
        let keep = BTreeSet::from(["keep".to_owned()]);
        assert_eq!(blobs.remove_uploads_except(&keep).await?, ["orphan"]);
        Ok(())
    }
}
