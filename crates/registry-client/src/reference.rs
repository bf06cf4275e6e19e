//! Image references, parsed and normalised the way Docker does it.

use std::fmt;
use std::str::FromStr;

use portcullis_types::{Digest, DigestError};

/// The registry name Docker Hub images are normalised to.
pub const DOCKER_HUB: &str = "docker.io";
/// Older spelling of Docker Hub, still found in configuration files and references.
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// Longest name (registry and repository) the distribution grammar accepts.
const NAME_MAX: usize = 255;
/// Longest tag the distribution grammar accepts.
const TAG_MAX: usize = 128;

/// A Docker/OCI image reference, normalised as Docker does.
///
/// `debian` becomes `docker.io/library/debian` (tag `latest` implied), `user/app:1`
/// becomes `docker.io/user/app:1`, and a first path component is a registry host when it
/// contains `.` or `:`, is `localhost`, or (as Docker decided, since repositories are
/// lowercase) contains an uppercase letter. A reference may carry both a tag and a digest;
/// the digest then wins when pulling.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// Registry host, with port if any: `docker.io`, `ghcr.io`, `127.0.0.1:5000`.
    pub registry: String,
    /// Repository path inside the registry: `library/debian`.
    pub repository: String,
    /// Tag, when one was written.
    pub tag: Option<String>,
    /// Digest, when one was written.
    pub digest: Option<Digest>,
}

/// Why a string is not an image reference.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("image reference is empty")]
    Empty,
    #[error(
        "image reference `{0}` is a 64-digit hex identifier, not a repository name; \
         write `name@sha256:{0}` to pull by digest"
    )]
    HexIdentifier(String),
    #[error("repository `{repository}` in image reference `{reference}` must be lowercase")]
    Uppercase {
        reference: String,
        repository: String,
    },
    #[error(
        "repository `{repository}` in image reference `{reference}` is invalid: components are \
         lowercase letters and digits separated by `.`, `_`, `__` or `-`, joined by `/`"
    )]
    InvalidRepository {
        reference: String,
        repository: String,
    },
    #[error("registry `{registry}` in image reference `{reference}` is not a valid host[:port]")]
    InvalidRegistry { reference: String, registry: String },
    #[error(
        "tag `{tag}` in image reference `{reference}` is invalid: up to 128 letters, digits, \
         `_`, `.` or `-`, not starting with `.` or `-`"
    )]
    InvalidTag { reference: String, tag: String },
    #[error("digest in image reference `{reference}` is invalid")]
    InvalidDigest {
        reference: String,
        #[source]
        source: DigestError,
    },
    #[error("image reference `{0}` has a name longer than 255 characters")]
    NameTooLong(String),
}

impl Reference {
    /// What to ask the registry for: the digest if any, else the tag, else `latest`.
    pub fn reference_str(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => digest.to_string(),
            (None, Some(tag)) => tag.clone(),
            (None, None) => "latest".to_owned(),
        }
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    /// The canonical form: `registry/repository[:tag][@digest]`, with `:latest` when the
    /// reference names neither a tag nor a digest (as `docker pull` would).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        if self.tag.is_none() && self.digest.is_none() {
            f.write_str(":latest")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if input.len() == 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(ReferenceError::HexIdentifier(input.to_owned()));
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((rest, digest)) => {
                let digest =
                    digest
                        .parse::<Digest>()
                        .map_err(|source| ReferenceError::InvalidDigest {
                            reference: input.to_owned(),
                            source,
                        })?;
                (rest, Some(digest))
            }
            None => (input, None),
        };
        // A tag follows the last `:` that comes after the last `/`; an earlier `:` is a port.
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&name_and_tag[..at], Some(&name_and_tag[at + 1..]))
            }
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag
            && !is_tag(tag)
        {
            return Err(ReferenceError::InvalidTag {
                reference: input.to_owned(),
                tag: tag.to_owned(),
            });
        }
        let (registry, repository) = split_registry(name);
        if repository.to_lowercase() != repository {
            return Err(ReferenceError::Uppercase {
                reference: input.to_owned(),
                repository: repository.to_owned(),
            });
        }
        if !is_repository(repository) {
            return Err(ReferenceError::InvalidRepository {
                reference: input.to_owned(),
                repository: repository.to_owned(),
            });
        }
        if !is_registry(registry) {
            return Err(ReferenceError::InvalidRegistry {
                reference: input.to_owned(),
                registry: registry.to_owned(),
            });
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_owned()
        };
        if registry.len() + 1 + repository.len() > NAME_MAX {
            return Err(ReferenceError::NameTooLong(input.to_owned()));
        }
        Ok(Self {
            registry: registry.to_owned(),
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

/// Splits `name` into registry and repository, following Docker's `splitDockerDomain`.
fn split_registry(name: &str) -> (&str, &str) {
    let Some((first, rest)) = name.split_once('/') else {
        return (DOCKER_HUB, name);
    };
    if first == DOCKER_HUB_LEGACY {
        (DOCKER_HUB, rest)
    } else if first == "localhost" || first.contains(['.', ':']) || first.to_lowercase() != first {
        (first, rest)
    } else {
        (DOCKER_HUB, name)
    }
}

/// `[\w][\w.-]{0,127}`
pub(crate) fn is_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    match tag.as_bytes().split_first() {
        Some((&first, rest)) => {
            tag.len() <= TAG_MAX
                && word(first)
                && rest.iter().all(|&b| word(b) || b == b'.' || b == b'-')
        }
        None => false,
    }
}

/// `path-component ('/' path-component)*`
pub(crate) fn is_repository(repository: &str) -> bool {
    repository.split('/').all(is_path_component)
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[sep_start..i];
        let valid = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !valid {
            return false;
        }
    }
}

/// `host[:port]` where host is a domain name or a bracketed IPv6 address.
fn is_registry(registry: &str) -> bool {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            return false;
        };
        if inside.is_empty() || !inside.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => (registry, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (registry, Some(port)),
                None => return false,
            },
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => {
                if !host.split('.').all(is_domain_component) {
                    return false;
                }
                (host, Some(port))
            }
            None => {
                if !registry.split('.').all(is_domain_component) {
                    return false;
                }
                (registry, None)
            }
        }
    };
    !host.is_empty() && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// `[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]`
fn is_domain_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_components_follow_the_grammar() {
        for ok in ["a", "a.b", "a_b", "a__b", "a-b", "a---b", "a1.b2_c3"] {
            assert!(is_path_component(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a..b", "a___b", "a_.b", "a.-b", "_a", "A"] {
            assert!(!is_path_component(bad), "{bad}");
        }
    }

    #[test]
    fn tags_follow_the_grammar() {
        assert!(is_tag("v1.2-rc_3"));
        assert!(is_tag("_x"));
        assert!(is_tag(&"a".repeat(128)));
        assert!(!is_tag(&"a".repeat(129)));
        assert!(!is_tag(".x"));
        assert!(!is_tag("-x"));
        assert!(!is_tag(""));
        assert!(!is_tag("a+b"));
    }

    #[test]
    fn registries_follow_the_grammar() {
        for ok in [
            "localhost",
            "a.b.c",
            "127.0.0.1:5000",
            "[::1]:5000",
            "[fc00::1]",
            "xn--n3h.com",
        ] {
            assert!(is_registry(ok), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "-a.com",
            "a.com:",
            "a.com:x",
            "[::1",
            "[]:1",
            "[g::1]:5",
            "a.com:1:2",
        ] {
            assert!(!is_registry(bad), "{bad}");
        }
    }
}
