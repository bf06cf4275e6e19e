//! Where an image comes from, in skopeo's transport syntax.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

use portcullis_types::Digest;

use crate::registry_client::Reference;

/// An image source, parsed from skopeo's transport syntax by [`Source::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `oci:DIR[:TAG]`: an OCI image layout directory.
    OciLayout { dir: PathBuf, tag: Option<String> },
    /// `docker-archive:FILE[:REF]`: what `docker save` writes, plain or gzip-compressed.
    DockerArchive { path: PathBuf, tag: Option<String> },
    /// `docker://REF` or a bare reference: pulled from a registry.
    Registry(Reference),
    /// `dir:PATH`: an unpacked root filesystem (unlike skopeo's `dir:`).
    Dir(PathBuf),
    /// One image manifest by digest in a content-addressed blob directory laid out as an
    /// OCI layout's `blobs/` (`DIR/blobs/sha256/<hex>`), as the server stores pushes. Only
    /// the blobs in `readable` (those linked to the repository being scanned) are read; an
    /// index or an artifact is refused. Not parsed from text; built by the server's workers.
    Blobs {
        dir: PathBuf,
        digest: Digest,
        readable: BTreeSet<Digest>,
    },
}

/// Why a string is not an image source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("image source `{0}` names no path; expected {SYNTAXES}")]
    MissingPath(String),
    #[error("transport `{transport}:` in `{source_text}` is not supported; expected {SYNTAXES}")]
    UnsupportedTransport {
        transport: String,
        source_text: String,
    },
    #[error(
        "`{source_text}` is neither an image reference nor a known source; expected {SYNTAXES}"
    )]
    BadReference {
        source_text: String,
        #[source]
        source: crate::registry_client::ReferenceError,
    },
}

const SYNTAXES: &str = "one of `oci:DIR[:TAG]`, `docker-archive:FILE[:REF]`, `docker://REF`, \
     `dir:PATH` (an unpacked root filesystem) or a bare reference such as `debian:12`";

/// skopeo transports we recognise but do not read, so that their names are not
/// mistaken for a registry host.
const OTHER_TRANSPORTS: &[&str] = &[
    "oci-archive",
    "containers-storage",
    "docker-daemon",
    "ostree",
    "sif",
    "tarball",
];

impl Source {
    /// Parses skopeo's syntax; a bare reference (`debian:12`) means `docker://`.
    pub fn parse(s: &str) -> Result<Source, SourceError> {
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, tag) = split_path_and_tag(s, rest)?;
            return Ok(Source::OciLayout { dir, tag });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            let (path, tag) = split_path_and_tag(s, rest)?;
            return Ok(Source::DockerArchive { path, tag });
        }
        if let Some(rest) = s.strip_prefix("dir:") {
            if rest.is_empty() {
                return Err(SourceError::MissingPath(s.to_owned()));
            }
            return Ok(Source::Dir(PathBuf::from(rest)));
        }
        let reference = s.strip_prefix("docker://").unwrap_or(s);
        if let Some((transport, _)) = reference.split_once(':')
            && OTHER_TRANSPORTS.contains(&transport)
        {
            return Err(SourceError::UnsupportedTransport {
                transport: transport.to_owned(),
                source_text: s.to_owned(),
            });
        }
        reference
            .parse::<Reference>()
            .map(Source::Registry)
            .map_err(|source| SourceError::BadReference {
                source_text: s.to_owned(),
                source,
            })
    }

    /// The source kind as [`ImageInfo::source_kind`](portcullis_types::ImageInfo) names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::OciLayout { .. } => "oci",
            Source::DockerArchive { .. } => "docker-archive",
            Source::Registry(_) => "docker",
            Source::Dir(_) => "dir",
            Source::Blobs { .. } => "blobs",
        }
    }
}

/// skopeo splits `PATH:TAG` at the first colon, so paths cannot contain one.
fn split_path_and_tag(whole: &str, rest: &str) -> Result<(PathBuf, Option<String>), SourceError> {
    let (path, tag) = match rest.split_once(':') {
        Some((p, t)) => (p, (!t.is_empty()).then(|| t.to_owned())),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(SourceError::MissingPath(whole.to_owned()));
    }
    Ok((PathBuf::from(path), tag))
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::OciLayout { dir, tag } => {
                write!(f, "oci:{}", dir.display())?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                Ok(())
            }
            Source::DockerArchive { path, tag } => {
                write!(f, "docker-archive:{}", path.display())?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                Ok(())
            }
            Source::Registry(r) => write!(f, "docker://{r}"),
            Source::Dir(p) => write!(f, "dir:{}", p.display()),
            Source::Blobs { dir, digest, .. } => write!(f, "blobs:{}@{digest}", dir.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_transport() {
        assert_eq!(
            Source::parse("oci:/tmp/l:v1").unwrap(),
            Source::OciLayout {
                dir: "/tmp/l".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            Source::parse("oci:/tmp/l").unwrap(),
            Source::OciLayout {
                dir: "/tmp/l".into(),
                tag: None
            }
        );
        assert_eq!(
            Source::parse("docker-archive:a.tar:org/app:1").unwrap(),
            Source::DockerArchive {
                path: "a.tar".into(),
                tag: Some("org/app:1".into())
            }
        );
        assert_eq!(
            Source::parse("dir:/rootfs").unwrap(),
            Source::Dir("/rootfs".into())
        );
        assert_eq!(Source::parse("dir:/rootfs").unwrap().kind(), "dir");
        let Source::Registry(r) = Source::parse("docker://debian:12").unwrap() else {
            panic!("not a registry source")
        };
        assert_eq!(r.tag.as_deref(), Some("12"));
        assert_eq!(Source::parse("debian:12").unwrap().kind(), "docker");
    }

    #[test]
    fn errors_list_the_syntaxes() {
        let err = Source::parse("oci:").unwrap_err().to_string();
        assert!(err.contains("oci:DIR[:TAG]"), "{err}");
        let err = Source::parse("oci-archive:x.tar").unwrap_err().to_string();
        assert!(
            err.contains("`oci-archive:` in `oci-archive:x.tar` is not supported"),
            "{err}"
        );
        let err = Source::parse("Not A Ref").unwrap_err().to_string();
        assert!(err.contains("docker-archive:FILE[:REF]"), "{err}");
    }
}
