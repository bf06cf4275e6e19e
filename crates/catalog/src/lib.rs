//! portcullis-catalog (placeholder; see DESIGN.md).
