//! portcullis-registry-client (placeholder; see DESIGN.md).
