//! The portcullis model, free of I/O.
//!
//! - [`Digest`]: a validated content digest (`sha256:…`), the identity of every blob.
//! - [`Distro`]: the operating system an image claims, from `os-release` and its fallbacks.
//! - [`Package`]: one installed package with its [`Ecosystem`], version, source package,
//!   the [`LayerRef`] that installed it and the files it was found in.
//! - [`Sbom`]: what an image contains: its [`ImageInfo`], distro and packages, in a
//!   deterministic order so that outputs and snapshots are stable.
//!
//! - [`Advisory`]: one advisory record of one feed, with its [`Affected`] packages and
//!   [`Severity`] ratings by source; [`AdvisorySource`] is what matchers query.
//!
//! - [`Principal`], [`Role`], [`RepositoryScope`] and the [`Authorizer`] trait: who asks
//!   the registry for what, answered by the auth crate.
//!
//! Data flows one way: image readers produce [`ImageInfo`] and layers, catalogers produce
//! [`Package`]s, and writers in `portcullis-sbom` render an [`Sbom`].

mod access;
mod advisory;
mod digest;
mod distro;
mod finding;
pub mod manifest;
mod package;
mod sbom;

pub use access::{
    AccessError, Authorizer, BoxFuture, Principal, PrincipalKind, RegistryAction, RepositoryScope,
    Role,
};
pub use advisory::{
    Advisory, AdvisoryMatch, AdvisorySource, Affected, AffectedStatus, CveInfo, Epss, Kev,
    NativeRange, OsvEvent, OsvRange, OsvRangeKind, Severity, SeverityKind, SeverityLevel,
    normalize_package_name,
};
pub use digest::{Digest, DigestError};
pub use distro::Distro;
pub use finding::{Annotation, AnnotationKind, Finding, FindingPackage, LayerRole, MatchDetail};
pub use package::{Ecosystem, LayerRef, Package};
pub use sbom::{ImageInfo, LayerInfo, Sbom, ToolInfo};
