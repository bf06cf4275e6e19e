//! portcullis-registry (work in progress).
