//! Reads the list of installed packages from an rpm database held in memory,
//! without rpm or the SQLite/BerkeleyDB libraries.
//!
//! Data flow: database bytes → [`detect`] picks the format by its magic →
//! the format's reader ([`bdb`] for BerkeleyDB hash `Packages`, [`sqlite`] for
//! `rpmdb.sqlite`, [`ndb`] for SUSE's `Packages.db`) yields raw [`Record`]s
//! (header number + header blob) → [`header::parse`] validates each blob →
//! [`RpmPackage`] takes the fields that `rpm -q --qf` shows.
//!
//! [`read_packages`] does all of it. Every count, offset and page number read
//! from the input is checked before use, and [`Limits`] bounds what a hostile
//! database can make the reader allocate; malformed input is an
//! [`RpmdbError`], never a panic.

pub mod bdb;
pub mod header;
pub mod ndb;
mod package;
pub mod sqlite;

use std::borrow::Cow;

pub use bdb::BdbError;
pub use header::HeaderError;
pub use ndb::NdbError;
pub use package::{PackageError, RpmPackage};
pub use sqlite::SqliteError;

/// The three on-disk formats rpm has used for its package database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DbFormat {
    /// `rpmdb.sqlite` (rpm ≥ 4.16; Fedora 33+, RHEL 9, Amazon Linux 2023).
    Sqlite,
    /// BerkeleyDB hash `Packages` (RHEL ≤ 8, CentOS, Amazon Linux 2).
    BerkeleyDb,
    /// rpm's own `Packages.db` (SUSE).
    Ndb,
}

impl DbFormat {
    /// A lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            DbFormat::Sqlite => "sqlite",
            DbFormat::BerkeleyDb => "berkeleydb",
            DbFormat::Ndb => "ndb",
        }
    }
}

impl std::fmt::Display for DbFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Bounds on what one database may make the reader do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most package records read (default 100 000; a large distribution
    /// install has a few thousand).
    pub max_packages: usize,
    /// Largest header blob accepted (default 32 MiB; rpm itself refuses data
    /// stores of 16 MiB and more).
    pub max_header_bytes: usize,
    /// Largest sum of header blobs (default 2 GiB).
    pub max_total_bytes: u64,
    /// Check NDB blob checksums (default true). rpm checks them when it
    /// verifies a database but not when it merely reads it.
    pub verify_checksums: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_packages: 100_000,
            max_header_bytes: 32 << 20,
            max_total_bytes: 2 << 30,
            verify_checksums: true,
        }
    }
}

/// One record of a package database: the header number (rpm's "instance")
/// and the header blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub key: u32,
    pub blob: Cow<'a, [u8]>,
}

/// Why a database could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RpmdbError {
    #[error("not an rpm database: the first bytes match neither sqlite, berkeleydb hash nor ndb")]
    UnknownFormat,
    #[error("failed to read berkeleydb rpm database")]
    Bdb(#[from] BdbError),
    #[error("failed to read sqlite rpm database")]
    Sqlite(#[from] SqliteError),
    #[error("failed to read ndb rpm database")]
    Ndb(#[from] NdbError),
    #[error("{format} rpm database: header of record {key} is invalid")]
    Package {
        format: DbFormat,
        key: u32,
        #[source]
        source: PackageError,
    },
}

/// Recognises an rpm database by its magic number, not by its file name.
pub fn detect(bytes: &[u8]) -> Option<DbFormat> {
    if bytes.starts_with(sqlite::MAGIC) {
        return Some(DbFormat::Sqlite);
    }
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|raw| <[u8; 4]>::try_from(raw).ok())
            .map(u32::from_le_bytes)
    };
    if word(0) == Some(ndb::FILE_MAGIC) {
        return Some(DbFormat::Ndb);
    }
    match word(12) {
        Some(magic) if magic == bdb::HASH_MAGIC || magic.swap_bytes() == bdb::HASH_MAGIC => {
            Some(DbFormat::BerkeleyDb)
        }
        _ => None,
    }
}

/// Reads the raw records of a database of any format.
pub fn read_records<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Vec<Record<'a>>, RpmdbError> {
    read_records_with_wal(bytes, None, limits)
}

/// Like [`read_records`], with the bytes of an SQLite write-ahead log
/// (`rpmdb.sqlite-wal`) whose committed pages override the main file's.
/// The WAL is ignored for the other formats.
pub fn read_records_with_wal<'a>(
    bytes: &'a [u8],
    wal: Option<&'a [u8]>,
    limits: &Limits,
) -> Result<Vec<Record<'a>>, RpmdbError> {
    let mut records = match detect(bytes).ok_or(RpmdbError::UnknownFormat)? {
        DbFormat::Sqlite => sqlite::records(bytes, wal, limits)?,
        DbFormat::BerkeleyDb => bdb::records(bytes, limits)?,
        DbFormat::Ndb => ndb::records(bytes, limits)?,
    };
    records.sort_by_key(|record| record.key);
    Ok(records)
}

/// Reads every installed package, sorted by header number (which follows
/// install order).
pub fn read_packages(bytes: &[u8], limits: &Limits) -> Result<Vec<RpmPackage>, RpmdbError> {
    read_packages_with_wal(bytes, None, limits)
}

/// Like [`read_packages`], with an SQLite write-ahead log (see
/// [`read_records_with_wal`]). Pass the `-wal` file when the image has a
/// non-empty one: rpm checkpoints on a clean exit, but an interrupted rpm
/// leaves committed transactions only in the WAL.
pub fn read_packages_with_wal(
    bytes: &[u8],
    wal: Option<&[u8]>,
    limits: &Limits,
) -> Result<Vec<RpmPackage>, RpmdbError> {
    let format = detect(bytes).ok_or(RpmdbError::UnknownFormat)?;
    read_records_with_wal(bytes, wal, limits)?
        .iter()
        .map(|record| {
            RpmPackage::from_blob(record.key, &record.blob).map_err(|source| RpmdbError::Package {
                format,
                key: record.key,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(detect(b"SQLite format 3\0rest"), Some(DbFormat::Sqlite));
        assert_eq!(detect(b"RpmP\0\0\0\0"), Some(DbFormat::Ndb));
        let mut bdb = vec![0u8; 16];
        bdb[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        assert_eq!(detect(&bdb), Some(DbFormat::BerkeleyDb));
        bdb[12..16].copy_from_slice(&0x0006_1561u32.to_be_bytes());
        assert_eq!(detect(&bdb), Some(DbFormat::BerkeleyDb));
        assert_eq!(detect(b"short"), None);
        assert!(matches!(
            read_packages(b"not a database at all", &Limits::default()),
            Err(RpmdbError::UnknownFormat)
        ));
    }
}
