//! Readers that hash and count what passes through them.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender};

use portcullis_types::Digest;
use sha2::{Digest as _, Sha256};

use super::budget::{Budget, Limit};
use crate::Progress;

/// How a layer's stored bytes are compressed, told by their magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    Gzip,
    Zstd,
    None,
}

impl Compression {
    /// Media types lie; the first bytes do not.
    pub(crate) fn sniff(head: &[u8]) -> Result<Self, &'static str> {
        match head {
            [0x1f, 0x8b, ..] => Ok(Self::Gzip),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Ok(Self::Zstd),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Err("xz"),
            [b'B', b'Z', b'h', ..] => Err("bzip2"),
            _ => Ok(Self::None),
        }
    }

    pub(crate) fn stream_name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip-compressed tar archive",
            Self::Zstd => "zstd-compressed tar archive",
            Self::None => "tar archive",
        }
    }
}

/// Which stream a chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    Stored,
    Plain,
}

pub(crate) type Chunk = (Which, Vec<u8>);

/// Bytes are sent to the hashing thread in chunks of about this size.
pub(crate) const CHUNK: usize = 256 * 1024;

/// Copies bytes into chunks for the hashing thread; flushes what is left when dropped.
pub(crate) struct Feed {
    sender: SyncSender<Chunk>,
    which: Which,
    buffer: Vec<u8>,
}

impl Feed {
    pub(crate) fn new(sender: SyncSender<Chunk>, which: Which) -> Self {
        Self {
            sender,
            which,
            buffer: Vec::with_capacity(CHUNK * 2),
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.buffer.is_empty() {
            return;
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK * 2));
        // The receiver only goes away when the layer is abandoned; nothing to report then.
        let _ = self.sender.send((self.which, chunk));
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The hashing thread: sha256 of the stored and of the uncompressed stream, returned
/// once every sender is gone.
/// Plain chunks go back through `recycle` once hashed, so that the decoder can fill
/// them again without allocating or zeroing.
pub(crate) fn hash_chunks(
    receiver: &Receiver<Chunk>,
    recycle: &Sender<Vec<u8>>,
) -> (Digest, Digest) {
    let mut stored = Sha256::new();
    let mut plain = Sha256::new();
    while let Ok((which, chunk)) = receiver.recv() {
        match which {
            Which::Stored => stored.update(&chunk),
            Which::Plain => {
                plain.update(&chunk);
                // The decoder may be gone already (layer finished or abandoned).
                let _ = recycle.send(chunk);
            }
        }
    }
    (
        Digest::sha256_from_bytes(stored.finalize().into()),
        Digest::sha256_from_bytes(plain.finalize().into()),
    )
}

/// The sha256 of a layer's stored bytes, read to the end without decoding them (a cache
/// hit on a layer whose source names no blob digest). Stops when the read is cancelled.
pub(crate) fn hash_stored(
    mut reader: impl Read,
    budget: &Budget<'_>,
    progress: &dyn Progress,
) -> io::Result<Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        if budget.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(buf.get(..n).unwrap_or(&[]));
        progress.advance(n as u64);
    }
    Ok(Digest::sha256_from_bytes(hasher.finalize().into()))
}

/// Counts the stored bytes, feeds them to the hasher and reports them as progress.
pub(crate) struct StoredCounter<'a, R> {
    inner: R,
    feed: Feed,
    bytes: u64,
    unreported: u64,
    progress: &'a dyn Progress,
}

const REPORT_EVERY: u64 = 1 << 20;

impl<'a, R: Read> StoredCounter<'a, R> {
    pub(crate) fn new(inner: R, feed: Feed, progress: &'a dyn Progress) -> Self {
        Self {
            inner,
            feed,
            bytes: 0,
            unreported: 0,
            progress,
        }
    }

    /// Reads what is left (so the digest covers the whole blob), up to `max` bytes in
    /// all, and returns the size.
    pub(crate) fn finish_draining(mut self, max: u64) -> io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        while self.bytes <= max && self.read(&mut buf)? > 0 {}
        if self.unreported > 0 {
            self.progress.advance(self.unreported);
        }
        Ok(self.bytes)
    }
}

impl<R: Read> Read for StoredCounter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.feed.push(buf.get(..n).unwrap_or(&[]));
        self.bytes += n as u64;
        self.unreported += n as u64;
        if self.unreported >= REPORT_EVERY {
            self.progress.advance(self.unreported);
            self.unreported = 0;
        }
        Ok(n)
    }
}

/// The uncompressed stream as the tar reader sees it (a `BufRead`), in chunks that go
/// whole to the hashing thread once read: the decoder writes into a chunk, the tar reader
/// copies out of it, and the hasher reads it in place, so the bytes are copied once, not
/// twice. Counts every byte against the uncompressed-size limit as it is produced.
pub(crate) struct PlainChunks<'a, R> {
    inner: R,
    sender: SyncSender<Chunk>,
    recycled: Receiver<Vec<u8>>,
    /// False for uncompressed layers, whose plain stream is the stored stream, hashed once.
    hash: bool,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// Chunks allocated so far; past `POOL` the reader waits for the hasher to return one.
    allocated: usize,
    eof: bool,
    budget: &'a Budget<'a>,
    limit_hit: &'a Cell<Option<Limit>>,
}

/// Chunks in flight between the decoder and the hasher, per layer.
const POOL: usize = 8;

impl<'a, R: Read> PlainChunks<'a, R> {
    pub(crate) fn new(
        inner: R,
        sender: SyncSender<Chunk>,
        recycled: Receiver<Vec<u8>>,
        hash: bool,
        budget: &'a Budget<'a>,
        limit_hit: &'a Cell<Option<Limit>>,
    ) -> Self {
        Self {
            inner,
            sender,
            recycled,
            hash,
            buf: Vec::new(),
            pos: 0,
            filled: 0,
            allocated: 0,
            eof: false,
            budget,
            limit_hit,
        }
    }

    /// A chunk to fill: a recycled one, a new one while the pool is not full, or the next
    /// one the hasher gives back.
    fn next_chunk(&mut self) -> Vec<u8> {
        let mut chunk = match self.recycled.try_recv() {
            Ok(chunk) => chunk,
            Err(_) if self.allocated < POOL => {
                self.allocated += 1;
                Vec::new()
            }
            // The hasher has gone only if the layer is being abandoned; carry on alone.
            Err(_) => self.recycled.recv().unwrap_or_default(),
        };
        chunk.resize(CHUNK, 0);
        chunk
    }

    /// Hands the chunk just read to the hasher.
    fn send_current(&mut self) {
        if self.filled == 0 {
            return;
        }
        if self.hash {
            let mut chunk = std::mem::take(&mut self.buf);
            chunk.truncate(self.filled);
            // The receiver only goes away when the layer is abandoned.
            let _ = self.sender.send((Which::Plain, chunk));
        }
        self.pos = 0;
        self.filled = 0;
    }
}

impl<R: Read> BufRead for PlainChunks<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled && !self.eof {
            self.send_current();
            if self.buf.len() < CHUNK {
                self.buf = self.next_chunk();
            }
            while self.filled < CHUNK {
                if self.budget.is_cancelled() {
                    return Err(io::Error::other("cancelled"));
                }
                let n = self.inner.read(&mut self.buf[self.filled..])?;
                if n == 0 {
                    self.eof = true;
                    break;
                }
                if let Err(limit) = self.budget.add_uncompressed(n as u64) {
                    self.limit_hit.set(Some(limit));
                    return Err(io::Error::other("limit exceeded"));
                }
                self.filled += n;
            }
        }
        Ok(self.buf.get(self.pos..self.filled).unwrap_or(&[]))
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.filled);
    }
}

impl<R: Read> Read for PlainChunks<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R> Drop for PlainChunks<'_, R> {
    fn drop(&mut self) {
        // The last chunk, which no later fill handed over.
        if self.hash && self.filled > 0 {
            let mut chunk = std::mem::take(&mut self.buf);
            chunk.truncate(self.filled);
            let _ = self.sender.send((Which::Plain, chunk));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(
            Compression::sniff(&[0x1f, 0x8b, 8, 0]),
            Ok(Compression::Gzip)
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Ok(Compression::Zstd)
        );
        assert_eq!(Compression::sniff(b"usr/"), Ok(Compression::None));
        assert_eq!(Compression::sniff(b""), Ok(Compression::None));
        assert_eq!(
            Compression::sniff(&[0xfd, b'7', b'z', b'X', b'Z', 0]),
            Err("xz")
        );
    }
}
