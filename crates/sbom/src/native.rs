//! The native JSON: a `schemaVersion`, an optional `timestamp`, and the serde form of
//! [`Sbom`] (documented field by field in `FORMAT.md`).

use std::borrow::Cow;

use portcullis_types::Sbom;
use serde::Serialize;

use crate::WriteOptions;
use crate::identity::Identity;

/// Bumped on any change that an old reader would misread; additions of optional fields
/// keep it.
pub(crate) const SCHEMA_VERSION: &str = "portcullis.sbom/v1";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Document<'a> {
    schema_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<&'a str>,
    #[serde(flatten)]
    sbom: Cow<'a, Sbom>,
}

pub(crate) fn document<'a>(
    sbom: &'a Sbom,
    identity: &'a Identity,
    options: &WriteOptions,
) -> Document<'a> {
    let has_files = sbom.packages.iter().any(|p| !p.files.is_empty());
    let sbom = if options.include_files || !has_files {
        Cow::Borrowed(sbom)
    } else {
        let mut owned = sbom.clone();
        for package in &mut owned.packages {
            package.files.clear();
        }
        Cow::Owned(owned)
    };
    Document {
        schema_version: SCHEMA_VERSION,
        timestamp: identity.timestamp.as_deref(),
        sbom,
    }
}
