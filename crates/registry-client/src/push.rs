//! Pushing a local image to a registry: [`Client::push`] of a [`PushSource`].
//!
//! Data flow: the source is read into a [`Plan`] first, without any network (an OCI
//! layout's `index.json` and manifests, or a docker-archive's `manifest.json` and config,
//! all bounded in size; every blob located and sized, layers of a docker-archive hashed
//! in place) → each blob is checked with `HEAD` and, when missing, uploaded with
//! `POST /blobs/uploads/` and one streaming `PUT ?digest=` whose bytes are hashed as they
//! are sent → child manifests of an index are put by digest → the top manifest is put,
//! exact bytes, under the target's tag (or digest). A failure before the last step leaves
//! nothing under the tag. Progress is reported as [`PushProgress`] events.

mod archive_file;
mod docker_archive;
mod error;
mod oci_layout;
mod upload;

pub use error::PushError;

use std::fmt;
use std::path::PathBuf;

use portcullis_types::Digest;

use crate::client::Client;
use crate::reference::Reference;

/// Where an image to push comes from, in skopeo's transport syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushSource {
    /// `oci:DIR[:TAG]`: an OCI image layout; TAG selects the `index.json` entry whose
    /// `org.opencontainers.image.ref.name` annotation is TAG (without it, the layout must
    /// hold exactly one).
    OciLayout { dir: PathBuf, tag: Option<String> },
    /// `docker-archive:FILE[:REF]`: what `docker save` or skopeo wrote (plain, gzip or
    /// zstd); REF selects an image by one of its `RepoTags` or as `@N` (its position),
    /// and may be left out when the archive holds one image.
    DockerArchive {
        file: PathBuf,
        reference: Option<String>,
    },
}

impl PushSource {
    /// Parses `oci:DIR[:TAG]` or `docker-archive:FILE[:REF]`. As in skopeo, the path ends
    /// at the first `:` after the transport.
    pub fn parse(value: &str) -> Result<Self, PushError> {
        let invalid = |reason: &str| PushError::InvalidSource {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let Some((transport, rest)) = value.split_once(':') else {
            return Err(invalid("it names no transport"));
        };
        let (path, selector) = match rest.split_once(':') {
            Some((path, selector)) => (path, Some(selector)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(invalid("the path is empty"));
        }
        if selector.is_some_and(str::is_empty) {
            return Err(invalid("nothing follows the second `:`"));
        }
        let selector = selector.map(str::to_owned);
        match transport {
            "oci" => Ok(Self::OciLayout {
                dir: PathBuf::from(path),
                tag: selector,
            }),
            "docker-archive" => Ok(Self::DockerArchive {
                file: PathBuf::from(path),
                reference: selector,
            }),
            _ => Err(invalid(
                "the transport is neither `oci` nor `docker-archive`",
            )),
        }
    }
}

impl fmt::Display for PushSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (transport, path, selector) = match self {
            Self::OciLayout { dir, tag } => ("oci", dir, tag),
            Self::DockerArchive { file, reference } => ("docker-archive", file, reference),
        };
        write!(f, "{transport}:{}", path.display())?;
        if let Some(selector) = selector {
            write!(f, ":{selector}")?;
        }
        Ok(())
    }
}

/// One step of a push, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushProgress {
    /// The registry already has this blob (`HEAD` answered); it is not uploaded.
    BlobExists { digest: Digest, size: u64 },
    /// An upload of this blob starts (`POST /blobs/uploads/`).
    BlobUploading { digest: Digest, size: u64 },
    /// The registry accepted this blob.
    BlobUploaded { digest: Digest, size: u64 },
    /// A manifest or index was stored under `reference` (a tag, or its digest).
    ManifestPushed {
        digest: Digest,
        media_type: String,
        reference: String,
    },
}

/// The top manifest as pushed: what the target now names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    pub digest: Digest,
    pub media_type: String,
    pub size: u64,
}

/// Where a blob's bytes are.
#[derive(Debug)]
enum BlobData {
    /// `size` bytes from `offset` of a file (a layout blob, or an archive entry).
    File {
        path: PathBuf,
        offset: u64,
    },
    Memory(Vec<u8>),
}

#[derive(Debug)]
struct Blob {
    digest: Digest,
    size: u64,
    data: BlobData,
}

/// A manifest or index, exact bytes.
#[derive(Debug)]
struct Document {
    digest: Digest,
    media_type: String,
    bytes: Vec<u8>,
}

/// Everything to push, read and checked before the first request.
#[derive(Debug)]
struct Plan {
    /// Unique by digest, in first-use order.
    blobs: Vec<Blob>,
    /// Manifests an index refers to, children before their parents.
    children: Vec<Document>,
    top: Document,
    /// A decompressed archive, deleted when the push ends.
    _scratch: Option<tempfile::TempPath>,
}

impl Client {
    /// Pushes the image `source` names to `target` (`host/name:tag`, or `host/name@digest`
    /// to push it untagged; neither means `latest`) and returns its manifest's digest.
    ///
    /// Blobs the repository already has are skipped. Credentials are looked up as for
    /// pulls and bearer tokens asked for with the scope `repository:<name>:pull,push`.
    pub fn push(
        &self,
        source: &PushSource,
        target: &Reference,
        progress: &mut dyn FnMut(PushProgress),
    ) -> Result<Pushed, PushError> {
        if target.tag.is_none()
            && let Some(digest) = &target.digest
            && !digest.is_sha256()
        {
            return Err(PushError::UnsupportedDigest(digest.to_string()));
        }
        let limit = self.options().max_manifest_bytes;
        let plan = match source {
            PushSource::OciLayout { dir, tag } => oci_layout::plan(dir, tag.as_deref(), limit)?,
            PushSource::DockerArchive { file, reference } => {
                docker_archive::plan(file, reference.as_deref())?
            }
        };
        if let Some(wanted) = &target.digest
            && wanted != &plan.top.digest
        {
            return Err(PushError::TargetDigestMismatch {
                target: target.to_string(),
                actual: plan.top.digest.clone(),
            });
        }
        let uploader = upload::Uploader::new(self, target);
        for blob in &plan.blobs {
            uploader.blob(blob, progress)?;
        }
        for child in &plan.children {
            uploader.manifest(child, &child.digest.to_string(), progress)?;
        }
        let reference = match (&target.tag, &target.digest) {
            (Some(tag), _) => tag.clone(),
            (None, Some(digest)) => digest.to_string(),
            (None, None) => "latest".to_owned(),
        };
        uploader.manifest(&plan.top, &reference, progress)?;
        Ok(Pushed {
            digest: plan.top.digest.clone(),
            media_type: plan.top.media_type.clone(),
            size: plan.top.bytes.len() as u64,
        })
    }
}

/// Media types of manifests that list other manifests.
fn is_index(media_type: &str) -> bool {
    media_type == "application/vnd.oci.image.index.v1+json"
        || media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_like_skopeo() {
        assert_eq!(
            PushSource::parse("oci:/tmp/lay:v1").unwrap(),
            PushSource::OciLayout {
                dir: "/tmp/lay".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            PushSource::parse("oci:lay").unwrap(),
            PushSource::OciLayout {
                dir: "lay".into(),
                tag: None
            }
        );
        let archive = PushSource::parse("docker-archive:a.tar:docker.io/x/y:1").unwrap();
        assert_eq!(
            archive,
            PushSource::DockerArchive {
                file: "a.tar".into(),
                reference: Some("docker.io/x/y:1".into())
            }
        );
        assert_eq!(archive.to_string(), "docker-archive:a.tar:docker.io/x/y:1");
        for bad in [
            "",
            "oci",
            "oci:",
            "oci:dir:",
            "docker://x/y",
            "dir:/tmp/x",
            ":x",
        ] {
            let error = PushSource::parse(bad).unwrap_err().to_string();
            assert!(error.contains("oci:DIR[:TAG]"), "{bad}: {error}");
        }
    }
}
