//! Finding a registry's endpoint: `GET /v2/` over HTTPS, or plain HTTP for `insecure`,
//! and the challenge that answer carries.

use std::sync::{Arc, Mutex, PoisonError};

use ureq::http::StatusCode;

use super::{Client, header};
use crate::challenge::Challenge;
use crate::error::RegistryError;
use crate::reference::DOCKER_HUB;

/// Docker Hub's API host; `docker.io` is only its name in references.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug)]
pub(super) struct Endpoint {
    pub(super) base: String,
    pub(super) challenge: Mutex<Option<Challenge>>,
}

impl Endpoint {
    pub(super) fn challenge(&self) -> Option<Challenge> {
        self.challenge
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Client {
    /// The endpoint of `registry`, found by `GET /v2/` on first use: HTTPS, or with
    /// `insecure` plain HTTP when HTTPS fails; the answer's challenge says how to log in.
    pub(super) fn endpoint(&self, registry: &str) -> Result<Arc<Endpoint>, RegistryError> {
        let mut endpoints = self
            .inner
            .endpoints
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = endpoints.get(registry) {
            return Ok(found.clone());
        }
        // Holding the lock while pinging keeps parallel layer pulls from pinging N times.
        let host = if registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            registry
        };
        let https = format!("https://{host}");
        let (base, challenge) = match self.ping(&https) {
            Ok(challenge) => (https, challenge),
            Err(tls_error) if self.inner.options.insecure => {
                let http = format!("http://{host}");
                match self.ping(&http) {
                    Ok(challenge) => (http, challenge),
                    Err(source) => {
                        let source = if is_connect_error(&source) {
                            source
                        } else {
                            tls_error
                        };
                        return Err(RegistryError::Connect {
                            registry: registry.to_owned(),
                            url: format!("{http}/v2/"),
                            source: Box::new(source),
                        });
                    }
                }
            }
            Err(source) => {
                let url = format!("{https}/v2/");
                return Err(if is_connect_error(&source) {
                    RegistryError::Connect {
                        registry: registry.to_owned(),
                        url,
                        source: Box::new(source),
                    }
                } else {
                    RegistryError::Tls {
                        registry: registry.to_owned(),
                        url,
                        source: Box::new(source),
                    }
                });
            }
        };
        let endpoint = Arc::new(Endpoint {
            base,
            challenge: Mutex::new(challenge),
        });
        endpoints.insert(registry.to_owned(), endpoint.clone());
        Ok(endpoint)
    }

    fn ping(&self, base: &str) -> Result<Option<Challenge>, ureq::Error> {
        let response = self.inner.agent.get(format!("{base}/v2/")).call()?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Ok(header(&response, "www-authenticate").and_then(Challenge::select));
        }
        Ok(None)
    }
}

/// True when the server could not be reached at all, as opposed to a TLS or protocol
/// failure that plain HTTP might explain.
fn is_connect_error(error: &ureq::Error) -> bool {
    match error {
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => true,
        // A timeout after connecting (say, a plain HTTP server waiting for a request line
        // while we wait for its TLS answer) is a protocol mismatch, not unreachability.
        ureq::Error::Timeout(timeout) => {
            matches!(timeout, ureq::Timeout::Resolve | ureq::Timeout::Connect)
        }
        ureq::Error::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::AddrNotAvailable
                | std::io::ErrorKind::NotFound
        ),
        _ => false,
    }
}
