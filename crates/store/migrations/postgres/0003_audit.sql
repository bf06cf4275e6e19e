-- The hash-chained audit log (PostgreSQL). Keep in step with ../sqlite/0003_audit.sql.
-- `seq` is assigned by the appender (the head's seq + 1), not by the engine, so that the
-- chain has no gaps even when a transaction rolls back; `details` is canonical JSON.
-- `audit_head` holds the last seq and hash: truncating the tail of `audit_log` is only
-- undetected if the head is rewritten consistently too (see audit.rs for the limits).
-- Appenders lock the head row (`SELECT … FOR UPDATE`), which serialises them.

CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Append-only: portcullis never updates or deletes an entry. Someone with write access to
-- the database can drop these triggers; the hash chain and the head then tell.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
