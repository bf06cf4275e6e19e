//! Table b-trees of an SQLite file: pages (from the main file or the WAL),
//! interior and leaf pages, and overflow chains.

use std::borrow::Cow;

use super::SqliteError;
use super::record::varint;
use super::wal::Wal;

const TABLE_INTERIOR: u8 = 0x05;
const TABLE_LEAF: u8 = 0x0d;

/// The pages of a database: the main file overlaid with committed WAL frames.
#[derive(Debug)]
pub(crate) struct Pages<'a> {
    main: &'a [u8],
    wal: Wal<'a>,
    page_size: usize,
    /// Page size minus the reserved bytes at the end of each page.
    usable: usize,
    count: u32,
}

impl<'a> Pages<'a> {
    pub(crate) fn new(
        main: &'a [u8],
        wal: Option<Wal<'a>>,
        page_size: usize,
        reserved: usize,
        header_count: u32,
    ) -> Result<Pages<'a>, SqliteError> {
        let usable = page_size.saturating_sub(reserved);
        // SQLite requires at least 480 usable bytes; the overflow arithmetic
        // below depends on it.
        if usable < 480 {
            return Err(SqliteError::Header("usable page size is below 480 bytes"));
        }
        let in_file = u32::try_from(main.len() / page_size).unwrap_or(u32::MAX);
        let count = match &wal {
            Some(wal) => wal.db_pages,
            None if header_count != 0 => header_count.min(in_file),
            None => in_file,
        };
        Ok(Pages {
            main,
            wal: wal.unwrap_or_default(),
            page_size,
            usable,
            count,
        })
    }

    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    /// Page `number` (1-based), trimmed to its usable bytes.
    pub(crate) fn page(&self, number: u32) -> Result<&'a [u8], SqliteError> {
        let out_of_range = SqliteError::PageOutOfRange {
            page: number,
            pages: self.count,
        };
        if number == 0 || number > self.count {
            return Err(out_of_range);
        }
        let page = match self.wal.pages.get(&number) {
            Some(page) => *page,
            None => {
                let start = (number as usize - 1) * self.page_size;
                self.main
                    .get(start..start + self.page_size)
                    .ok_or(out_of_range)?
            }
        };
        Ok(&page[..self.usable.min(page.len())])
    }

    /// Visits every row of the table b-tree rooted at `root`, in rowid order,
    /// with its full payload. Each page may be visited once: a page reached
    /// twice means the tree is corrupt (and would otherwise loop).
    pub(crate) fn walk_table(
        &self,
        root: u32,
        max_payload: usize,
        visited: &mut [bool],
        visit: &mut dyn FnMut(i64, Cow<'a, [u8]>) -> Result<(), SqliteError>,
    ) -> Result<(), SqliteError> {
        let mut stack = vec![root];
        while let Some(number) = stack.pop() {
            self.mark(number, visited)?;
            let page = self.page(number)?;
            let header_at = if number == 1 { 100 } else { 0 };
            let bad = |reason| SqliteError::Page {
                page: number,
                reason,
            };
            let kind = *page
                .get(header_at)
                .ok_or(bad("page header past the page"))?;
            let cells = usize::from(be16(page, header_at + 3));
            let header_len = match kind {
                TABLE_INTERIOR => 12,
                TABLE_LEAF => 8,
                _ => return Err(bad("not a table b-tree page")),
            };
            let pointers = header_at + header_len;
            if pointers + 2 * cells > page.len() {
                return Err(bad("cell pointer array runs past the page"));
            }
            let cell_at = |i: usize| usize::from(be16(page, pointers + 2 * i));
            if kind == TABLE_INTERIOR {
                // Push right-most first so children pop in rowid order.
                stack.push(be32(page, header_at + 8));
                for i in (0..cells).rev() {
                    let at = cell_at(i);
                    if at + 4 > page.len() {
                        return Err(bad("interior cell past the page"));
                    }
                    stack.push(be32(page, at));
                }
                continue;
            }
            for i in 0..cells {
                let at = cell_at(i);
                let (payload_len, used) = varint(page, at).ok_or(bad("cell past the page"))?;
                let (rowid, used2) = varint(page, at + used).ok_or(bad("cell past the page"))?;
                let payload_len = usize::try_from(payload_len)
                    .ok()
                    .filter(|len| *len <= max_payload)
                    .ok_or(SqliteError::TooLarge {
                        page: number,
                        length: payload_len,
                        limit: max_payload,
                    })?;
                let payload =
                    self.payload(number, page, at + used + used2, payload_len, visited)?;
                visit(rowid as i64, payload)?;
            }
        }
        Ok(())
    }

    fn mark(&self, number: u32, visited: &mut [bool]) -> Result<(), SqliteError> {
        let seen = visited
            .get_mut(number as usize)
            .ok_or(SqliteError::PageOutOfRange {
                page: number,
                pages: self.count,
            })?;
        if *seen {
            return Err(SqliteError::Cycle { page: number });
        }
        *seen = true;
        Ok(())
    }

    /// A leaf cell's payload: the local part, then the overflow chain.
    fn payload(
        &self,
        number: u32,
        page: &'a [u8],
        start: usize,
        len: usize,
        visited: &mut [bool],
    ) -> Result<Cow<'a, [u8]>, SqliteError> {
        let bad = |reason| SqliteError::Page {
            page: number,
            reason,
        };
        let u = self.usable;
        let max_local = u - 35;
        if len <= max_local {
            let local = page
                .get(start..start + len)
                .ok_or(bad("payload past the page"))?;
            return Ok(Cow::Borrowed(local));
        }
        let min_local = (u - 12) * 32 / 255 - 23;
        let k = min_local + (len - min_local) % (u - 4);
        let local_len = if k <= max_local { k } else { min_local };
        let local = page
            .get(start..start + local_len)
            .ok_or(bad("payload past the page"))?;
        let mut next = be32(page, start + local_len);
        if start + local_len + 4 > page.len() {
            return Err(bad("overflow pointer past the page"));
        }
        // `len` is already within the payload limit; never reserve more than
        // the database could hold either.
        let mut out = Vec::with_capacity(len.min(self.count as usize * u));
        out.extend_from_slice(local);
        while out.len() < len {
            if next == 0 {
                return Err(SqliteError::Overflow {
                    page: number,
                    reason: "the chain ends before the payload does",
                });
            }
            self.mark(next, visited)?;
            let overflow = self.page(next)?;
            let take = (len - out.len()).min(u - 4);
            let chunk = overflow.get(4..4 + take).ok_or(SqliteError::Overflow {
                page: next,
                reason: "overflow page shorter than its content",
            })?;
            out.extend_from_slice(chunk);
            next = be32(overflow, 0);
        }
        Ok(Cow::Owned(out))
    }
}

pub(crate) fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([
        bytes.get(at).copied().unwrap_or(0),
        bytes.get(at + 1).copied().unwrap_or(0),
    ])
}

pub(crate) fn be32(bytes: &[u8], at: usize) -> u32 {
    let mut raw = [0; 4];
    for (i, b) in raw.iter_mut().enumerate() {
        *b = bytes.get(at + i).copied().unwrap_or(0);
    }
    u32::from_be_bytes(raw)
}
