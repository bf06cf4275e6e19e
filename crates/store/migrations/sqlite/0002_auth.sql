-- Teams, users, API tokens and server settings (SQLite).
-- Keep in step with ../postgres/0002_auth.sql: the two differ only where the dialects must
-- (the token id column, an alias of the rowid here; PostgreSQL also declares `COLLATE "C"`,
-- which is SQLite's default BINARY collation). Timestamps are Unix milliseconds.

CREATE TABLE teams (
    name        TEXT PRIMARY KEY,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    name           TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('developer', 'security', 'reader', 'admin')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE user_teams (
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    team       TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    PRIMARY KEY (user_name, team)
);
CREATE INDEX user_teams_by_team ON user_teams (team);

-- The secret itself is never stored: only its SHA-256, looked up on every use.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('developer', 'security', 'reader', 'admin')),
    expires_at    BIGINT,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
-- A name is unique among the tokens not revoked, so that automation can revoke and reissue.
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE token_teams (
    token_id  BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    team      TEXT NOT NULL REFERENCES teams (name) ON DELETE CASCADE,
    PRIMARY KEY (token_id, team)
);
CREATE INDEX token_teams_by_team ON token_teams (team);

CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
