//! rust cataloger behaviour tests (being written).
