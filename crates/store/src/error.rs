use crate::BackendKind;
use crate::queue::JobId;

/// Why a store operation failed. Absent rows are `Ok(None)`, not errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(
        "unsupported database url `{0}`; expected `sqlite://PATH?mode=rwc` (a file) or `postgres://USER@HOST:PORT/DB`"
    )]
    UnsupportedUrl(String),
    #[error(
        "failed to connect to the {backend:?} database; check the url, that the server runs and that the file's directory exists"
    )]
    Connect {
        backend: BackendKind,
        #[source]
        source: sqlx::Error,
    },
    #[error("failed to apply the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("failed to {operation}")]
    Database {
        operation: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "invalid repository name `{0}`; expected lowercase path components such as `unscanned/team/app`"
    )]
    InvalidRepository(String),
    #[error(
        "invalid tag `{0}`; expected 1 to 128 characters of [A-Za-z0-9_.-], not starting with `.` or `-`"
    )]
    InvalidTag(String),
    #[error("manifest `{digest}` does not exist in repository `{repository}`")]
    UnknownManifest { repository: String, digest: String },
    #[error("upload session `{0}` does not exist (finished, expired or never started)")]
    UnknownUpload(String),
    #[error(
        "upload session `{id}` has received {actual} bytes, but the chunk starts at byte {expected}"
    )]
    UploadOffsetMismatch {
        id: String,
        expected: u64,
        actual: u64,
    },
    #[error("job {0} does not exist")]
    UnknownJob(JobId),
    #[error(
        "job {0} is no longer leased to this worker (its lease expired and it was claimed again, or it finished)"
    )]
    LeaseLost(JobId),
    #[error(
        "stored column `{column}` holds `{value}`, which is not valid; the database was changed outside portcullis"
    )]
    Corrupt { column: &'static str, value: String },
}

impl StoreError {
    /// A `map_err` adapter naming the operation that failed.
    pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Database { operation, source }
    }
}
