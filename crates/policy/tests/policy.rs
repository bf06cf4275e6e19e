//! Behaviour tests of portcullis-policy: ignore files, VEX documents and their
//! application to findings.

mod policy {
    pub mod apply;
    pub mod decision_properties;
    pub mod decisions;
    pub mod examples;
    pub mod ignore;
    pub mod policy_errors;
    pub mod properties;
    pub mod support;
    pub mod vex;
}
