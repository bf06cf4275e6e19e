//! What a manifest references: its blobs (config, layers) and, for an index, its child
//! manifests, recorded when it is pushed so that promotion and garbage collection need not
//! re-read manifest bytes.

use portcullis_types::Digest;

use super::{MANIFEST_COLUMNS, ManifestRow, parse_digest, to_i64};
use crate::transaction::with_transaction;
use crate::{ManifestRecord, Store, StoreError, StoreTransaction, with_pool};

/// What a manifest references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReferenceKind {
    /// A blob: a config or a layer.
    Blob,
    /// A child manifest of an index.
    Manifest,
}

impl ReferenceKind {
    fn as_str(self) -> &'static str {
        match self {
            ReferenceKind::Blob => "blob",
            ReferenceKind::Manifest => "manifest",
        }
    }
}

/// One reference of a manifest, in the order the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestReference {
    pub kind: ReferenceKind,
    pub digest: Digest,
}

#[derive(sqlx::FromRow)]
struct ReferenceRow {
    kind: String,
    target: String,
}

impl TryFrom<ReferenceRow> for ManifestReference {
    type Error = StoreError;

    fn try_from(row: ReferenceRow) -> Result<Self, StoreError> {
        let kind = match row.kind.as_str() {
            "blob" => ReferenceKind::Blob,
            "manifest" => ReferenceKind::Manifest,
            _ => {
                return Err(StoreError::Corrupt {
                    column: "manifest_references.kind",
                    value: row.kind,
                });
            }
        };
        Ok(Self {
            kind,
            digest: parse_digest("manifest_references.target", &row.target)?,
        })
    }
}

const SELECT_REFERENCES: &str = "SELECT kind, target FROM manifest_references \
     WHERE repository = $1 AND digest = $2 ORDER BY position";

impl StoreTransaction {
    /// Records the references of manifest `digest` of `repository` (recorded already with
    /// [`StoreTransaction::put_manifest`]); a manifest already recorded keeps its references.
    pub async fn put_manifest_references(
        &mut self,
        repository: &str,
        digest: &Digest,
        references: &[ManifestReference],
    ) -> Result<(), StoreError> {
        let digest_text = digest.to_string();
        for (position, reference) in references.iter().enumerate() {
            with_transaction!(self, conn => {
                sqlx::query(
                    "INSERT INTO manifest_references (repository, digest, position, kind, target) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repository, digest, position) DO NOTHING",
                )
                .bind(repository)
                .bind(&digest_text)
                .bind(to_i64(position as u64))
                .bind(reference.kind.as_str())
                .bind(reference.digest.to_string())
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
            .map_err(StoreError::db("record a manifest reference"))?;
        }
        Ok(())
    }

    /// The references of manifest `digest` of `repository`, in manifest order.
    pub async fn manifest_references(
        &mut self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<ManifestReference>, StoreError> {
        let rows: Vec<ReferenceRow> = with_transaction!(self, conn => {
            sqlx::query_as(SELECT_REFERENCES)
                .bind(repository)
                .bind(digest.to_string())
                .fetch_all(&mut *conn)
                .await
        })
        .map_err(StoreError::db("read manifest references"))?;
        rows.into_iter().map(ManifestReference::try_from).collect()
    }

    /// The manifest `digest` of `repository`, as this transaction sees it.
    pub async fn manifest(
        &mut self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<ManifestRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m WHERE m.repository = $1 AND m.digest = $2"
        ));
        let row: Option<ManifestRow> = with_transaction!(self, conn => {
            sqlx::query_as(sql)
                .bind(repository)
                .bind(digest.to_string())
                .fetch_optional(&mut *conn)
                .await
        })
        .map_err(StoreError::db("read a manifest"))?;
        row.map(ManifestRecord::try_from).transpose()
    }
}

impl Store {
    /// The references of manifest `digest` of `repository`, in manifest order.
    pub async fn manifest_references(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<ManifestReference>, StoreError> {
        let rows: Vec<ReferenceRow> = with_pool!(self, pool => {
            sqlx::query_as(SELECT_REFERENCES)
                .bind(repository)
                .bind(digest.to_string())
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("read manifest references"))?;
        rows.into_iter().map(ManifestReference::try_from).collect()
    }

    /// Every manifest of `repository`, ordered by digest.
    pub async fn manifests_of(&self, repository: &str) -> Result<Vec<ManifestRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m WHERE m.repository = $1 ORDER BY m.digest"
        ));
        let rows: Vec<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(repository).fetch_all(pool).await
        })
        .map_err(StoreError::db("list manifests"))?;
        rows.into_iter().map(ManifestRecord::try_from).collect()
    }

    /// Whether repository `name` exists (it has had a manifest, blob link or upload).
    pub async fn repository_exists(&self, name: &str) -> Result<bool, StoreError> {
        let found: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT 1 FROM repositories WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("look up a repository"))?;
        Ok(found.is_some())
    }

    /// Every open upload session id, sorted (the partial files to keep at start-up).
    pub async fn upload_ids(&self) -> Result<Vec<String>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM upload_sessions ORDER BY id")
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list upload sessions"))
    }
}
