//! portcullis-sbom (placeholder; see DESIGN.md).
