//! npm cataloger behaviour tests (being written).
