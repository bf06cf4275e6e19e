//! Writers that turn an [`Sbom`] into the documents other tools read.
//!
//! - [`Format`] names an output: the native JSON (`json`), CycloneDX 1.6 JSON
//!   (`cyclonedx`) or SPDX 2.3 JSON (`spdx`).
//! - [`WriteOptions`] carries what the caller decides rather than the image: the creation
//!   time, a serial number, and whether to list every package's files.
//! - [`write()`] and [`to_string`] render one [`Sbom`]; [`SbomError`] says why they could not.
//!
//! Data flows one way: the SBOM is copied and sorted into its canonical order; its
//! identity (document UUID, image name, normalised timestamp) is derived once; licenses
//! are classified by one policy (an SPDX id or expression only when the string already is
//! one, a name otherwise); package references (`bom-ref`, `SPDXID`) and the `portcullis:`
//! name–value properties are built once for both interchange formats; then the native,
//! CycloneDX or SPDX module fills its serde structs, serialised as pretty JSON. The same
//! SBOM and options always give the same bytes. `FORMAT.md` beside this crate documents
//! the native format, the property names and how each format maps the model.

mod cyclonedx;
mod format;
mod identity;
mod license;
mod native;
mod property;
mod read;
mod reference;
mod spdx_document;

use std::io;

use portcullis_types::Sbom;

pub use format::{Format, ParseFormatError};
pub use read::{MAX_SBOM_BYTES, ReadError, ReadSbom, SBOM_SOURCE_KIND, read_sbom_file};

/// What the caller decides about a document, as opposed to what the image contains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Creation time, RFC 3339 in UTC (`2024-05-01T12:00:00Z`; fractional seconds are
    /// dropped). `None` keeps output reproducible: CycloneDX and the native JSON omit the
    /// timestamp, and SPDX, where it is required, writes `1970-01-01T00:00:00Z`.
    pub timestamp: Option<String>,
    /// Document UUID (`urn:uuid:…` or bare) for the CycloneDX `serialNumber` and the SPDX
    /// `documentNamespace`. `None` derives a name-based UUID from the image digest and the
    /// inventory, so that the same image gives the same bytes.
    pub serial: Option<String>,
    /// List the files each package owns (native `files`, CycloneDX and SPDX
    /// `portcullis:package:file`); off by default because it multiplies the size.
    pub include_files: bool,
}

/// Why an SBOM could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error(
        "timestamp `{0}` is not an RFC 3339 time in UTC; pass one such as `2024-05-01T12:00:00Z`"
    )]
    InvalidTimestamp(String),
    #[error("serial number `{0}` is not a UUID; pass `urn:uuid:<uuid>` or a bare UUID")]
    InvalidSerial(String),
    #[error("failed to serialise the {format} SBOM")]
    Serialize {
        format: Format,
        #[source]
        source: serde_json::Error,
    },
    #[error("failed to write the {format} SBOM")]
    Write {
        format: Format,
        #[source]
        source: io::Error,
    },
}

/// Renders `sbom` in `format` to `out`, as pretty-printed JSON ending in a newline.
///
/// Packages are written in their canonical order whatever order `sbom` holds them in.
pub fn write(
    sbom: &Sbom,
    format: Format,
    options: &WriteOptions,
    out: &mut dyn io::Write,
) -> Result<(), SbomError> {
    let bytes = render(sbom, format, options)?;
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|source| SbomError::Write { format, source })
}

/// [`write()`] into a `String`.
pub fn to_string(sbom: &Sbom, format: Format, options: &WriteOptions) -> Result<String, SbomError> {
    let bytes = render(sbom, format, options)?;
    // serde_json only ever produces UTF-8.
    String::from_utf8(bytes).map_err(|e| SbomError::Write {
        format,
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })
}

fn render(sbom: &Sbom, format: Format, options: &WriteOptions) -> Result<Vec<u8>, SbomError> {
    let mut sorted = sbom.clone();
    sorted.sort();
    let identity = identity::Identity::new(&sorted, options)?;
    let serialised = match format {
        Format::Json => serde_json::to_vec_pretty(&native::document(&sorted, &identity, options)),
        Format::CycloneDx => {
            serde_json::to_vec_pretty(&cyclonedx::document(&sorted, &identity, options))
        }
        Format::Spdx => {
            serde_json::to_vec_pretty(&spdx_document::document(&sorted, &identity, options))
        }
    };
    let mut bytes = serialised.map_err(|source| SbomError::Serialize { format, source })?;
    bytes.push(b'\n');
    Ok(bytes)
}
