-- Registry metadata and the job queue (SQLite).
-- Keep in step with ../postgres/0001_registry_and_queue.sql: the two differ only where the
-- dialects must (the job id column, an alias of the rowid here; PostgreSQL also declares
-- `COLLATE "C"`, which is SQLite's default BINARY collation: byte order, as OCI requires).
-- Timestamps are Unix milliseconds.

CREATE TABLE repositories (
    name        TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL
);

CREATE TABLE manifests (
    repository      TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest          TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    size            BIGINT NOT NULL,
    subject_digest  TEXT,
    artifact_type   TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX manifests_by_subject ON manifests (repository, subject_digest);

CREATE TABLE tags (
    repository  TEXT NOT NULL,
    tag         TEXT NOT NULL,
    digest      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (repository, tag),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
CREATE INDEX tags_by_digest ON tags (repository, digest);

CREATE TABLE blob_links (
    repository  TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest      TEXT NOT NULL,
    linked_at   BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX blob_links_by_digest ON blob_links (digest);

CREATE TABLE upload_sessions (
    id              TEXT PRIMARY KEY,
    repository      TEXT NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    bytes_received  BIGINT NOT NULL,
    started_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX upload_sessions_by_activity ON upload_sessions (updated_at);

CREATE TABLE jobs (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,
    dedup_key         TEXT NOT NULL,
    payload           TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts          BIGINT NOT NULL,
    max_attempts      BIGINT NOT NULL,
    run_at            BIGINT NOT NULL,
    worker            TEXT,
    lease_expires_at  BIGINT,
    result            TEXT,
    last_error        TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (kind, dedup_key)
);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_leases ON jobs (state, lease_expires_at);
