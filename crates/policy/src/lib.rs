//! Decisions about findings that are not the scanner's to make: what a team has
//! accepted and what a supplier has stated.
//!
//! - [`IgnoreFile`] (module [`ignore`]): a small, versioned YAML file of
//!   [`IgnoreEntry`]s, each with a reason and an [`Expiry`].
//!   [`IgnoreFile::evaluate`] answers [`IgnoreOutcome::Applies`],
//!   [`IgnoreOutcome::Expired`] (the entry no longer applies and must be reported) or
//!   [`IgnoreOutcome::None`]; [`IgnoreFile::expired_entries`] lists stale entries
//!   even when nothing matches them.
//! - [`VexDocument`] (module [`vex`]): an OpenVEX 0.2 or CycloneDX 1.4–1.6 VEX
//!   document read into [`VexStatement`]s. [`VexDocument::evaluate`] gives the
//!   [`VexVerdict`] for a finding in an image described by [`ImageScope`]: its
//!   [`VexStatus`], justification and detail, and whether it suppresses the
//!   finding or only annotates it.
//! - [`apply`] (module [`filter`]): runs both over a scan's findings and returns
//!   a [`FilterResult`]: the findings kept (with any VEX annotation or expired
//!   ignore), those suppressed and why, and every expired entry, so that nothing
//!   is removed silently.
//!
//! - [`Policy`] (module [`policy`]): a policy document (`kind: Policy`) with
//!   stages, [`Rule`]s on findings and [`ImageRule`]s on [`ImageFacts`];
//!   [`PolicySet`] layers team policies on the organisation's, only stricter.
//! - [`Exceptions`] (module [`exception`]): the risk register (`kind: Exceptions`).
//! - [`evaluate`] (module [`eval`]): policy set, [`Subject`] (stage, team, image
//!   facts), findings, VEX-suppressed findings, exceptions and the time in; a
//!   [`Decision`] ([`Outcome`] and [`Diagnostic`]s with stable codes) out.
//! - [`suite`]: `policy test` cases, findings fixture in, expected decision out.
//!
//! Everything here is pure: the only I/O is in the `from_path` helpers. Errors
//! ([`IgnoreError`], [`VexError`]) name the file and, where the format allows,
//! the line and column. Policies and exceptions (per stage, per team) will live
//! beside these modules.

pub mod decision;
pub mod eval;
pub mod exception;
pub mod filter;
pub mod ignore;
pub mod lint;
mod located;
pub mod policy;
mod purl;
pub mod suite;
pub mod vex;

pub use decision::{Decision, Diagnostic, DiagnosticAction, FindingRef, ImageFacts, Outcome};
pub use eval::{EvaluateError, Subject, evaluate};
pub use exception::{
    Exception, ExceptionContext, ExceptionScope, Exceptions, Expiring, ScopeTarget,
};
pub use policy::{
    API_VERSION, Action, Conditions, ImageConditions, ImageRule, Policy, PolicyError, PolicySet,
    Role, Rule, Stage,
};
pub use suite::{CaseResult, SuiteError, case_files, run_case};

pub use filter::{FilterResult, Filters, KeptFinding, SuppressedFinding, Suppression, apply};
pub use ignore::{
    Expiry, IGNORE_FILE_VERSION, IgnoreEntry, IgnoreError, IgnoreFile, IgnoreOutcome,
    PackageConstraint,
};
pub use vex::{
    ImageScope, VexDocument, VexError, VexFormat, VexProduct, VexStatement, VexStatus, VexVerdict,
    evaluate_documents,
};
