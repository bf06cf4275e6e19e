//! NDB databases (`Packages.db`, SUSE), laid out as rpm's
//! `lib/backend/ndb/rpmpkg.c` writes them, all integers little-endian:
//!
//! - a 32-byte file header: magic `RpmP`, version 0, generation, number of
//!   4 KiB slot pages, next package index;
//! - the slot pages (the header takes the first two 16-byte slots of page 0):
//!   each slot is magic `Slot`, package index, block offset, block count, in
//!   16-byte blocks; a slot with block offset 0 is free;
//! - blobs at `block offset × 16`: a head (magic `BlbS`, package index,
//!   timestamp, blob length), the header blob, zero padding, and a tail
//!   (Adler-32 of head + blob + padding, blob length, magic `BlbE`).

use std::borrow::Cow;

use crate::{Limits, Record};

pub(crate) const FILE_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_HEAD_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const BLOB_TAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const FILE_HEADER: usize = 32;
const SLOT_SIZE: usize = 16;
const BLOCK: usize = 16;
const PAGE: usize = 4096;
const BLOB_HEAD: usize = 16;
const BLOB_TAIL: usize = 12;

/// Why an NDB file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdbError {
    #[error("ndb file is truncated: {len} bytes, the header needs {FILE_HEADER}")]
    TooShort { len: usize },
    #[error("ndb file has the wrong magic {0:#010x} (expected `RpmP`)")]
    Magic(u32),
    #[error("ndb file version {0} is not supported (only 0 is)")]
    Version(u32),
    #[error("ndb file declares {pages} slot pages but holds {len} bytes; truncated or corrupt")]
    SlotPages { pages: u32, len: usize },
    #[error("ndb slot {slot} at offset {offset} has the wrong magic")]
    SlotMagic { slot: usize, offset: usize },
    #[error(
        "ndb slot {slot} (package {package}) points at blocks {block}+{blocks}, outside the blob area of the file"
    )]
    SlotRange {
        slot: usize,
        package: u32,
        block: u32,
        blocks: u32,
    },
    #[error("ndb blob of package {package} at offset {offset} is corrupt: {reason}")]
    Blob {
        package: u32,
        offset: usize,
        reason: &'static str,
    },
    #[error(
        "ndb blob of package {package} fails its adler-32 checksum (stored {stored:#010x}, computed {computed:#010x})"
    )]
    Checksum {
        package: u32,
        stored: u32,
        computed: u32,
    },
    #[error(
        "ndb blob of package {package} has {length} bytes, over the header size limit of {limit}"
    )]
    TooLarge {
        package: u32,
        length: usize,
        limit: usize,
    },
    #[error("ndb file holds more than {limit} packages (the configured limit)")]
    TooManyRecords { limit: usize },
}

/// Reads every used slot's blob, in slot order.
pub(crate) fn records<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Vec<Record<'a>>, NdbError> {
    if bytes.len() < FILE_HEADER {
        return Err(NdbError::TooShort { len: bytes.len() });
    }
    let magic = le32(bytes, 0);
    if magic != FILE_MAGIC {
        return Err(NdbError::Magic(magic));
    }
    let version = le32(bytes, 4);
    if version != 0 {
        return Err(NdbError::Version(version));
    }
    let pages = le32(bytes, 12);
    let slot_area = (pages as usize)
        .checked_mul(PAGE)
        .filter(|end| *end <= bytes.len() && pages > 0)
        .ok_or(NdbError::SlotPages {
            pages,
            len: bytes.len(),
        })?;
    let first_blob_block = slot_area / BLOCK;
    let file_blocks = bytes.len() / BLOCK;

    let mut out = Vec::new();
    let mut total: u64 = 0;
    for (slot, raw) in bytes[FILE_HEADER..slot_area]
        .chunks_exact(SLOT_SIZE)
        .enumerate()
    {
        let offset = FILE_HEADER + slot * SLOT_SIZE;
        if le32(raw, 0) != SLOT_MAGIC {
            return Err(NdbError::SlotMagic { slot, offset });
        }
        let (package, block, blocks) = (le32(raw, 4), le32(raw, 8), le32(raw, 12));
        if block == 0 {
            continue;
        }
        let range = NdbError::SlotRange {
            slot,
            package,
            block,
            blocks,
        };
        let end = (block as usize)
            .checked_add(blocks as usize)
            .ok_or(range.clone())?;
        if package == 0 || blocks == 0 || (block as usize) < first_blob_block || end > file_blocks {
            return Err(range);
        }
        let area = &bytes[block as usize * BLOCK..end * BLOCK];
        let blob = blob(area, package, block as usize * BLOCK, limits)?;
        total = total.saturating_add(blob.len() as u64);
        if out.len() >= limits.max_packages || total > limits.max_total_bytes {
            return Err(NdbError::TooManyRecords {
                limit: limits.max_packages,
            });
        }
        out.push(Record {
            key: package,
            blob: Cow::Borrowed(blob),
        });
    }
    Ok(out)
}

/// Validates one blob area (exactly the slot's blocks) and returns the blob.
fn blob<'a>(
    area: &'a [u8],
    package: u32,
    offset: usize,
    limits: &Limits,
) -> Result<&'a [u8], NdbError> {
    let bad = |reason| NdbError::Blob {
        package,
        offset,
        reason,
    };
    if area.len() < BLOB_HEAD + BLOB_TAIL {
        return Err(bad("the slot is smaller than a blob head and tail"));
    }
    if le32(area, 0) != BLOB_HEAD_MAGIC {
        return Err(bad("wrong head magic"));
    }
    if le32(area, 4) != package {
        return Err(bad("the head names another package"));
    }
    let length = le32(area, 12) as usize;
    if length > limits.max_header_bytes {
        return Err(NdbError::TooLarge {
            package,
            length,
            limit: limits.max_header_bytes,
        });
    }
    // rpm requires the slot to be exactly as many blocks as the blob needs.
    if (BLOB_HEAD + length + BLOB_TAIL).div_ceil(BLOCK) * BLOCK != area.len() {
        return Err(bad("the blob length does not match the slot's block count"));
    }
    let tail = area.len() - BLOB_TAIL;
    if le32(area, tail + 8) != BLOB_TAIL_MAGIC {
        return Err(bad("wrong tail magic"));
    }
    if le32(area, tail + 4) as usize != length {
        return Err(bad("head and tail disagree on the blob length"));
    }
    if limits.verify_checksums {
        let stored = le32(area, tail);
        let computed = adler32(&area[..tail]);
        if stored != computed {
            return Err(NdbError::Checksum {
                package,
                stored,
                computed,
            });
        }
    }
    Ok(&area[BLOB_HEAD..BLOB_HEAD + length])
}

/// Adler-32 (RFC 1950), as rpmpkg.c computes it.
pub(crate) fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 is the largest run that cannot overflow u32 before the modulo.
    for chunk in bytes.chunks(5552) {
        for byte in chunk {
            a += u32::from(*byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0; 4];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_le_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_matches_rfc_example() {
        // The classic "Wikipedia" example.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(&[]), 1);
        let big = vec![0xffu8; 100_000];
        let naive = {
            let (mut a, mut b) = (1u64, 0u64);
            for byte in &big {
                a = (a + u64::from(*byte)) % 65521;
                b = (b + a) % 65521;
            }
            ((b << 16) | a) as u32
        };
        assert_eq!(adler32(&big), naive);
    }
}
