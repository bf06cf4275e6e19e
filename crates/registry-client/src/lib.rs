//! Pulls manifests and blobs from OCI and Docker registries, and pushes local images to
//! them, blocking.
//!
//! - [`Reference`] parses and normalises an image reference the way Docker does
//!   (`debian` is `docker.io/library/debian:latest`).
//! - [`Client`], configured by [`ClientOptions`] (and optionally [`Credentials`]), talks
//!   the distribution API: [`Client::fetch_manifest`] returns a [`FetchedManifest`]
//!   (exact bytes, media type, verified digest) and [`Client::fetch_blob`] a
//!   [`BlobStream`] that the caller reads and verifies.
//! - [`Client::push`] pushes a [`PushSource`] (`oci:DIR[:TAG]` or
//!   `docker-archive:FILE[:REF]`) to a reference, reporting [`PushProgress`] and returning
//!   [`Pushed`] (the manifest digest); it fails with a [`PushError`].
//! - Failures are [`RegistryError`]s naming the registry, repository and manifest or blob.
//!
//! Data flow of a pull: `Reference` → first contact `GET /v2/` (HTTPS, or plain HTTP with
//! `insecure`) learns the registry's challenge → credentials are looked up once per
//! registry (explicit, then `auth.json`/`config.json` entries and credential helpers) →
//! a Bearer token is fetched from the realm for `repository:<name>:pull` and cached until
//! it expires (or Basic credentials are sent) → manifest or blob `GET`, with one
//! re-authentication on `401`.
//!
//! TLS is rustls with the aws-lc-rs provider. No async runtime is used.

mod agent;
mod auth;
mod challenge;
mod client;
mod credential_helper;
mod credential_store;
mod error;
mod options;
mod push;
mod reference;

pub use agent::http_agent;
pub use client::{BlobStream, Client, FetchedManifest, MANIFEST_MEDIA_TYPES};
pub use credential_helper::HelperError;
pub use credential_store::CredentialError;
pub use error::RegistryError;
pub use options::{ClientOptions, Credentials};
pub use portcullis_types::Digest;
pub use push::{PushError, PushProgress, PushSource, Pushed};
pub use reference::{DOCKER_HUB, Reference, ReferenceError};
