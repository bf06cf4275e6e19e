//! The image a gate follows: `[HOST[:PORT]/]REPOSITORY(:TAG|@DIGEST)`.

use anyhow::{Context as _, bail};

/// An image in the server's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The registry's host and port, when the reference names one.
    pub host: Option<String>,
    /// `unscanned/<team>/<app>`.
    pub repository: String,
    /// A tag or a digest (`sha256:…`).
    pub reference: String,
}

impl Target {
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let usage = "expected [HOST[:PORT]/]unscanned/<team>/<app>:TAG (or @sha256:DIGEST)";
        let s = s.trim();
        let s = s.strip_prefix("docker://").unwrap_or(s);
        let (host, rest) = match s.split_once('/') {
            // Docker's rule: the first component is a host when it has a dot or a port,
            // or is `localhost`.
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (Some(first.to_owned()), rest)
            }
            _ => (None, s),
        };
        let (repository, reference) = if let Some((repo, digest)) = rest.split_once('@') {
            if !is_digest(digest) {
                bail!("`{s}`: `{digest}` is not a sha256 digest; {usage}");
            }
            (repo, digest.to_owned())
        } else {
            let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
            match rest[last_slash..].rfind(':') {
                Some(i) => {
                    let colon = last_slash + i;
                    (&rest[..colon], rest[colon + 1..].to_owned())
                }
                None => bail!("`{s}` names no tag or digest; {usage}"),
            }
        };
        let valid_component = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        };
        if repository.is_empty() || !repository.split('/').all(valid_component) {
            bail!(
                "`{s}`: `{repository}` is not a repository name (lower-case letters, digits, `._-`, separated by `/`); {usage}"
            );
        }
        let valid_tag = !reference.is_empty()
            && reference.len() <= 128
            && reference
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
        if !valid_tag {
            bail!("`{s}`: `{reference}` is not a valid tag; {usage}");
        }
        Ok(Self {
            host,
            repository: repository.to_owned(),
            reference,
        })
    }

    /// `repository:tag` or `repository@digest`.
    pub fn display(&self) -> String {
        self.in_repository(&self.repository)
    }

    /// The same tag (or digest) in `repository`: where a promoted image is pulled from.
    pub fn in_repository(&self, repository: &str) -> String {
        if is_digest(&self.reference) {
            format!("{repository}@{}", self.reference)
        } else {
            format!("{repository}:{}", self.reference)
        }
    }

    /// The registry host: the reference's, or the server's.
    pub fn registry_host(&self, server: &str) -> anyhow::Result<String> {
        if let Some(h) = &self.host {
            return Ok(h.clone());
        }
        let rest = server
            .split_once("://")
            .map(|(_, r)| r)
            .with_context(|| format!("--server `{server}` is not a URL (http://HOST:PORT)"))?;
        Ok(rest.split('/').next().unwrap_or(rest).to_owned())
    }
}

pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_as_docker_reads_them() {
        let t = Target::parse("127.0.0.1:5000/unscanned/a/app:v1").unwrap();
        assert_eq!(t.host.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(t.repository, "unscanned/a/app");
        assert_eq!(t.reference, "v1");
        let t = Target::parse("unscanned/a/app:v1").unwrap();
        assert_eq!(t.host, None);
        assert_eq!(
            t.registry_host("http://127.0.0.1:5000/").unwrap(),
            "127.0.0.1:5000"
        );
        let d = format!("sha256:{}", "ab".repeat(32));
        let t = Target::parse(&format!("localhost/unscanned/a/app@{d}")).unwrap();
        assert_eq!(t.reference, d);
        assert_eq!(t.display(), format!("unscanned/a/app@{d}"));
    }

    #[test]
    fn bad_references_say_what_is_expected() {
        for bad in [
            "unscanned/a/app",
            "Unscanned/a/app:v1",
            "unscanned/a/app@sha256:12",
            "unscanned//app:v1",
            "unscanned/a/app:bad tag",
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(e.contains("expected [HOST[:PORT]/]unscanned"), "{bad}: {e}");
        }
    }
}
