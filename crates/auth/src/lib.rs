//! portcullis-auth (work in progress).
