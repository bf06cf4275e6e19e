-- Webhook subscriptions and the event outbox (sqlite). Keep in step with
-- ../postgres/0004_webhooks.sql: the two differ only in the spelling of identity columns.
-- An event and its pending deliveries are written in the transaction of the state change
-- they report, so an event exists if and only if that change committed. Timestamps are
-- Unix milliseconds.

CREATE TABLE webhooks (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    url          TEXT NOT NULL,
    -- Needed in clear to sign deliveries; never returned by listings.
    secret       TEXT NOT NULL,
    -- A JSON array of event type names; empty means every type.
    event_types  TEXT NOT NULL,
    -- Only events of this team; NULL means every team.
    team         TEXT,
    active       BOOLEAN NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE events (
    id       TEXT PRIMARY KEY,
    type     TEXT NOT NULL,
    source   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    time     BIGINT NOT NULL,
    data     TEXT NOT NULL,
    team     TEXT
);

CREATE TABLE deliveries (
    -- Increasing in emission order: per webhook, deliveries are sent in id order.
    id                INTEGER PRIMARY KEY,
    webhook_id        BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id          TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'failed')),
    attempts          BIGINT NOT NULL,
    next_attempt_at   BIGINT NOT NULL,
    worker            TEXT,
    lease_expires_at  BIGINT,
    last_status       BIGINT,
    last_error        TEXT,
    delivered_at      BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, state, id);
CREATE INDEX deliveries_by_event ON deliveries (event_id);
