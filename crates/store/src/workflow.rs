//! Images, scans, decisions and approvals of the gating workflow, and the policy documents
//! the security team manages.
//!
//! An [`ImageRecord`] is one manifest (or index) pushed to a repository of the unscanned
//! zone, with its [`ImageState`]; its tags are recorded as pushed and marked when promoted.
//! A [`ScanRecord`] is the one scan of an image manifest digest, shared by every repository
//! it was pushed to. State changes are conditional ([`StoreTransaction::transition_image`]
//! names the states it moves from), so that two workers deciding the same image cannot both
//! win.

use std::fmt;

use portcullis_types::Digest;

use crate::transaction::with_transaction;
use crate::{Store, StoreError, StoreTransaction, with_pool};

/// Where an image is in the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageState {
    /// Pushed; its scan is queued.
    Queued,
    /// A worker is scanning it.
    Scanning,
    /// Passed (or approved) and tagged in the scanned zone.
    Promoted,
    /// The policy nudged: held until someone with the right role approves it.
    AwaitingApproval,
    /// The policy blocked it.
    Rejected,
    /// It could not be scanned (the reason says why).
    Failed,
}

impl ImageState {
    /// Every state, in workflow order.
    pub const ALL: [ImageState; 6] = [
        Self::Queued,
        Self::Scanning,
        Self::Promoted,
        Self::AwaitingApproval,
        Self::Rejected,
        Self::Failed,
    ];

    /// The name stored and shown (`awaiting_approval`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Scanning => "scanning",
            Self::Promoted => "promoted",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Whether a decision was reached (no scan is pending).
    pub fn is_settled(self) -> bool {
        !matches!(self, Self::Queued | Self::Scanning)
    }
}

impl fmt::Display for ImageState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A push to record.
#[derive(Clone, Debug)]
pub struct NewImage<'a> {
    pub repository: &'a str,
    pub digest: &'a Digest,
    pub media_type: &'a str,
    pub team: &'a str,
    pub app: &'a str,
    pub tag: Option<&'a str>,
    /// For an index: its image manifests with their platforms (`linux/amd64`), in order.
    pub children: &'a [(Digest, Option<String>)],
    pub pushed_by: &'a str,
}

/// An image as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImageRecord {
    pub id: i64,
    pub repository: String,
    pub digest: String,
    pub media_type: String,
    pub team: String,
    pub app: String,
    #[serde(serialize_with = "serialize_state")]
    pub state: ImageState,
    pub reason: Option<String>,
    pub stage: Option<String>,
    pub outcome: Option<String>,
    /// The policy decision as JSON (for an index: per platform and as a whole).
    pub decision: Option<String>,
    pub pushed_by: String,
    pub pushed_at_ms: i64,
    pub updated_at_ms: i64,
    pub decided_at_ms: Option<i64>,
}

fn serialize_state<S: serde::Serializer>(state: &ImageState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

/// A tag pushed for an image.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct ImageTag {
    pub tag: String,
    pub pushed_at_ms: i64,
    pub promoted_at_ms: Option<i64>,
}

/// One platform manifest of an index.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImageChild {
    pub digest: String,
    pub platform: Option<String>,
}

/// The one scan of a manifest digest.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ScanRecord {
    pub digest: String,
    /// `done` or `failed`.
    pub state: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    /// The report's summary as JSON.
    pub summary: Option<String>,
    /// The whole scan report as JSON.
    pub report: Option<String>,
    pub error: Option<String>,
}

/// An approval of an image at a stage: at the promotion stage it released a held image;
/// at another stage it records that the nudge there was accepted.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Approval {
    pub id: i64,
    pub image_id: i64,
    pub approver: String,
    pub reason: String,
    pub at_ms: i64,
    /// The stage it was given at (`None` only for an approval of an image that was never
    /// decided at a stage, which the workflow does not create).
    pub stage: Option<String>,
}

/// A stored policy document.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct PolicyDocument {
    pub name: String,
    pub document: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at_ms: i64,
}

/// Which images to list.
#[derive(Clone, Debug, Default)]
pub struct ImageFilter {
    pub team: Option<String>,
    /// Only these teams (a developer's view); `None` is every team.
    pub teams: Option<Vec<String>>,
    pub state: Option<ImageState>,
    pub repository: Option<String>,
    pub limit: u32,
}

const IMAGE_COLUMNS: &str = "id, repository, digest, media_type, team, app, state, reason, stage, outcome, decision, pushed_by, pushed_at, updated_at, decided_at";

#[derive(sqlx::FromRow)]
struct ImageRow {
    id: i64,
    repository: String,
    digest: String,
    media_type: String,
    team: String,
    app: String,
    state: String,
    reason: Option<String>,
    stage: Option<String>,
    outcome: Option<String>,
    decision: Option<String>,
    pushed_by: String,
    pushed_at: i64,
    updated_at: i64,
    decided_at: Option<i64>,
}

impl TryFrom<ImageRow> for ImageRecord {
    type Error = StoreError;
    fn try_from(r: ImageRow) -> Result<Self, StoreError> {
        let state = ImageState::parse(&r.state).ok_or(StoreError::Corrupt {
            column: "images.state",
            value: r.state.clone(),
        })?;
        Ok(ImageRecord {
            id: r.id,
            repository: r.repository,
            digest: r.digest,
            media_type: r.media_type,
            team: r.team,
            app: r.app,
            state,
            reason: r.reason,
            stage: r.stage,
            outcome: r.outcome,
            decision: r.decision,
            pushed_by: r.pushed_by,
            pushed_at_ms: r.pushed_at,
            updated_at_ms: r.updated_at,
            decided_at_ms: r.decided_at,
        })
    }
}

/// What a decision writes on an image.
#[derive(Clone, Debug)]
pub struct Transition<'a> {
    pub to: ImageState,
    pub reason: Option<&'a str>,
    pub stage: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub decision: Option<&'a str>,
}

impl StoreTransaction {
    /// Records a push; returns the image and whether it is new in this repository (a
    /// re-push of the same digest adds its tag and changes nothing else).
    pub async fn record_push(
        &mut self,
        image: &NewImage<'_>,
    ) -> Result<(ImageRecord, bool), StoreError> {
        let now = self.now;
        let inserted: Option<i64> = with_transaction!(self, conn => {
            sqlx::query_scalar(
                "INSERT INTO images (repository, digest, media_type, team, app, state, pushed_by, pushed_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $7) \
                 ON CONFLICT (repository, digest) DO NOTHING RETURNING id",
            )
            .bind(image.repository)
            .bind(image.digest.to_string())
            .bind(image.media_type)
            .bind(image.team)
            .bind(image.app)
            .bind(image.pushed_by)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
        })
        .map_err(StoreError::db("record a pushed image"))?;
        if let Some(id) = inserted {
            for (position, (child, platform)) in image.children.iter().enumerate() {
                with_transaction!(self, conn => {
                    sqlx::query(
                        "INSERT INTO image_children (image_id, position, child_digest, platform) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(i64::try_from(position).unwrap_or(i64::MAX))
                    .bind(child.to_string())
                    .bind(platform.as_deref())
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
                })
                .map_err(StoreError::db("record an index's platform manifest"))?;
            }
        }
        let record = self
            .image_by_digest(image.repository, image.digest)
            .await?
            .ok_or_else(|| StoreError::UnknownManifest {
                repository: image.repository.to_owned(),
                digest: image.digest.to_string(),
            })?;
        if let Some(tag) = image.tag {
            with_transaction!(self, conn => {
                sqlx::query(
                    "INSERT INTO image_tags (image_id, tag, pushed_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (image_id, tag) DO UPDATE SET pushed_at = excluded.pushed_at",
                )
                .bind(record.id)
                .bind(tag)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
            .map_err(StoreError::db("record a pushed tag"))?;
        }
        Ok((record, inserted.is_some()))
    }

    /// The image `digest` of `repository`, read in this transaction.
    pub async fn image_by_digest(
        &mut self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<ImageRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {IMAGE_COLUMNS} FROM images WHERE repository = $1 AND digest = $2"
        ));
        let row: Option<ImageRow> = with_transaction!(self, conn => {
            sqlx::query_as(sql)
                .bind(repository)
                .bind(digest.to_string())
                .fetch_optional(&mut *conn)
                .await
        })
        .map_err(StoreError::db("read an image"))?;
        row.map(ImageRecord::try_from).transpose()
    }

    /// Moves image `id` to `transition.to` if it is in one of `from`; returns whether it
    /// moved (false: another worker or person got there first).
    pub async fn transition_image(
        &mut self,
        id: i64,
        from: &[ImageState],
        transition: &Transition<'_>,
    ) -> Result<bool, StoreError> {
        let now = self.now;
        let settled = transition.to.is_settled().then_some(now);
        let states: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        // The states are constants of this crate, never request data.
        let placeholders: Vec<String> = (0..states.len()).map(|i| format!("${}", i + 9)).collect();
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE images SET state = $1, reason = COALESCE($2, reason), stage = COALESCE($3, stage), \
             outcome = COALESCE($4, outcome), decision = COALESCE($5, decision), updated_at = $6, \
             decided_at = COALESCE($7, decided_at) WHERE id = $8 AND state IN ({})",
            placeholders.join(", ")
        ));
        let affected = with_transaction!(self, conn => {
            let mut q = sqlx::query(sql)
                .bind(transition.to.as_str())
                .bind(transition.reason)
                .bind(transition.stage)
                .bind(transition.outcome)
                .bind(transition.decision)
                .bind(now)
                .bind(settled)
                .bind(id);
            for s in &states {
                q = q.bind(*s);
            }
            q.execute(&mut *conn).await.map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("change an image's state"))?;
        Ok(affected == 1)
    }

    /// Marks `tag` of image `id` as promoted.
    pub async fn mark_tag_promoted(&mut self, id: i64, tag: &str) -> Result<(), StoreError> {
        let now = self.now;
        with_transaction!(self, conn => {
            sqlx::query("UPDATE image_tags SET promoted_at = $1 WHERE image_id = $2 AND tag = $3")
                .bind(now)
                .bind(id)
                .bind(tag)
                .execute(&mut *conn)
                .await
                .map(|_| ())
        })
        .map_err(StoreError::db("mark a tag promoted"))
    }

    /// Forgets a failed scan of `digest` (the audit log keeps it), so that a new push scans
    /// the digest again; returns whether there was one. Successful scans are never removed.
    pub async fn forget_failed_scan(&mut self, digest: &str) -> Result<bool, StoreError> {
        let affected = with_transaction!(self, conn => {
            sqlx::query("DELETE FROM scans WHERE digest = $1 AND state = 'failed'")
                .bind(digest)
                .execute(&mut *conn)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("forget a failed scan"))?;
        Ok(affected == 1)
    }

    /// Records the one scan of `digest`; returns false if one was recorded already (a
    /// worker whose lease lapsed finished the same scan twice: the first stands).
    pub async fn put_scan(&mut self, scan: &ScanRecord) -> Result<bool, StoreError> {
        let affected = with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO scans (digest, state, started_at, finished_at, summary, report, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (digest) DO NOTHING",
            )
            .bind(&scan.digest)
            .bind(&scan.state)
            .bind(scan.started_at_ms)
            .bind(scan.finished_at_ms)
            .bind(scan.summary.as_deref())
            .bind(scan.report.as_deref())
            .bind(scan.error.as_deref())
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("record a scan"))?;
        Ok(affected == 1)
    }

    /// Records an approval of image `id` at `stage`; returns false, recording nothing, when
    /// the image has an approval at that stage already (one per image and stage).
    pub async fn add_approval(
        &mut self,
        id: i64,
        approver: &str,
        reason: &str,
        stage: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now;
        let affected = with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO approvals (image_id, approver, reason, at, stage) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (image_id, stage) DO NOTHING",
            )
            .bind(id)
            .bind(approver)
            .bind(reason)
            .bind(now)
            .bind(stage)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("record an approval"))?;
        Ok(affected == 1)
    }

    /// Stores policy document `name`, one version above the stored one; returns the version.
    pub async fn put_policy_document(
        &mut self,
        name: &str,
        document: &str,
        updated_by: &str,
    ) -> Result<i64, StoreError> {
        let now = self.now;
        with_transaction!(self, conn => {
            sqlx::query_scalar(
                "INSERT INTO policy_documents (name, document, version, updated_by, updated_at) VALUES ($1, $2, 1, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET document = excluded.document, version = policy_documents.version + 1, \
                 updated_by = excluded.updated_by, updated_at = excluded.updated_at RETURNING version",
            )
            .bind(name)
            .bind(document)
            .bind(updated_by)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
        })
        .map_err(StoreError::db("store a policy document"))
    }
}

impl Store {
    /// Image `id`.
    pub async fn image(&self, id: i64) -> Result<Option<ImageRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = $1"));
        let row: Option<ImageRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).fetch_optional(pool).await
        })
        .map_err(StoreError::db("read an image"))?;
        row.map(ImageRecord::try_from).transpose()
    }

    /// The image `digest` of `repository`.
    pub async fn image_by_digest(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> Result<Option<ImageRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {IMAGE_COLUMNS} FROM images WHERE repository = $1 AND digest = $2"
        ));
        let row: Option<ImageRow> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(repository)
                .bind(digest.to_string())
                .fetch_optional(pool)
                .await
        })
        .map_err(StoreError::db("read an image"))?;
        row.map(ImageRecord::try_from).transpose()
    }

    /// Images not yet decided that need the scan of `digest` (as themselves or as one of
    /// their platform manifests), in every repository.
    pub async fn images_waiting_for(&self, digest: &str) -> Result<Vec<ImageRecord>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {IMAGE_COLUMNS} FROM images WHERE state IN ('queued', 'scanning') AND \
             (digest = $1 OR id IN (SELECT image_id FROM image_children WHERE child_digest = $1)) ORDER BY id"
        ));
        let rows: Vec<ImageRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(digest).fetch_all(pool).await
        })
        .map_err(StoreError::db("list images waiting for a scan"))?;
        rows.into_iter().map(ImageRecord::try_from).collect()
    }

    /// Images, newest first.
    pub async fn images(&self, filter: &ImageFilter) -> Result<Vec<ImageRecord>, StoreError> {
        let limit = i64::from(if filter.limit == 0 {
            100
        } else {
            filter.limit.min(1000)
        });
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {IMAGE_COLUMNS} FROM images WHERE ($1 IS NULL OR team = $1) AND ($2 IS NULL OR state = $2) \
             AND ($3 IS NULL OR repository = $3) ORDER BY id DESC"
        ));
        let rows: Vec<ImageRow> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(filter.team.as_deref())
                .bind(filter.state.map(ImageState::as_str))
                .bind(filter.repository.as_deref())
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list images"))?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(teams) = &filter.teams
                && !teams.contains(&row.team)
            {
                continue;
            }
            out.push(ImageRecord::try_from(row)?);
            if out.len() as i64 >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The tags pushed for image `id`, by name.
    pub async fn image_tags(&self, id: i64) -> Result<Vec<ImageTag>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT tag, pushed_at AS pushed_at_ms, promoted_at AS promoted_at_ms FROM image_tags \
                 WHERE image_id = $1 ORDER BY tag",
            )
            .bind(id)
            .fetch_all(pool)
            .await
        })
        .map_err(StoreError::db("list an image's tags"))
    }

    /// The platform manifests of index image `id`, in order (empty for a single image).
    pub async fn image_children(&self, id: i64) -> Result<Vec<ImageChild>, StoreError> {
        let rows: Vec<(String, Option<String>)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT child_digest, platform FROM image_children WHERE image_id = $1 ORDER BY position")
                .bind(id)
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list an index's platform manifests"))?;
        Ok(rows
            .into_iter()
            .map(|(digest, platform)| ImageChild { digest, platform })
            .collect())
    }

    /// The scan of `digest`, if it finished.
    pub async fn scan(&self, digest: &str) -> Result<Option<ScanRecord>, StoreError> {
        with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT digest, state, started_at AS started_at_ms, finished_at AS finished_at_ms, \
                 summary, report, error FROM scans WHERE digest = $1",
            )
            .bind(digest)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("read a scan"))
    }

    /// The approvals of image `id`, oldest first.
    pub async fn approvals(&self, id: i64) -> Result<Vec<Approval>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{APPROVAL_SELECT} WHERE image_id = $1 ORDER BY id"));
        with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).fetch_all(pool).await
        })
        .map_err(StoreError::db("list approvals"))
    }

    /// The approval of image `id` at `stage`, if one was given.
    pub async fn approval_at(&self, id: i64, stage: &str) -> Result<Option<Approval>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{APPROVAL_SELECT} WHERE image_id = $1 AND stage = $2"
        ));
        with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id).bind(stage).fetch_optional(pool).await
        })
        .map_err(StoreError::db("read an approval"))
    }

    /// Policy document `name`, if stored.
    pub async fn policy_document(&self, name: &str) -> Result<Option<PolicyDocument>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{POLICY_SELECT} WHERE name = $1"));
        with_pool!(self, pool => {
            sqlx::query_as(sql).bind(name).fetch_optional(pool).await
        })
        .map_err(StoreError::db("read a policy document"))
    }

    /// Every stored policy document, by name.
    pub async fn policy_documents(&self) -> Result<Vec<PolicyDocument>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{POLICY_SELECT} ORDER BY name"));
        with_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await
        })
        .map_err(StoreError::db("list policy documents"))
    }
}

const APPROVAL_SELECT: &str =
    "SELECT id, image_id, approver, reason, at AS at_ms, stage FROM approvals";

const POLICY_SELECT: &str =
    "SELECT name, document, version, updated_by, updated_at AS updated_at_ms FROM policy_documents";
