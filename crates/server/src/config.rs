//! The server's configuration: a TOML file, overridden by `PORTCULLIS_*` environment
//! variables (the binary applies those and its flags on top of [`ServerConfig::from_toml`]).
//! Every limit has a safe default; [`ServerConfig::default`] is the embedded default: one
//! data directory, SQLite, local blobs, 127.0.0.1:5000.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Everything `portcullis server` and `portcullis worker` need.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// Where to listen (`PORTCULLIS_LISTEN`).
    pub listen: SocketAddr,
    /// The URL clients reach the server at, for links and the token realm; derived from
    /// `listen` when empty (`PORTCULLIS_EXTERNAL_URL`).
    pub external_url: Option<String>,
    /// Holds the database (SQLite), blobs and uploads (`PORTCULLIS_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `postgres://…` to share state between several processes; SQLite in `data_dir`
    /// when empty (`PORTCULLIS_DATABASE_URL`).
    pub database_url: Option<String>,
    /// The advisory database home (`portcullis db update --home`); `PORTCULLIS_HOME` or
    /// the user's data directory when empty.
    pub advisory_home: Option<PathBuf>,
    /// TLS certificate chain and key (PEM); plain HTTP when absent.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The registry zones.
    pub unscanned_prefix: String,
    pub scanned_prefix: String,
    /// Whether manifests and blobs may be deleted through the registry API.
    pub delete_enabled: bool,
    /// The policy stage that decides promotion.
    pub promotion_stage: String,
    /// Scan workers in the server process (0: only separate `portcullis worker`s scan).
    pub workers: usize,
    /// Attempts a scan gets before the image is marked failed.
    pub scan_attempts: u32,
    /// Seconds before a failed scan is tried again, times the attempt number.
    pub scan_retry_seconds: u64,
    /// How long a worker holds a job before another may take it over.
    #[serde(with = "seconds")]
    pub job_lease: Duration,
    /// Largest manifest accepted, in bytes.
    pub max_manifest_bytes: u64,
    /// Largest blob (layer) accepted, in bytes.
    pub max_blob_bytes: u64,
    /// Upload sessions idle longer than this are removed.
    #[serde(with = "seconds")]
    pub upload_idle_timeout: Duration,
    /// Lifetime of registry bearer tokens.
    #[serde(with = "seconds")]
    pub token_lifetime: Duration,
    /// Whether anonymous clients may pull from the scanned zone.
    pub allow_anonymous_pull: bool,
    /// Failed logins allowed per user name and per minute.
    pub login_attempts_per_minute: u32,
    /// Limits on what a scan reads from an image.
    pub max_uncompressed_bytes: u64,
    pub max_entries: u64,
    /// Webhook delivery attempts before a delivery is marked failed.
    pub webhook_max_attempts: u32,
    /// Seconds to wait after the 1st, 2nd… failed delivery; the last repeats.
    pub webhook_backoff: Vec<u64>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let limits = portcullis_image::Limits::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            external_url: None,
            data_dir: PathBuf::from("portcullis-data"),
            database_url: None,
            advisory_home: None,
            tls_cert: None,
            tls_key: None,
            unscanned_prefix: "unscanned/".to_owned(),
            scanned_prefix: "scanned/".to_owned(),
            delete_enabled: false,
            promotion_stage: "prod".to_owned(),
            workers: 1,
            scan_attempts: 5,
            scan_retry_seconds: 5,
            job_lease: Duration::from_secs(300),
            max_manifest_bytes: 4 * 1024 * 1024,
            max_blob_bytes: 16 << 30,
            upload_idle_timeout: Duration::from_secs(3600),
            token_lifetime: Duration::from_secs(300),
            allow_anonymous_pull: false,
            login_attempts_per_minute: 10,
            max_uncompressed_bytes: limits.max_uncompressed_bytes,
            max_entries: limits.max_entries,
            webhook_max_attempts: 8,
            webhook_backoff: vec![5, 30, 120, 600, 3600],
        }
    }
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration file `{file}`: {message}")]
    Toml { file: String, message: String },
    #[error("invalid setting `{name}`: {message}")]
    Invalid { name: String, message: String },
}

impl ServerConfig {
    /// Parses a TOML configuration; unknown keys are errors (a typo must not be ignored).
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let config: ServerConfig = toml::from_str(text).map_err(|e| ConfigError::Toml {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |name: &str, message: &str| {
            Err(ConfigError::Invalid {
                name: name.to_owned(),
                message: message.to_owned(),
            })
        };
        for (name, prefix) in [
            ("unscanned-prefix", &self.unscanned_prefix),
            ("scanned-prefix", &self.scanned_prefix),
        ] {
            if !prefix.ends_with('/') || prefix.len() < 2 {
                return invalid(
                    name,
                    "must be a repository path prefix ending in `/`, such as `scanned/`",
                );
            }
        }
        if self.unscanned_prefix.starts_with(&self.scanned_prefix)
            || self.scanned_prefix.starts_with(&self.unscanned_prefix)
        {
            return invalid(
                "scanned-prefix",
                "the scanned and unscanned zones must not overlap",
            );
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return invalid("tls-cert", "give both `tls-cert` and `tls-key`, or neither");
        }
        if self.webhook_backoff.is_empty() || self.webhook_max_attempts == 0 {
            return invalid(
                "webhook-backoff",
                "give at least one wait in seconds and at least one attempt",
            );
        }
        if self.promotion_stage.is_empty() {
            return invalid(
                "promotion-stage",
                "must name a stage of the policy, such as `prod`",
            );
        }
        Ok(())
    }

    /// The URL clients reach the server at, without a trailing slash.
    pub fn external_url(&self) -> String {
        match &self.external_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let scheme = if self.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", self.listen)
            }
        }
    }

    /// The host and port clients push to (`127.0.0.1:5000`).
    pub fn registry_host(&self) -> String {
        let url = self.external_url();
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or(rest).to_owned()
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("portcullis.db").display()
            ),
        }
    }
}

/// Durations as whole seconds in TOML.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_listen_on_loopback_and_derive_the_external_url() {
        let c = ServerConfig::default();
        assert_eq!(c.external_url(), "http://127.0.0.1:5000");
        assert_eq!(c.registry_host(), "127.0.0.1:5000");
        assert!(
            c.database_url()
                .starts_with("sqlite://portcullis-data/portcullis.db")
        );
    }

    #[test]
    fn toml_overrides_and_rejects_unknown_keys_and_overlapping_zones() {
        let c = ServerConfig::from_toml(
            "listen = \"127.0.0.1:6000\"\npromotion-stage = \"test\"\njob-lease = 60\n",
            "c.toml",
        )
        .unwrap();
        assert_eq!(c.listen.port(), 6000);
        assert_eq!(c.promotion_stage, "test");
        assert_eq!(c.job_lease, Duration::from_secs(60));
        let e = ServerConfig::from_toml("lisen = \"x\"", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.toml") && e.contains("lisen"), "{e}");
        let e = ServerConfig::from_toml("scanned-prefix = \"unscanned/x/\"", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("overlap"), "{e}");
    }
}
