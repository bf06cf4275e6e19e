-- What each manifest references (PostgreSQL). Keep in step with ../sqlite/0006_registry.sql.
-- The registry needs these without re-reading manifest bytes: promotion links the same
-- blobs and child manifests into the target repository, and garbage collection follows them.
-- `kind` is 'blob' (config, layer) or 'manifest' (a child of an index); `position` keeps the
-- order the manifest lists them in.

CREATE TABLE manifest_references (
    repository  TEXT COLLATE "C" NOT NULL,
    digest      TEXT COLLATE "C" NOT NULL,
    position    BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('blob', 'manifest')),
    target      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (repository, digest, position),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_references_by_target ON manifest_references (target);
