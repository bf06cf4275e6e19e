//! The data directory and the life cycle of the index in it.
//!
//! ```text
//! $PORTCULLIS_HOME/
//!   db/index.redb          the index scans read
//!   db/index.redb.tmp-PID  an index being built or imported (never read)
//!   db/update.lock         held while an update or import runs
//!   db/warnings.txt        what the last update skipped, one line each
//!   feeds/<source>/…       downloaded feed files and their cache metadata
//! ```
//!
//! A new index is always written beside the current one, synced, and renamed
//! over it: a reader sees the old file or the new one, never a mix, and a
//! killed update leaves the old index in place (its temporary file is removed
//! by the next update).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::index::{Index, IndexError};

/// Errors of managing the data directory.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot read or write `{path}`")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no advisory database in {home}; run `portcullis db update` (or `portcullis db import FILE` where there is no network)"
    )]
    Missing { home: String },
    #[error(
        "another `portcullis db update` or `db import` is running on {home} (lock {lock}); wait for it to finish"
    )]
    Busy { home: String, lock: String },
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    #[error("{0}")]
    Bundle(String),
    #[error("{0}")]
    Config(String),
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DbError + '_ {
    move |source| DbError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The data directory.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

/// Held while an update or import runs; released on drop (and by the OS if the process dies).
#[derive(Debug)]
pub struct UpdateLock {
    _file: File,
}

impl Home {
    pub fn new(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db_dir(&self) -> PathBuf {
        self.root.join("db")
    }

    pub fn index_path(&self) -> PathBuf {
        self.db_dir().join("index.redb")
    }

    pub fn warnings_path(&self) -> PathBuf {
        self.db_dir().join("warnings.txt")
    }

    pub fn feeds_dir(&self) -> PathBuf {
        self.root.join("feeds")
    }

    /// Opens the current index.
    pub fn open_index(&self) -> Result<Index, DbError> {
        let path = self.index_path();
        if !path.exists() {
            return Err(DbError::Missing {
                home: self.root.display().to_string(),
            });
        }
        Ok(Index::open(&path)?)
    }

    /// Takes the update lock without waiting, and removes what killed updates left behind.
    pub fn lock(&self) -> Result<UpdateLock, DbError> {
        let dir = self.db_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join("update.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(DbError::Busy {
                    home: self.root.display().to_string(),
                    lock: path.display().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        for entry in std::fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            if entry.file_name().to_string_lossy().contains(".tmp-") {
                let stale = entry.path();
                std::fs::remove_file(&stale).map_err(io_err(&stale))?;
            }
        }
        Ok(UpdateLock { _file: file })
    }

    /// A fresh path beside the index for a new one (removed by the next
    /// [`Home::lock`] if this process dies before installing it).
    pub fn temp_index_path(&self, _lock: &UpdateLock) -> PathBuf {
        self.db_dir()
            .join(format!("index.redb.tmp-{}", std::process::id()))
    }

    /// Makes `built` the current index: sync it, rename it over the old one,
    /// sync the directory.
    pub fn install(&self, _lock: &UpdateLock, built: &Path) -> Result<(), DbError> {
        File::open(built)
            .and_then(|f| f.sync_all())
            .map_err(io_err(built))?;
        let index = self.index_path();
        std::fs::rename(built, &index).map_err(io_err(&index))?;
        sync_dir(&self.db_dir())
    }

    /// Replaces the warnings file with `lines`.
    pub fn write_warnings(&self, _lock: &UpdateLock, lines: &[String]) -> Result<(), DbError> {
        let path = self.warnings_path();
        let tmp = self
            .db_dir()
            .join(format!("warnings.txt.tmp-{}", std::process::id()));
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        for line in lines {
            writeln!(file, "{line}").map_err(io_err(&tmp))?;
        }
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), DbError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}
