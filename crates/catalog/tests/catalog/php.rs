//! php cataloger behaviour tests (being written).
