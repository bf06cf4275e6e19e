//! portcullis-version (placeholder; see DESIGN.md).
