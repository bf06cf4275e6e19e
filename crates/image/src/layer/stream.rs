//! Readers that hash and count what passes through them.

use std::cell::Cell;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender};

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
    enabled: bool,
}

impl Feed {
    pub(crate) fn new(sender: SyncSender<Chunk>, which: Which) -> Self {
        Self {
            sender,
            which,
            buffer: Vec::with_capacity(CHUNK * 2),
            enabled: true,
        }
    }

    /// A feed that hashes nothing: for an uncompressed layer the plain stream is the
    /// stored stream, already hashed once.
    pub(crate) fn disabled(sender: SyncSender<Chunk>, which: Which) -> Self {
        Self {
            sender,
            which,
            buffer: Vec::new(),
            enabled: false,
        }
    }

    fn push(&mut self, data: &[u8]) {
        if !self.enabled {
            return;
        }
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
pub(crate) fn hash_chunks(receiver: &Receiver<Chunk>) -> (Digest, Digest) {
    let mut stored = Sha256::new();
    let mut plain = Sha256::new();
    while let Ok((which, chunk)) = receiver.recv() {
        match which {
            Which::Stored => stored.update(&chunk),
            Which::Plain => plain.update(&chunk),
        }
    }
    (
        Digest::sha256_from_bytes(stored.finalize().into()),
        Digest::sha256_from_bytes(plain.finalize().into()),
    )
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

/// Feeds the uncompressed bytes (the diff_id) to the hasher and enforces the
/// uncompressed-size limit as they stream, so a decompression bomb stops after the
/// limit, not after the bomb.
pub(crate) struct PlainCounter<'a, R> {
    inner: R,
    feed: Feed,
    budget: &'a Budget<'a>,
    limit_hit: &'a Cell<Option<Limit>>,
}

impl<'a, R: Read> PlainCounter<'a, R> {
    pub(crate) fn new(
        inner: R,
        feed: Feed,
        budget: &'a Budget<'a>,
        limit_hit: &'a Cell<Option<Limit>>,
    ) -> Self {
        Self {
            inner,
            feed,
            budget,
            limit_hit,
        }
    }
}

impl<R: Read> Read for PlainCounter<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.budget.is_cancelled() {
            return Err(io::Error::other("cancelled"));
        }
        let n = self.inner.read(buf)?;
        if let Err(limit) = self.budget.add_uncompressed(n as u64) {
            self.limit_hit.set(Some(limit));
            return Err(io::Error::other("limit exceeded"));
        }
        self.feed.push(buf.get(..n).unwrap_or(&[]));
        Ok(n)
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
