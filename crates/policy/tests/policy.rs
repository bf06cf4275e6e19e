//! Behaviour tests of portcullis-policy: ignore files, VEX documents and their
//! application to findings.

mod policy {
    pub mod apply;
    pub mod ignore;
    pub mod properties;
    pub mod support;
    pub mod vex;
}
