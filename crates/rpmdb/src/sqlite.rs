//! SQLite rpm databases (`rpmdb.sqlite`), read with a small read-only
//! reader of the SQLite file format rather than the SQLite library: the
//! database header, `sqlite_schema` (page 1) to find the `Packages` table, its
//! table b-tree (interior and leaf pages) and overflow chains. rpm's table is
//! `Packages(hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)`, so
//! the row id is the header number and the `blob` column the header.
//!
//! A write-ahead log may be supplied ([`wal`]); its committed frames replace
//! the main file's pages.

mod btree;
mod record;
mod wal;

use std::borrow::Cow;

pub use wal::WalError;

use crate::{Limits, Record};
use btree::{Pages, be16, be32};
use record::Value;

pub(crate) const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const TABLE: &str = "Packages";

/// Why an SQLite file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqliteError {
    #[error("sqlite file is truncated: {len} bytes, the header needs 100")]
    TooShort { len: usize },
    #[error("sqlite file has a bad header: {0}")]
    Header(&'static str),
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("sqlite page {page} is past the end of the database ({pages} pages)")]
    PageOutOfRange { page: u32, pages: u32 },
    #[error("sqlite page {page} is reached twice: the b-tree or an overflow chain is cyclic")]
    Cycle { page: u32 },
    #[error("sqlite page {page} is corrupt: {reason}")]
    Page { page: u32, reason: &'static str },
    #[error("sqlite overflow chain from page {page} is corrupt: {reason}")]
    Overflow { page: u32, reason: &'static str },
    #[error(
        "sqlite row on page {page} has a {length}-byte payload, over the limit of {limit} bytes"
    )]
    TooLarge {
        page: u32,
        length: u64,
        limit: usize,
    },
    #[error("sqlite database has no `Packages` table; is this an rpm database?")]
    NoPackagesTable,
    #[error("sqlite `Packages` table has no `blob` column (schema: {0})")]
    NoBlobColumn(String),
    #[error("sqlite row {rowid} of `{table}` is not a valid record: {reason}")]
    Row {
        table: &'static str,
        rowid: i64,
        reason: &'static str,
    },
    #[error("sqlite `Packages` table holds more than {limit} packages (the configured limit)")]
    TooManyRecords { limit: usize },
}

/// Reads every row of `Packages`, in row id order.
pub(crate) fn records<'a>(
    main: &'a [u8],
    wal: Option<&'a [u8]>,
    limits: &Limits,
) -> Result<Vec<Record<'a>>, SqliteError> {
    let header = main
        .get(..100)
        .ok_or(SqliteError::TooShort { len: main.len() })?;
    if &header[..16] != MAGIC {
        return Err(SqliteError::Header("wrong magic string"));
    }
    let page_size = match be16(header, 16) {
        1 => 65536,
        n if n >= 512 && n.is_power_of_two() => usize::from(n),
        _ => {
            return Err(SqliteError::Header(
                "page size is not a power of two from 512 to 65536",
            ));
        }
    };
    if header[19] > 2 {
        return Err(SqliteError::Header("read format version is newer than 2"));
    }
    if be32(header, 56) > 1 {
        return Err(SqliteError::Header("text encoding is not UTF-8"));
    }
    // The header's page count is valid only when its version-valid-for
    // number matches the change counter (SQLite 3.7.0 and later).
    let header_count = if be32(header, 92) == be32(header, 24) {
        be32(header, 28)
    } else {
        0
    };
    let wal = match wal {
        Some(bytes) => wal::parse(bytes, page_size as u32)?,
        None => None,
    };
    let pages = Pages::new(main, wal, page_size, usize::from(header[20]), header_count)?;
    let max_payload = limits.max_header_bytes.saturating_add(64);

    let (root, blob_column, key_column) = find_table(&pages, max_payload)?;
    let mut visited = vec![false; pages.count() as usize + 1];
    let mut out = Vec::new();
    let mut total: u64 = 0;
    pages.walk_table(root, max_payload, &mut visited, &mut |rowid, payload| {
        let (key, blob) = match payload {
            Cow::Borrowed(bytes) => {
                let (key, blob) = package_row(rowid, bytes, blob_column, key_column)?;
                (key, Cow::Borrowed(blob))
            }
            Cow::Owned(bytes) => {
                let (key, blob) = package_row(rowid, &bytes, blob_column, key_column)?;
                (key, Cow::Owned(blob.to_vec()))
            }
        };
        total = total.saturating_add(blob.len() as u64);
        if out.len() >= limits.max_packages || total > limits.max_total_bytes {
            return Err(SqliteError::TooManyRecords {
                limit: limits.max_packages,
            });
        }
        out.push(Record { key, blob });
        Ok(())
    })?;
    Ok(out)
}

/// The header number and header blob of one `Packages` row.
fn package_row(
    rowid: i64,
    payload: &[u8],
    blob_column: usize,
    key_column: Option<usize>,
) -> Result<(u32, &[u8]), SqliteError> {
    let row = |reason| SqliteError::Row {
        table: TABLE,
        rowid,
        reason,
    };
    let values = record::columns(payload).ok_or(row("malformed record"))?;
    let key = match key_column.map(|i| values.get(i).copied()) {
        None => rowid,
        Some(Some(Value::Integer(n))) => n,
        Some(_) => return Err(row("hnum is not an integer")),
    };
    let key = u32::try_from(key).map_err(|_| row("hnum is not a 32-bit header number"))?;
    match values.get(blob_column) {
        Some(Value::Blob(blob)) => Ok((key, blob)),
        _ => Err(row("blob is not a BLOB")),
    }
}

/// Finds `Packages` in `sqlite_schema`: its root page, the index of its
/// `blob` column and, unless `hnum` is the row id, the index of `hnum`.
fn find_table(
    pages: &Pages<'_>,
    max_payload: usize,
) -> Result<(u32, usize, Option<usize>), SqliteError> {
    let mut found = None;
    let mut visited = vec![false; pages.count() as usize + 1];
    pages.walk_table(1, max_payload, &mut visited, &mut |rowid, payload| {
        let row = |reason| SqliteError::Row {
            table: "sqlite_schema",
            rowid,
            reason,
        };
        let values = record::columns(&payload).ok_or(row("malformed record"))?;
        let text = |i: usize| match values.get(i) {
            Some(Value::Text(t)) => Some(String::from_utf8_lossy(t).into_owned()),
            _ => None,
        };
        if text(0).as_deref() != Some("table") || text(1).as_deref() != Some(TABLE) {
            return Ok(());
        }
        let root = match values.get(3) {
            Some(Value::Integer(n)) => u32::try_from(*n).map_err(|_| row("bad root page"))?,
            _ => return Err(row("root page is not an integer")),
        };
        found = Some((root, text(4).unwrap_or_default()));
        Ok(())
    })?;
    let (root, sql) = found.ok_or(SqliteError::NoPackagesTable)?;
    let defs = record::column_defs(&sql);
    let position = |name: &str| defs.iter().position(|(n, _)| n.eq_ignore_ascii_case(name));
    let blob = position("blob").ok_or_else(|| SqliteError::NoBlobColumn(sql.clone()))?;
    // An INTEGER PRIMARY KEY column is the row id and is stored as NULL.
    let key = position("hnum").filter(|i| {
        defs.get(*i)
            .is_some_and(|(_, def)| !def.contains("INTEGER PRIMARY KEY"))
    });
    Ok((root, blob, key))
}
