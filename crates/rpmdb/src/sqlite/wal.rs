//! SQLite write-ahead log: the committed page images that a reader must see
//! instead of the main file's pages.
//!
//! rpm opens its database in WAL mode and checkpoints on a clean exit, so an
//! image usually holds an empty `rpmdb.sqlite-wal`; one built by a killed rpm
//! may not. A frame counts only if its salts match the WAL header and the
//! running checksum holds, and only frames up to the last commit frame are
//! used: exactly what SQLite itself would recover.

use std::collections::BTreeMap;

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;
const MAGIC_LE: u32 = 0x377f_0682;
const MAGIC_BE: u32 = 0x377f_0683;

/// The committed state recorded in a WAL.
#[derive(Debug, Default)]
pub(crate) struct Wal<'a> {
    /// Latest committed image of each page, by page number.
    pub(crate) pages: BTreeMap<u32, &'a [u8]>,
    /// Database size in pages after the last commit.
    pub(crate) db_pages: u32,
}

/// Why a WAL could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalError {
    #[error("sqlite wal page size {wal} differs from the database page size {db}")]
    PageSize { wal: u32, db: u32 },
}

/// Parses a WAL. A WAL with a bad header is ignored, as SQLite ignores it.
pub(crate) fn parse(wal: &[u8], db_page_size: u32) -> Result<Option<Wal<'_>>, WalError> {
    let Some(header) = wal.get(..HEADER) else {
        return Ok(None);
    };
    let magic = be32(header, 0);
    let big_endian = match magic {
        MAGIC_LE => false,
        MAGIC_BE => true,
        _ => return Ok(None),
    };
    let page_size = match be32(header, 8) {
        1 => 65536,
        n => n,
    };
    let (salt1, salt2) = (be32(header, 16), be32(header, 20));
    let mut sum = checksum((0, 0), &header[..24], big_endian);
    if sum != (be32(header, 24), be32(header, 28)) {
        return Ok(None);
    }
    if page_size != db_page_size {
        return Err(WalError::PageSize {
            wal: page_size,
            db: db_page_size,
        });
    }
    let frame_size = FRAME_HEADER + page_size as usize;
    let mut pending: Vec<(u32, &[u8])> = Vec::new();
    let mut result = Wal::default();
    let mut committed = false;
    for frame in wal[HEADER..].chunks_exact(frame_size) {
        let (page, commit_size) = (be32(frame, 0), be32(frame, 4));
        if be32(frame, 8) != salt1 || be32(frame, 12) != salt2 || page == 0 {
            break;
        }
        sum = checksum(sum, &frame[..8], big_endian);
        sum = checksum(sum, &frame[FRAME_HEADER..], big_endian);
        if sum != (be32(frame, 16), be32(frame, 20)) {
            break;
        }
        pending.push((page, &frame[FRAME_HEADER..]));
        if commit_size != 0 {
            result.pages.extend(pending.drain(..));
            result.db_pages = commit_size;
            committed = true;
        }
    }
    Ok(committed.then_some(result))
}

/// SQLite's WAL checksum: pairs of 32-bit words in the WAL's byte order.
fn checksum(start: (u32, u32), bytes: &[u8], big_endian: bool) -> (u32, u32) {
    let (mut s0, mut s1) = start;
    for pair in bytes.chunks_exact(8) {
        let word = |at: usize| {
            let raw = [pair[at], pair[at + 1], pair[at + 2], pair[at + 3]];
            if big_endian {
                u32::from_be_bytes(raw)
            } else {
                u32::from_le_bytes(raw)
            }
        };
        s0 = s0.wrapping_add(word(0)).wrapping_add(s1);
        s1 = s1.wrapping_add(word(4)).wrapping_add(s0);
    }
    (s0, s1)
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0; 4];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_be_bytes(raw)
}
