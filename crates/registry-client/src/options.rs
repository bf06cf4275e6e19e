//! How a [`Client`](crate::Client) is configured, and the credentials it may be given.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a [`Client`](crate::Client). `ClientOptions::default()` is safe for
/// production: TLS verified, anonymous unless a credentials file says otherwise.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// For loopback and lab registries only: accept invalid TLS certificates, and fall back
    /// to plain HTTP when the registry does not speak TLS (as `docker` does for an
    /// "insecure registry" and `skopeo --tls-verify=false`). Credentials then cross the
    /// network in clear text.
    pub insecure: bool,
    /// Credentials file to read (a Docker `config.json` or a podman `auth.json`; a
    /// directory means its `config.json`). When `None`, the first of these that exists and
    /// has an entry for the registry is used: `$REGISTRY_AUTH_FILE`,
    /// `$XDG_RUNTIME_DIR/containers/auth.json`, `$DOCKER_CONFIG/config.json` or else
    /// `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Explicit credentials (`--creds user:password`); they win over any file.
    pub credentials: Option<Credentials>,
    /// Bound on connecting, on waiting for each response head, on reading a whole manifest
    /// or token response, and on any single read of a blob (a stalled transfer). A blob as a
    /// whole may take longer.
    pub timeout: Duration,
    /// `User-Agent` header sent with every request.
    pub user_agent: String,
    /// Largest manifest or index accepted, in bytes; the distribution specification
    /// recommends that registries accept at least 4 MiB.
    pub max_manifest_bytes: usize,
    /// Directories searched for `docker-credential-<name>` helpers, in the syntax of
    /// `$PATH`; `None` means `$PATH` itself.
    pub credential_helper_path: Option<OsString>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure: false,
            docker_config: None,
            credentials: None,
            timeout: Duration::from_secs(60),
            user_agent: concat!("portcullis/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_manifest_bytes: 4 * 1024 * 1024,
            credential_helper_path: None,
        }
    }
}

/// A user name and password (or token) for a registry. `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl Credentials {
    /// Parses `user:password` as given to `--creds`; the password may contain `:`.
    pub fn from_user_colon_password(value: &str) -> Option<Self> {
        let (username, password) = value.split_once(':')?;
        Some(Self {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let creds = Credentials::from_user_colon_password("alice:s3cr:et").unwrap();
        assert_eq!(creds.password, "s3cr:et");
        let shown = format!(
            "{creds:?} {:?}",
            ClientOptions {
                credentials: Some(creds.clone()),
                ..ClientOptions::default()
            }
        );
        assert!(shown.contains("alice"));
        assert!(!shown.contains("s3cr"), "{shown}");
    }

    #[test]
    fn creds_without_colon_are_refused() {
        assert!(Credentials::from_user_colon_password("alice").is_none());
    }
}
