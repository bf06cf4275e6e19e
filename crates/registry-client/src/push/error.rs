//! [`PushError`]: why a push failed, naming the file, entry, blob or request.

use std::io;
use std::path::PathBuf;

use portcullis_types::Digest;

use crate::error::RegistryError;

/// Why [`Client::push`](crate::Client::push) failed. Source errors are found before any
/// request is made; registry errors name the repository and what was being pushed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(
        "`{value}` is not an image source ({reason}); write `oci:DIR[:TAG]` or \
         `docker-archive:FILE[:REF]`"
    )]
    InvalidSource { value: String, reason: String },
    #[error("cannot push by digest `{0}`: only sha256 digests are supported")]
    UnsupportedDigest(String),
    #[error("failed to read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{}` is not an OCI image layout: it has no `index.json`", path.display())]
    NotALayout { path: PathBuf },
    #[error("`{}` is not valid: {detail}", path.display())]
    Malformed { path: PathBuf, detail: String },
    #[error(
        "`{}` is larger than {limit} bytes, more than any {what} should be",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        limit: u64,
    },
    #[error("{what} `{}` has no image tagged `{tag}`; its tags: {}", path.display(), list(available))]
    UnknownTag {
        what: &'static str,
        path: PathBuf,
        tag: String,
        available: Vec<String>,
    },
    #[error("{what} `{}` holds no image", path.display())]
    NoImage { what: &'static str, path: PathBuf },
    #[error(
        "{what} `{}` holds {count} images; name one (`{transport}:{}:TAG`); its tags: {}",
        path.display(), path.display(), list(available)
    )]
    Ambiguous {
        what: &'static str,
        transport: &'static str,
        path: PathBuf,
        count: usize,
        available: Vec<String>,
    },
    #[error("`{value}` in `{}` is not a sha256 digest (`sha256:` and 64 lowercase hex digits)", path.display())]
    InvalidDigest { path: PathBuf, value: String },
    #[error(
        "blob `{digest}` is missing from `{}`; the image is incomplete, copy it again",
        path.display()
    )]
    MissingBlob { digest: Digest, path: PathBuf },
    #[error(
        "blob `{digest}` (`{}`) has the wrong content: its sha256 is `{actual}`; the file is \
         corrupt, copy the image again",
        path.display()
    )]
    BlobDigestMismatch {
        digest: Digest,
        path: PathBuf,
        actual: Digest,
    },
    #[error(
        "blob `{digest}` (`{}`) has {actual} bytes where its descriptor says {expected}; \
         the image is corrupt, copy it again",
        path.display()
    )]
    BlobSizeMismatch {
        digest: Digest,
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("`{}` is not a docker-archive: it has no `manifest.json`", path.display())]
    NoArchiveManifest { path: PathBuf },
    #[error("`{}` is not a readable tar archive (truncated or corrupt)", path.display())]
    CorruptArchive {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "docker-archive `{}` is truncated (at `{entry}`); save or copy it again",
        path.display()
    )]
    TruncatedArchive { path: PathBuf, entry: String },
    #[error("docker-archive `{}` has no entry `{entry}`, which its manifest.json names", path.display())]
    MissingEntry { path: PathBuf, entry: String },
    #[error(
        "layer `{entry}` of docker-archive `{}` has digest `{actual}` but the image config \
         says its diff_id is `{expected}`; the archive is corrupt",
        path.display()
    )]
    DiffIdMismatch {
        path: PathBuf,
        entry: String,
        expected: String,
        actual: Digest,
    },
    #[error("`{}` is compressed with {format}, which is not supported; decompress it first", path.display())]
    UnsupportedCompression { path: PathBuf, format: &'static str },
    #[error("failed to create a temporary file to decompress `{}`", path.display())]
    Scratch {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the target `{target}` names a digest, but the image to push has digest `{actual}`")]
    TargetDigestMismatch { target: String, actual: Digest },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(
        "not authorised to push to {name} ({detail}); give credentials that may push there \
         (an API token, or `docker login {registry}`)"
    )]
    Unauthorized {
        name: String,
        registry: String,
        detail: String,
    },
    #[error(
        "pushing to {name} is denied ({detail}); check that the account may push to this \
         repository"
    )]
    Denied { name: String, detail: String },
    #[error("registry refused {what} for {name}: HTTP {status} ({detail})")]
    Rejected {
        name: String,
        what: String,
        status: u16,
        detail: String,
    },
    #[error("request to push {what} to {name} failed")]
    Transport {
        name: String,
        what: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("registry gave no upload location for blob `{digest}` in {name}")]
    NoUploadLocation { name: String, digest: Digest },
    #[error(
        "manifest pushed to {name} as `{reference}` got digest `{header}` from the registry, \
         not `{expected}`; the registry altered it"
    )]
    ManifestDigestMismatch {
        name: String,
        reference: String,
        expected: Digest,
        header: Digest,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}
