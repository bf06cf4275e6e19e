//! java cataloger behaviour tests (being written).
