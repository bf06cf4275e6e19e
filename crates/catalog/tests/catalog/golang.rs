//! golang cataloger behaviour tests (being written).
