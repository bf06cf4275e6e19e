//! Registry metadata: repositories, manifests, tags, blob links and upload sessions.
//!
//! Repositories come into being with their first manifest, blob link or upload. Manifests
//! are keyed by `(repository, digest)` and are immutable (putting the same digest again
//! changes nothing); a tag points at a manifest of its own repository, moving it is one
//! atomic upsert, and deleting a manifest deletes the tags that point at it. Referrers are
//! the manifests of a repository whose `subject` is a given digest. Blob links record which
//! repositories may serve a blob (cross-repository mounts, garbage collection); the blob
//! bytes themselves are not stored here.

mod references;

use std::str::FromStr;
use std::time::Duration;

use portcullis_types::Digest;

use crate::transaction::with_transaction;
use crate::{Store, StoreError, StoreTransaction, millis, now_millis, with_pool};

pub use references::{ManifestReference, ReferenceKind};

/// A manifest to record, as the registry learned it from the pushed bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewManifest {
    /// The digest of the manifest bytes.
    pub digest: Digest,
    /// The manifest's media type (`application/vnd.oci.image.manifest.v1+json`, …).
    pub media_type: String,
    /// The size of the manifest bytes.
    pub size: u64,
    /// The `subject` descriptor's digest, for the referrers API.
    pub subject: Option<Digest>,
    /// The `artifactType` (or, failing that, the config media type) for referrer filtering.
    pub artifact_type: Option<String>,
}

/// A recorded manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestRecord {
    pub repository: String,
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
    pub subject: Option<Digest>,
    pub artifact_type: Option<String>,
    /// When it was first pushed, in Unix milliseconds.
    pub created_at_ms: i64,
}

/// One page of a lexically ordered listing (tags or repositories).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TagPage {
    /// The names, in byte order.
    pub names: Vec<String>,
    /// `Some(last name of this page)` when more names follow; pass it as `last` for the next
    /// page (the OCI `Link` header's `last=` parameter).
    pub next: Option<String>,
}

/// A chunked upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSession {
    pub id: String,
    pub repository: String,
    pub bytes_received: u64,
    pub started_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct ManifestRow {
    repository: String,
    digest: String,
    media_type: String,
    size: i64,
    subject_digest: Option<String>,
    artifact_type: Option<String>,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct UploadRow {
    id: String,
    repository: String,
    bytes_received: i64,
    started_at: i64,
    updated_at: i64,
}

const MANIFEST_COLUMNS: &str =
    "m.repository, m.digest, m.media_type, m.size, m.subject_digest, m.artifact_type, m.created_at";

impl TryFrom<ManifestRow> for ManifestRecord {
    type Error = StoreError;

    fn try_from(row: ManifestRow) -> Result<Self, StoreError> {
        Ok(Self {
            digest: parse_digest("manifests.digest", &row.digest)?,
            subject: row
                .subject_digest
                .as_deref()
                .map(|s| parse_digest("manifests.subject_digest", s))
                .transpose()?,
            repository: row.repository,
            media_type: row.media_type,
            size: to_u64("manifests.size", row.size)?,
            artifact_type: row.artifact_type,
            created_at_ms: row.created_at,
        })
    }
}

impl TryFrom<UploadRow> for UploadSession {
    type Error = StoreError;

    fn try_from(row: UploadRow) -> Result<Self, StoreError> {
        Ok(Self {
            bytes_received: to_u64("upload_sessions.bytes_received", row.bytes_received)?,
            id: row.id,
            repository: row.repository,
            started_at_ms: row.started_at,
            updated_at_ms: row.updated_at,
        })
    }
}

fn parse_digest(column: &'static str, value: &str) -> Result<Digest, StoreError> {
    Digest::from_str(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_owned(),
    })
}

fn to_u64(column: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_string(),
    })
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Checks a repository name against the OCI distribution grammar:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most 255 bytes.
pub fn validate_repository(name: &str) -> Result<(), StoreError> {
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return false;
        }
        let mut i = 0;
        while i < bytes.len() {
            if alnum(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !alnum(bytes[i]) {
                i += 1;
            }
            let separator = &c[start..i];
            let valid = separator == "."
                || separator == "_"
                || separator == "__"
                || separator.bytes().all(|b| b == b'-');
            if !valid {
                return false;
            }
        }
        true
    };
    if name.len() > 255 || !name.split('/').all(component_ok) {
        return Err(StoreError::InvalidRepository(name.to_owned()));
    }
    Ok(())
}

/// Checks a tag against the OCI distribution grammar: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn validate_tag(tag: &str) -> Result<(), StoreError> {
    let bytes = tag.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !valid {
        return Err(StoreError::InvalidTag(tag.to_owned()));
    }
    Ok(())
}

/// `LIMIT` for a page of `n` (one more, to learn whether another page follows).
fn page_limit(n: Option<u32>) -> i64 {
    n.map_or(i64::MAX, |n| i64::from(n) + 1)
}

fn into_page(mut names: Vec<String>, n: Option<u32>) -> TagPage {
    let more = n.is_some_and(|n| names.len() > n as usize);
    if let Some(n) = n {
        names.truncate(n as usize);
    }
    let next = if more { names.last().cloned() } else { None };
    TagPage { names, next }
}

impl StoreTransaction {
    async fn ensure_repository(&mut self, repository: &str) -> Result<(), StoreError> {
        validate_repository(repository)?;
        let now = self.now;
        with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO repositories (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(repository)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::db("record a repository"))?;
        Ok(())
    }

    /// Records a manifest; returns false if the repository already had it (manifests are
    /// content-addressed, so the existing record stands).
    pub async fn put_manifest(
        &mut self,
        repository: &str,
        manifest: &NewManifest,
    ) -> Result<bool, StoreError> {
        self.ensure_repository(repository).await?;
        let now = self.now;
        let result = with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO manifests (repository, digest, media_type, size, subject_digest, artifact_type, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (repository, digest) DO NOTHING",
            )
            .bind(repository)
            .bind(manifest.digest.to_string())
            .bind(&manifest.media_type)
            .bind(to_i64(manifest.size))
            .bind(manifest.subject.as_ref().map(ToString::to_string))
            .bind(manifest.artifact_type.as_deref())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("record a manifest"))?;
        Ok(result == 1)
    }

    /// Points `tag` at `digest` (a manifest of the same repository), creating or moving it.
    pub async fn set_tag(
        &mut self,
        repository: &str,
        tag: &str,
        digest: &Digest,
    ) -> Result<(), StoreError> {
        validate_tag(tag)?;
        let now = self.now;
        let digest_text = digest.to_string();
        let exists: Option<i32> = with_transaction!(self, conn => {
            sqlx::query_scalar("SELECT 1 FROM manifests WHERE repository = $1 AND digest = $2")
                .bind(repository)
                .bind(&digest_text)
                .fetch_optional(&mut *conn)
                .await
        })
        .map_err(StoreError::db("look up a manifest"))?;
        if exists.is_none() {
            return Err(StoreError::UnknownManifest {
                repository: repository.to_owned(),
                digest: digest_text,
            });
        }
        with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO tags (repository, tag, digest, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (repository, tag) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at",
            )
            .bind(repository)
            .bind(tag)
            .bind(&digest_text)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::db("set a tag"))?;
        Ok(())
    }

    /// Removes a tag; returns whether it existed. The manifest stays.
    pub async fn delete_tag(&mut self, repository: &str, tag: &str) -> Result<bool, StoreError> {
        let affected = with_transaction!(self, conn => {
            sqlx::query("DELETE FROM tags WHERE repository = $1 AND tag = $2")
                .bind(repository)
                .bind(tag)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("delete a tag"))?;
        Ok(affected > 0)
    }

    /// Removes a manifest and every tag pointing at it; returns whether it existed.
    /// Its referrers stay (a referrer may outlive its subject).
    pub async fn delete_manifest(
        &mut self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        let affected = with_transaction!(self, conn => {
            sqlx::query("DELETE FROM manifests WHERE repository = $1 AND digest = $2")
                .bind(repository)
                .bind(digest.to_string())
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("delete a manifest"))?;
        Ok(affected > 0)
    }

    /// Records that `repository` may serve blob `digest`; returns false if it already could.
    pub async fn link_blob(
        &mut self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        self.ensure_repository(repository).await?;
        let now = self.now;
        let affected = with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO blob_links (repository, digest, linked_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (repository, digest) DO NOTHING",
            )
            .bind(repository)
            .bind(digest.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("link a blob"))?;
        Ok(affected == 1)
    }

    /// Removes a blob link; returns whether it existed.
    pub async fn unlink_blob(
        &mut self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        let affected = with_transaction!(self, conn => {
            sqlx::query("DELETE FROM blob_links WHERE repository = $1 AND digest = $2")
                .bind(repository)
                .bind(digest.to_string())
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("unlink a blob"))?;
        Ok(affected > 0)
    }
}

impl Store {
    /// Records a manifest and, if given, points `tag` at it, in one transaction: a reader
    /// sees both or neither.
    pub async fn put_manifest_and_tag(
        &self,
        repository: &str,
        manifest: &NewManifest,
        tag: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(tag) = tag {
            validate_tag(tag)?;
        }
        let mut tx = self.begin().await?;
        tx.put_manifest(repository, manifest).await?;
        if let Some(tag) = tag {
            tx.set_tag(repository, tag, &manifest.digest).await?;
        }
        tx.commit().await
    }

    /// Points `tag` at an existing manifest of `repository` (an atomic move if it exists).
    pub async fn set_tag(
        &self,
        repository: &str,
        tag: &str,
        digest: &Digest,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.set_tag(repository, tag, digest).await?;
        tx.commit().await
    }

    /// Removes a tag; returns whether it existed.
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let existed = tx.delete_tag(repository, tag).await?;
        tx.commit().await?;
        Ok(existed)
    }

    /// Removes a manifest and its tags; returns whether it existed.
    pub async fn delete_manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let existed = tx.delete_manifest(repository, digest).await?;
        tx.commit().await?;
        Ok(existed)
    }

    /// Records that `repository` may serve blob `digest`; returns false if it already could.
    pub async fn link_blob(&self, repository: &str, digest: &Digest) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let created = tx.link_blob(repository, digest).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Removes a blob link; returns whether it existed.
    pub async fn unlink_blob(&self, repository: &str, digest: &Digest) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let existed = tx.unlink_blob(repository, digest).await?;
        tx.commit().await?;
        Ok(existed)
    }

    /// The manifest `digest` of `repository`, if recorded.
    pub async fn manifest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<ManifestRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m WHERE m.repository = $1 AND m.digest = $2"
        ));
        let row: Option<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(repository)
                .bind(digest.to_string())
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("read a manifest"))?;
        row.map(ManifestRecord::try_from).transpose()
    }

    /// The manifest that `tag` of `repository` points at, if any.
    pub async fn manifest_by_tag(
        &self,
        repository: &str,
        tag: &str,
    ) -> Result<Option<ManifestRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {MANIFEST_COLUMNS} FROM tags t JOIN manifests m \
             ON m.repository = t.repository AND m.digest = t.digest \
             WHERE t.repository = $1 AND t.tag = $2"
        ));
        let row: Option<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(repository)
                .bind(tag)
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("read a tagged manifest"))?;
        row.map(ManifestRecord::try_from).transpose()
    }

    /// Tags of `repository` in byte order: at most `n` (all if `None`), those after `last`.
    pub async fn list_tags(
        &self,
        repository: &str,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<TagPage, StoreError> {
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT tag FROM tags WHERE repository = $1 AND tag > $2 ORDER BY tag LIMIT $3",
            )
            .bind(repository)
            .bind(last.unwrap_or(""))
            .bind(page_limit(n))
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("list tags"))?;
        Ok(into_page(names, n))
    }

    /// The tags of `repository` that point at `digest`, in byte order.
    pub async fn tags_of(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Vec<String>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query_scalar("SELECT tag FROM tags WHERE repository = $1 AND digest = $2 ORDER BY tag")
                .bind(repository)
                .bind(digest.to_string())
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list the tags of a manifest"))
    }

    /// Repository names in byte order, paginated like [`Store::list_tags`] (the catalog API).
    pub async fn list_repositories(
        &self,
        n: Option<u32>,
        last: Option<&str>,
    ) -> Result<TagPage, StoreError> {
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT name FROM repositories WHERE name > $1 ORDER BY name LIMIT $2")
                .bind(last.unwrap_or(""))
                .bind(page_limit(n))
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list repositories"))?;
        Ok(into_page(names, n))
    }

    /// The manifests of `repository` whose subject is `subject`, optionally only those of
    /// `artifact_type`, ordered by digest.
    pub async fn referrers(
        &self,
        repository: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<ManifestRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests m \
             WHERE m.repository = $1 AND m.subject_digest = $2 \
             AND ($3 IS NULL OR m.artifact_type = $3) ORDER BY m.digest"
        ));
        let rows: Vec<ManifestRow> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(repository)
                .bind(subject.to_string())
                .bind(artifact_type)
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list referrers"))?;
        rows.into_iter().map(ManifestRecord::try_from).collect()
    }

    /// Whether `repository` may serve blob `digest`.
    pub async fn blob_linked(&self, repository: &str, digest: &Digest) -> Result<bool, StoreError> {
        let found: Option<i32> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT 1 FROM blob_links WHERE repository = $1 AND digest = $2")
                .bind(repository)
                .bind(digest.to_string())
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("look up a blob link"))?;
        Ok(found.is_some())
    }

    /// The repositories linking blob `digest`, in byte order (empty: garbage).
    pub async fn blob_repositories(&self, digest: &Digest) -> Result<Vec<String>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query_scalar("SELECT repository FROM blob_links WHERE digest = $1 ORDER BY repository")
                .bind(digest.to_string())
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list the repositories of a blob"))
    }

    /// Starts a chunked upload session `id` (chosen by the caller, a UUID) in `repository`.
    pub async fn create_upload(
        &self,
        repository: &str,
        id: &str,
    ) -> Result<UploadSession, StoreError> {
        let mut tx = self.begin().await?;
        tx.ensure_repository(repository).await?;
        let now = tx.now;
        with_transaction!(tx, conn => {
            sqlx::query(
                "INSERT INTO upload_sessions (id, repository, bytes_received, started_at, updated_at) \
                 VALUES ($1, $2, 0, $3, $3)",
            )
            .bind(id)
            .bind(repository)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::db("start an upload session"))?;
        tx.commit().await?;
        Ok(UploadSession {
            id: id.to_owned(),
            repository: repository.to_owned(),
            bytes_received: 0,
            started_at_ms: now,
            updated_at_ms: now,
        })
    }

    /// The upload session `id`, if it is open.
    pub async fn upload(&self, id: &str) -> Result<Option<UploadSession>, StoreError> {
        let row: Option<UploadRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, repository, bytes_received, started_at, updated_at FROM upload_sessions WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("read an upload session"))?;
        row.map(UploadSession::try_from).transpose()
    }

    /// Records a chunk `[from, to)` of upload `id`. The session must have received exactly
    /// `from` bytes (chunks arrive in order); the check and the update are one statement, so
    /// two racing chunks cannot both succeed.
    pub async fn advance_upload(
        &self,
        id: &str,
        from: u64,
        to: u64,
    ) -> Result<UploadSession, StoreError> {
        let now = now_millis();
        let row: Option<UploadRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE upload_sessions SET bytes_received = $3, updated_at = $4 \
                 WHERE id = $1 AND bytes_received = $2 \
                 RETURNING id, repository, bytes_received, started_at, updated_at",
            )
            .bind(id)
            .bind(to_i64(from))
            .bind(to_i64(to.max(from)))
            .bind(now)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("advance an upload session"))?;
        match row {
            Some(row) => UploadSession::try_from(row),
            None => match self.upload(id).await? {
                Some(session) => Err(StoreError::UploadOffsetMismatch {
                    id: id.to_owned(),
                    expected: from,
                    actual: session.bytes_received,
                }),
                None => Err(StoreError::UnknownUpload(id.to_owned())),
            },
        }
    }

    /// Closes upload `id` (its blob was committed or the client cancelled) and returns it.
    pub async fn finish_upload(&self, id: &str) -> Result<UploadSession, StoreError> {
        let row: Option<UploadRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM upload_sessions WHERE id = $1 \
                 RETURNING id, repository, bytes_received, started_at, updated_at",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("finish an upload session"))?;
        match row {
            Some(row) => UploadSession::try_from(row),
            None => Err(StoreError::UnknownUpload(id.to_owned())),
        }
    }

    /// Closes every upload session idle for longer than `idle` and returns them, sorted by
    /// id, so that the caller can delete their partial files.
    pub async fn expire_uploads(&self, idle: Duration) -> Result<Vec<UploadSession>, StoreError> {
        let cutoff = now_millis().saturating_sub(millis(idle));
        let rows: Vec<UploadRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM upload_sessions WHERE updated_at < $1 \
                 RETURNING id, repository, bytes_received, started_at, updated_at",
            )
            .bind(cutoff)
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("expire upload sessions"))?;
        let mut sessions = rows
            .into_iter()
            .map(UploadSession::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        sessions.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(sessions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_the_oci_grammar() {
        for ok in [
            "unscanned/team/app",
            "scanned/a-b/c.d",
            "a__b/c---d",
            "x",
            "a1/b2_c3",
        ] {
            assert!(validate_repository(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Unscanned/x",
            "a//b",
            "/a",
            "a/",
            "a___b",
            "a-",
            "-a",
            "a..b",
            "a/b c",
            "a._b",
        ] {
            assert!(validate_repository(bad).is_err(), "{bad}");
        }
        assert!(validate_repository(&"a".repeat(256)).is_err());
    }

    #[test]
    fn tags_follow_the_oci_grammar() {
        for ok in ["latest", "v1.2.3", "_x", "A-b_c.d", &"t".repeat(128)] {
            assert!(validate_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "é", &"t".repeat(129)] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pages_report_a_next_marker_only_when_more_follow() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            into_page(names(&["a", "b", "c"]), Some(2)).next.as_deref(),
            Some("b")
        );
        assert_eq!(into_page(names(&["a", "b"]), Some(2)).next, None);
        assert_eq!(into_page(names(&["a"]), Some(0)), TagPage::default());
        assert_eq!(into_page(names(&["a", "b"]), None).names.len(), 2);
    }
}
