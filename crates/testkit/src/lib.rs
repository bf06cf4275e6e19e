//! portcullis-testkit (placeholder; see DESIGN.md).
