//! Reading and exporting the audit log, a page at a time.

use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{AUDIT_COLUMNS, AuditEntry, AuditHead, AuditRow, PAGE};
use crate::{Store, StoreError, with_pool};

/// Why the export stopped.
#[derive(Debug, thiserror::Error)]
pub enum AuditExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("failed to write the audit export; check the destination (disk space, a closed pipe)")]
    Write(#[source] std::io::Error),
}

impl Store {
    /// Up to `limit` entries with `seq` greater than `after_seq` (from the first without),
    /// in order. Page with the last `seq` returned.
    pub async fn audit_entries(
        &self,
        after_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.audit_rows(after_seq.unwrap_or(0), limit).await?;
        rows.into_iter()
            .map(|row| {
                row.into_entry().map_err(|seq| StoreError::Corrupt {
                    column: "audit_log.details",
                    value: format!("entry {seq}"),
                })
            })
            .collect()
    }

    pub(crate) async fn audit_rows(
        &self,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{AUDIT_COLUMNS} WHERE seq > $1 ORDER BY seq LIMIT $2"
        ));
        with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(after_seq)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("read audit entries"))
    }

    /// The head as recorded by the last append (`None` while the log is empty).
    pub async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        let (seq, hash): (i64, String) = with_pool!(self, pool => {
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(pool)
                .await
        })
        .map_err(StoreError::db("read the audit log head"))?;
        Ok((seq > 0).then_some(AuditHead { seq, hash }))
    }

    /// Writes every entry after `after_seq` as JSON lines ([`AuditEntry::to_json_line`]) to
    /// `writer`, a page at a time; returns how many were written. Does not flush or close.
    pub async fn export_audit<W: AsyncWrite + Unpin>(
        &self,
        after_seq: Option<i64>,
        writer: &mut W,
    ) -> Result<u64, AuditExportError> {
        let mut after = after_seq.unwrap_or(0);
        let mut written = 0;
        loop {
            let page = self.audit_entries(Some(after), PAGE).await?;
            let Some(last) = page.last() else {
                return Ok(written);
            };
            after = last.seq;
            let mut chunk = String::new();
            for entry in &page {
                chunk.push_str(&entry.to_json_line());
            }
            writer
                .write_all(chunk.as_bytes())
                .await
                .map_err(AuditExportError::Write)?;
            written += page.len() as u64;
        }
    }
}
