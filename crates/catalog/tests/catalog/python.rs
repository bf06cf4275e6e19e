//! python cataloger behaviour tests (being written).
