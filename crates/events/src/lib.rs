//! portcullis-events (work in progress).
