//! portcullis-image (placeholder; see DESIGN.md).
