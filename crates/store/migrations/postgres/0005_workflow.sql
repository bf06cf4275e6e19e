-- The gating workflow (postgres): pushed images and their states, scans by manifest digest,
-- approvals, and the policy documents the security team manages.
-- Keep in step with the other dialect's file of the same name (they differ only in the
-- identity column spelling and collation). Timestamps are Unix milliseconds.

-- One row per manifest (or index) pushed to a repository of the unscanned zone.
CREATE TABLE images (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository   TEXT COLLATE "C" NOT NULL,
    digest       TEXT NOT NULL,
    media_type   TEXT NOT NULL,
    team         TEXT NOT NULL,
    app          TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'scanning', 'promoted', 'awaiting_approval', 'rejected', 'failed')),
    reason       TEXT,
    stage        TEXT,
    outcome      TEXT CHECK (outcome IN ('pass', 'nudge', 'block')),
    decision     TEXT,
    pushed_by    TEXT NOT NULL,
    pushed_at    BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    decided_at   BIGINT,
    UNIQUE (repository, digest)
);
CREATE INDEX images_by_digest ON images (digest);
CREATE INDEX images_by_team ON images (team, updated_at);
CREATE INDEX images_by_state ON images (state);

-- Tags pushed for an image; promoted_at is set when the tag appears in the scanned zone.
CREATE TABLE image_tags (
    image_id     BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag          TEXT NOT NULL,
    pushed_at    BIGINT NOT NULL,
    promoted_at  BIGINT,
    PRIMARY KEY (image_id, tag)
);

-- The platform manifests of a multi-platform index, each scanned and decided on its own.
CREATE TABLE image_children (
    image_id      BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    child_digest  TEXT NOT NULL,
    platform      TEXT,
    PRIMARY KEY (image_id, position)
);
CREATE INDEX image_children_by_digest ON image_children (child_digest);

-- One scan per image manifest digest, however often and wherever it is pushed.
CREATE TABLE scans (
    digest       TEXT PRIMARY KEY,
    state        TEXT NOT NULL CHECK (state IN ('done', 'failed')),
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT NOT NULL,
    summary      TEXT,
    report       TEXT,
    error        TEXT
);

CREATE TABLE approvals (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    image_id   BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    approver   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX approvals_by_image ON approvals (image_id);

-- Policy documents: name 'organisation', 'team:<team>' or 'exceptions'.
CREATE TABLE policy_documents (
    name        TEXT PRIMARY KEY,
    document    TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
