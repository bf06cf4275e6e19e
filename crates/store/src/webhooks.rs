//! Webhook subscriptions and the event delivery outbox (filled in by the events work).
