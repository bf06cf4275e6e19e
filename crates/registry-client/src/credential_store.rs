//! Credentials saved by `docker login`, `podman login` or `skopeo login`: the `auths`,
//! `credHelpers` and `credsStore` entries of `config.json` / `auth.json`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use crate::credential_helper::{self, HelperError};
use crate::options::{ClientOptions, Credentials};
use crate::reference::DOCKER_HUB;

/// The key `docker login` writes for Docker Hub, and the server URL helpers expect for it.
const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// A secret found for a registry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    /// A user name and password (or personal access token).
    Password(Credentials),
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token realm.
    RefreshToken { token: String },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Password(credentials) => credentials.fmt(f),
            Secret::RefreshToken { .. } => f.write_str("RefreshToken(<redacted>)"),
        }
    }
}

/// Why saved credentials could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("failed to read credentials file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials file `{path}` is not valid JSON; fix it or log in again")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "the `auth` entry for `{key}` in `{path}` is not base64 of `user:password`; \
         log in again to rewrite it"
    )]
    BadAuthField { path: PathBuf, key: String },
    #[error("credential helper configured in `{path}` failed")]
    Helper {
        path: PathBuf,
        #[source]
        source: HelperError,
    },
}

/// Where credentials come from, resolved once from the options and the environment.
#[derive(Clone, Debug)]
pub(crate) struct CredentialStore {
    explicit: Option<Credentials>,
    files: Vec<PathBuf>,
    helper_path: Option<OsString>,
    helper_timeout: Duration,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl std::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthEntry(<redacted>)")
    }
}

impl CredentialStore {
    /// `env` looks up an environment variable; tests pass their own.
    pub(crate) fn new(options: &ClientOptions, env: impl Fn(&str) -> Option<OsString>) -> Self {
        let files = match &options.docker_config {
            Some(path) if path.is_dir() => vec![path.join("config.json")],
            Some(path) => vec![path.clone()],
            None => default_files(&env),
        };
        Self {
            explicit: options.credentials.clone(),
            files,
            helper_path: options
                .credential_helper_path
                .clone()
                .or_else(|| env("PATH")),
            helper_timeout: options.timeout,
        }
    }

    /// The secret for `registry` (as written in a [`Reference`](crate::Reference)), if any.
    pub(crate) fn lookup(&self, registry: &str) -> Result<Option<Secret>, CredentialError> {
        if let Some(credentials) = &self.explicit {
            return Ok(Some(Secret::Password(credentials.clone())));
        }
        for path in &self.files {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(CredentialError::Read {
                        path: path.clone(),
                        source,
                    });
                }
            };
            let config: ConfigFile =
                serde_json::from_str(&text).map_err(|source| CredentialError::Parse {
                    path: path.clone(),
                    source,
                })?;
            if let Some(secret) = self.lookup_in(&config, path, registry)? {
                return Ok(Some(secret));
            }
        }
        Ok(None)
    }

    fn lookup_in(
        &self,
        config: &ConfigFile,
        path: &Path,
        registry: &str,
    ) -> Result<Option<Secret>, CredentialError> {
        let wanted = normalise_server(registry);
        let helper = config
            .cred_helpers
            .iter()
            .find(|(key, _)| normalise_server(key) == wanted)
            .map(|(_, helper)| helper);
        if let Some(helper) = helper {
            return self.ask_helper(helper, path, registry);
        }
        // Prefer a key written exactly as the registry, then the first in sorted order.
        let entry = config
            .auths
            .iter()
            .filter(|(key, _)| normalise_server(key) == wanted)
            .min_by_key(|(key, _)| (key.as_str() != registry, key.as_str()));
        if let Some((key, entry)) = entry
            && let Some(secret) = entry_secret(entry, path, key)?
        {
            return Ok(Some(secret));
        }
        match &config.creds_store {
            Some(store) if !store.is_empty() => self.ask_helper(store, path, registry),
            _ => Ok(None),
        }
    }

    fn ask_helper(
        &self,
        helper: &str,
        path: &Path,
        registry: &str,
    ) -> Result<Option<Secret>, CredentialError> {
        let server = if registry == DOCKER_HUB {
            DOCKER_HUB_AUTH_KEY
        } else {
            registry
        };
        credential_helper::get(
            helper,
            self.helper_path.as_deref(),
            server,
            self.helper_timeout,
        )
        .map_err(|source| CredentialError::Helper {
            path: path.to_owned(),
            source,
        })
    }
}

fn default_files(env: &impl Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(file) = env("REGISTRY_AUTH_FILE").filter(|f| !f.is_empty()) {
        files.push(PathBuf::from(file));
    }
    if let Some(dir) = env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        files.push(PathBuf::from(dir).join("containers").join("auth.json"));
    }
    if let Some(dir) = env("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        files.push(PathBuf::from(dir).join("config.json"));
    } else if let Some(home) = env("HOME").filter(|h| !h.is_empty()) {
        files.push(PathBuf::from(home).join(".docker").join("config.json"));
    }
    files
}

fn entry_secret(
    entry: &AuthEntry,
    path: &Path,
    key: &str,
) -> Result<Option<Secret>, CredentialError> {
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Secret::RefreshToken {
            token: token.to_owned(),
        }));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = || CredentialError::BadAuthField {
            path: path.to_owned(),
            key: key.to_owned(),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let credentials = Credentials::from_user_colon_password(&decoded).ok_or_else(bad)?;
        return Ok(Some(Secret::Password(credentials)));
    }
    match (&entry.username, &entry.password) {
        (Some(username), Some(password)) if !username.is_empty() => {
            Ok(Some(Secret::Password(Credentials {
                username: username.clone(),
                password: password.clone(),
            })))
        }
        _ => Ok(None),
    }
}

/// Reduces every historic key form to `host[:port]`, with Docker Hub's aliases merged:
/// `https://index.docker.io/v1/`, `http://host:5000/v2/`, `host:5000`.
pub(crate) fn normalise_server(key: &str) -> &str {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_in_every_historic_form() {
        for key in [
            "https://index.docker.io/v1/",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ] {
            assert_eq!(normalise_server(key), "docker.io", "{key}");
        }
        for key in [
            "127.0.0.1:5000",
            "http://127.0.0.1:5000/v2/",
            "https://127.0.0.1:5000",
        ] {
            assert_eq!(normalise_server(key), "127.0.0.1:5000", "{key}");
        }
    }

    #[test]
    fn default_files_follow_podman_then_docker() {
        let env = |name: &str| -> Option<OsString> {
            match name {
                "REGISTRY_AUTH_FILE" => Some("/a/auth.json".into()),
                "XDG_RUNTIME_DIR" => Some("/run/user/1".into()),
                "HOME" => Some("/home/u".into()),
                _ => None,
            }
        };
        let files = default_files(&env);
        assert_eq!(
            files,
            [
                PathBuf::from("/a/auth.json"),
                PathBuf::from("/run/user/1/containers/auth.json"),
                PathBuf::from("/home/u/.docker/config.json"),
            ]
        );
        let env = |name: &str| (name == "DOCKER_CONFIG").then(|| OsString::from("/cfg"));
        assert_eq!(default_files(&env), [PathBuf::from("/cfg/config.json")]);
    }

    #[test]
    fn auth_entries_decode() {
        let path = Path::new("config.json");
        let entry = AuthEntry {
            auth: Some("dXNlcjpwYTpzcw==".into()),
            ..AuthEntry::default()
        };
        let Ok(Some(Secret::Password(creds))) = entry_secret(&entry, path, "k") else {
            panic!("no credentials");
        };
        assert_eq!(
            (creds.username.as_str(), creds.password.as_str()),
            ("user", "pa:ss")
        );
        let entry = AuthEntry {
            auth: Some("!!!".into()),
            ..AuthEntry::default()
        };
        let err = entry_secret(&entry, path, "k").err().unwrap().to_string();
        assert!(err.contains("`k`") && err.contains("config.json"), "{err}");
        let entry = AuthEntry {
            identitytoken: Some("rt".into()),
            ..AuthEntry::default()
        };
        assert!(matches!(
            entry_secret(&entry, path, "k"),
            Ok(Some(Secret::RefreshToken { token })) if token == "rt"
        ));
        assert!(matches!(
            entry_secret(&AuthEntry::default(), path, "k"),
            Ok(None)
        ));
    }
}
