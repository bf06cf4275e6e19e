//! The hash-chained audit log (filled in by the audit work).
