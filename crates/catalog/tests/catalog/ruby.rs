//! ruby cataloger behaviour tests (being written).
