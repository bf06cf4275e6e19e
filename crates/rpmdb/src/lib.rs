//! portcullis-rpmdb (placeholder; see DESIGN.md).
