//! BerkeleyDB hash databases (`var/lib/rpm/Packages`), read as rpm's own
//! `bdb_ro` backend reads them: walk every bucket from the metadata page's
//! `spares` table, follow each bucket's page chain, and take the value of every
//! key/value pair, following overflow pages for values that do not fit a page.
//!
//! Both byte orders are accepted (the metadata magic tells which). Every page
//! number is checked against the file and each page may be visited once, so a
//! cyclic chain is an error, not a loop.

use std::borrow::Cow;

use crate::{Limits, Record};

/// The magic number of a hash database, in the file's byte order.
pub(crate) const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
const META_SIZE: usize = 512;
/// Page types (`db_page.h`).
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
/// Hash item types.
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// Why a BerkeleyDB file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    #[error("berkeleydb file is truncated: {len} bytes, the metadata page needs {META_SIZE}")]
    TooShort { len: usize },
    #[error("berkeleydb file is not a hash database (magic {magic:#010x})")]
    NotHash { magic: u32 },
    #[error("berkeleydb hash version {version} is not supported (8 to 10 are)")]
    Version { version: u32 },
    #[error("berkeleydb file is encrypted (algorithm {0}); rpm databases never are")]
    Encrypted(u8),
    #[error("berkeleydb page size {0} is not a power of two from 512 to 65536")]
    PageSize(u32),
    #[error(
        "berkeleydb file is truncated: its metadata counts {pages} pages of {page_size} bytes but the file holds {len} bytes"
    )]
    Truncated {
        pages: u64,
        page_size: usize,
        len: usize,
    },
    #[error("berkeleydb page {page} is past the end of the file ({pages} pages)")]
    PageOutOfRange { page: u32, pages: u32 },
    #[error("berkeleydb page {page} is reached twice: the page chains form a cycle")]
    Cycle { page: u32 },
    #[error("berkeleydb page {page} has type {found}, expected {expected}")]
    PageType {
        page: u32,
        found: u8,
        expected: &'static str,
    },
    #[error("berkeleydb page {page} says it is page {claimed}")]
    PageNumber { page: u32, claimed: u32 },
    #[error("berkeleydb page {page}, item {item}: {reason}")]
    BadItem {
        page: u32,
        item: usize,
        reason: &'static str,
    },
    #[error(
        "berkeleydb overflow chain from page {page} is malformed: {reason} (value length {length})"
    )]
    Overflow {
        page: u32,
        length: u32,
        reason: &'static str,
    },
    #[error(
        "berkeleydb value of {length} bytes on page {page} exceeds the header size limit of {limit} bytes"
    )]
    TooLarge {
        page: u32,
        length: u64,
        limit: usize,
    },
    #[error("berkeleydb file holds more than {limit} packages (the configured limit)")]
    TooManyRecords { limit: usize },
}

/// Reads every package record (key = header number) except the key-0 record,
/// which in rpm's BerkeleyDB backend holds a counter, not a header.
pub(crate) fn records<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Vec<Record<'a>>, BdbError> {
    let db = Db::open(bytes)?;
    let mut visited = vec![false; db.pages as usize];
    let mut out = Vec::new();
    let mut total: u64 = 0;
    for bucket in 0..=db.max_bucket {
        let mut pageno = db.bucket_page(bucket);
        loop {
            let page = db.page(pageno, &mut visited)?;
            let kind = page.get(25).copied().unwrap_or(0);
            if !matches!(kind, P_HASH | P_HASH_UNSORTED | P_HASHMETA) {
                return Err(BdbError::PageType {
                    page: pageno,
                    found: kind,
                    expected: "a hash page",
                });
            }
            let entries = usize::from(db.u16(page, 20));
            for pair in 0..entries / 2 {
                let (key_item, value_item) = (pair * 2, pair * 2 + 1);
                let key = db.item(page, pageno, key_item)?;
                let value = db.item(page, pageno, value_item)?;
                let key = match key {
                    Item::Inline(raw) if raw.len() == 4 => db.u32(raw, 0),
                    _ => {
                        return Err(BdbError::BadItem {
                            page: pageno,
                            item: key_item,
                            reason: "a Packages key is not a 4-byte header number",
                        });
                    }
                };
                if key == 0 {
                    continue;
                }
                let blob = match value {
                    Item::Inline(raw) => Cow::Borrowed(raw),
                    Item::Overflow { page, length } => {
                        if length as usize > limits.max_header_bytes {
                            return Err(BdbError::TooLarge {
                                page: pageno,
                                length: u64::from(length),
                                limit: limits.max_header_bytes,
                            });
                        }
                        Cow::Owned(db.overflow(page, length, &mut visited)?)
                    }
                };
                if blob.len() > limits.max_header_bytes {
                    return Err(BdbError::TooLarge {
                        page: pageno,
                        length: blob.len() as u64,
                        limit: limits.max_header_bytes,
                    });
                }
                total = total.saturating_add(blob.len() as u64);
                if out.len() >= limits.max_packages || total > limits.max_total_bytes {
                    return Err(BdbError::TooManyRecords {
                        limit: limits.max_packages,
                    });
                }
                out.push(Record { key, blob });
            }
            match db.u32(page, 16) {
                0 => break,
                next => pageno = next,
            }
        }
    }
    Ok(out)
}

/// A hash item: inline bytes (after the type byte) or a reference to an
/// overflow chain.
enum Item<'a> {
    Inline(&'a [u8]),
    Overflow { page: u32, length: u32 },
}

struct Db<'a> {
    bytes: &'a [u8],
    swapped: bool,
    page_size: usize,
    /// `last_pgno + 1`; `open` checks that the file holds them all.
    pages: u32,
    max_bucket: u32,
    spares: [u32; 32],
}

impl<'a> Db<'a> {
    fn open(bytes: &'a [u8]) -> Result<Db<'a>, BdbError> {
        let meta = bytes
            .get(..META_SIZE)
            .ok_or(BdbError::TooShort { len: bytes.len() })?;
        let native = u32::from_le_bytes([meta[12], meta[13], meta[14], meta[15]]);
        let swapped = match native {
            HASH_MAGIC => false,
            m if m.swap_bytes() == HASH_MAGIC => true,
            magic => return Err(BdbError::NotHash { magic }),
        };
        let mut db = Db {
            bytes,
            swapped,
            page_size: 0,
            pages: 0,
            max_bucket: 0,
            spares: [0; 32],
        };
        let version = db.u32(meta, 16);
        if !(8..=10).contains(&version) {
            return Err(BdbError::Version { version });
        }
        if meta[24] != 0 {
            return Err(BdbError::Encrypted(meta[24]));
        }
        if meta[25] != P_HASHMETA {
            return Err(BdbError::PageType {
                page: 0,
                found: meta[25],
                expected: "hash metadata",
            });
        }
        let page_size = db.u32(meta, 20);
        if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
            return Err(BdbError::PageSize(page_size));
        }
        db.page_size = page_size as usize;
        // BerkeleyDB allocates every page up to the last one, so a shorter
        // file has lost data even if no chain happens to reach the lost part.
        let pages = u64::from(db.u32(meta, 32)) + 1;
        if (bytes.len() as u64) < pages * page_size as u64 {
            return Err(BdbError::Truncated {
                pages,
                page_size: db.page_size,
                len: bytes.len(),
            });
        }
        db.pages = u32::try_from(pages).unwrap_or(u32::MAX);
        db.max_bucket = db.u32(meta, 72);
        let mut spares = [0; 32];
        for (i, spare) in spares.iter_mut().enumerate() {
            *spare = db.u32(meta, 96 + 4 * i);
        }
        db.spares = spares;
        if db.max_bucket >= db.pages {
            // Every bucket owns at least one page.
            return Err(BdbError::PageOutOfRange {
                page: db.max_bucket,
                pages: db.pages,
            });
        }
        Ok(db)
    }

    /// rpm's `hash_bucket_to_page`: bucket plus the spare count of its
    /// doubling generation.
    fn bucket_page(&self, bucket: u32) -> u32 {
        let generation = (u32::BITS - bucket.leading_zeros()) as usize;
        let spare = self.spares.get(generation).copied().unwrap_or(0);
        // A wild spare gives a wild page number, which `page` rejects.
        bucket.wrapping_add(spare)
    }

    /// Page `pageno`, checked for range, cycles and its own page number.
    fn page(&self, pageno: u32, visited: &mut [bool]) -> Result<&'a [u8], BdbError> {
        let out_of_range = BdbError::PageOutOfRange {
            page: pageno,
            pages: self.pages,
        };
        if pageno == 0 || pageno >= self.pages {
            return Err(out_of_range);
        }
        let seen = visited
            .get_mut(pageno as usize)
            .ok_or(out_of_range.clone())?;
        if *seen {
            return Err(BdbError::Cycle { page: pageno });
        }
        *seen = true;
        let start = pageno as usize * self.page_size;
        let page = self
            .bytes
            .get(start..start + self.page_size)
            .ok_or(out_of_range)?;
        let claimed = self.u32(page, 8);
        if claimed != pageno {
            return Err(BdbError::PageNumber {
                page: pageno,
                claimed,
            });
        }
        Ok(page)
    }

    /// Item `index` of a hash page. Items are laid out from the end of the page
    /// downwards, so an item ends where the previous one starts.
    fn item(&self, page: &'a [u8], pageno: u32, index: usize) -> Result<Item<'a>, BdbError> {
        let bad = |reason| BdbError::BadItem {
            page: pageno,
            item: index,
            reason,
        };
        let offset_at = |i: usize| -> Result<usize, BdbError> {
            let at = PAGE_HEADER + 2 * i;
            if at + 2 > page.len() {
                return Err(bad("item index runs past the page"));
            }
            Ok(usize::from(self.u16(page, at)))
        };
        let start = offset_at(index)?;
        let end = if index == 0 {
            self.page_size
        } else {
            offset_at(index - 1)?
        };
        let min_start = PAGE_HEADER + 2 * (index + 1);
        if start < min_start || start >= end || end > self.page_size {
            return Err(bad("item offsets are out of order or outside the page"));
        }
        let raw = &page[start..end];
        match raw[0] {
            H_KEYDATA => Ok(Item::Inline(&raw[1..])),
            H_OFFPAGE if raw.len() == 12 => Ok(Item::Overflow {
                page: self.u32(raw, 4),
                length: self.u32(raw, 8),
            }),
            H_OFFPAGE => Err(bad("an overflow reference is not 12 bytes")),
            _ => Err(bad(
                "item type is neither inline data nor an overflow reference",
            )),
        }
    }

    /// Concatenates an overflow chain of exactly `length` bytes.
    fn overflow(&self, first: u32, length: u32, visited: &mut [bool]) -> Result<Vec<u8>, BdbError> {
        let bad = |reason| BdbError::Overflow {
            page: first,
            length,
            reason,
        };
        if length == 0 {
            return Err(bad("zero length"));
        }
        let mut out = Vec::with_capacity((length as usize).min(self.bytes.len()));
        let mut pageno = first;
        while out.len() < length as usize {
            let page = self.page(pageno, visited)?;
            if page[25] != P_OVERFLOW {
                return Err(BdbError::PageType {
                    page: pageno,
                    found: page[25],
                    expected: "an overflow page",
                });
            }
            let on_page = usize::from(self.u16(page, 22));
            let remaining = length as usize - out.len();
            if on_page == 0 || on_page > remaining || PAGE_HEADER + on_page > page.len() {
                return Err(bad("a page holds more bytes than the value or none at all"));
            }
            out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + on_page]);
            pageno = self.u32(page, 16);
            if out.len() < length as usize && pageno == 0 {
                return Err(bad("the chain ends before the value does"));
            }
        }
        Ok(out)
    }

    fn u16(&self, bytes: &[u8], at: usize) -> u16 {
        let raw = [
            bytes.get(at).copied().unwrap_or(0),
            bytes.get(at + 1).copied().unwrap_or(0),
        ];
        if self.swapped {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        }
    }

    fn u32(&self, bytes: &[u8], at: usize) -> u32 {
        let raw = read4(bytes, at);
        if self.swapped {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        }
    }
}

/// Four bytes at `at`, zero-filled past the end (callers check bounds first;
/// this only keeps a logic slip from becoming a panic).
fn read4(bytes: &[u8], at: usize) -> [u8; 4] {
    let mut raw = [0; 4];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = bytes.get(at + i).copied().unwrap_or(0);
    }
    raw
}
