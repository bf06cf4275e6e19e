//! [`Client`]: pulls manifests and blobs over the distribution API.

mod content;
mod endpoint;

pub use content::{BlobStream, FetchedManifest, MANIFEST_MEDIA_TYPES};
use content::{digest_like, is_specific, parse_tag_or_digest, sniff_media_type};
use endpoint::Endpoint;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use portcullis_types::Digest;
use sha2::{Digest as _, Sha256};
use ureq::http::{Response, StatusCode};

use crate::auth::{Authenticator, Target};
use crate::challenge::Challenge;
use crate::credential_store::CredentialStore;
use crate::error::{ErrorBody, RegistryError};
use crate::options::ClientOptions;
use crate::reference::{self, Reference};

/// Largest error body read to explain a failure.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// A blocking registry client. Cheap to clone (clones share connections, credentials and
/// tokens) and safe to use from several threads at once.
///
/// It never starts or needs an async runtime, so it may run on any OS thread, including a
/// tokio `spawn_blocking` thread; calling it directly on an async worker thread works but
/// blocks that worker, as any blocking I/O would.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    options: ClientOptions,
    auth: Authenticator,
    /// Per registry: the base URL that answered and its last challenge.
    endpoints: Mutex<HashMap<String, Arc<Endpoint>>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// A request (a pull's GET, or one step of a push), sent with `(base URL, Authorization`
/// header)`; see [`Client::send_for_push`].
pub(crate) type PushSend<'a, E> =
    dyn FnMut(&str, Option<&str>) -> Result<Response<ureq::Body>, E> + 'a;

/// What a request is about, for error messages.
enum Subject<'a> {
    Manifest(&'a str),
    Blob(&'a Digest),
}

impl Client {
    /// A client with `options`; reads the environment for credential files and helpers
    /// now, and the files themselves when a registry first asks for credentials.
    pub fn new(options: ClientOptions) -> Result<Client, RegistryError> {
        Self::with_env(options, |name| std::env::var_os(name))
    }

    fn with_env(
        options: ClientOptions,
        env: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Client, RegistryError> {
        if options.max_manifest_bytes == 0 {
            return Err(RegistryError::InvalidOption(
                "the manifest size limit must be above zero".into(),
            ));
        }
        if options.timeout.is_zero() {
            return Err(RegistryError::InvalidOption(
                "the timeout must be above zero".into(),
            ));
        }
        if options.user_agent.is_empty()
            || !options
                .user_agent
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(RegistryError::InvalidOption(
                "the user agent must be non-empty printable ASCII".into(),
            ));
        }
        let agent =
            crate::agent::http_agent(&options.user_agent, options.timeout, options.insecure);
        let store = CredentialStore::new(&options, env);
        Ok(Client {
            inner: Arc::new(Inner {
                agent,
                options,
                auth: Authenticator::new(store),
                endpoints: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// GETs a manifest or index by tag or digest, accepting OCI manifests and indexes and
    /// Docker v2 schema 2 manifests and manifest lists. Fetched by digest, bytes that do
    /// not hash to it are an error; fetched by tag, so is a `Docker-Content-Digest` header
    /// that disagrees with the bytes (an unparsable header is ignored).
    pub fn fetch_manifest(
        &self,
        reference: &Reference,
        tag_or_digest: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        let wanted = parse_tag_or_digest(tag_or_digest)?;
        let limit = self.inner.options.max_manifest_bytes;
        let response = self.get(
            reference,
            &format!("manifests/{tag_or_digest}"),
            Some(&MANIFEST_MEDIA_TYPES.join(", ")),
            true,
        )?;
        if !response.status().is_success() {
            return Err(self.status_error(reference, Subject::Manifest(tag_or_digest), response));
        }
        let too_large = || RegistryError::ManifestTooLarge {
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            reference: tag_or_digest.to_owned(),
            limit,
        };
        if header(&response, "content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|len| len > limit as u64)
        {
            return Err(too_large());
        }
        let content_type = header(&response, "content-type")
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
            .unwrap_or_default();
        let header_digest = header(&response, "docker-content-digest")
            .and_then(|v| v.trim().parse::<Digest>().ok());
        let bytes = match response
            .into_body()
            .with_config()
            .limit(limit as u64)
            .read_to_vec()
        {
            Ok(bytes) => bytes,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(too_large()),
            Err(source) => {
                return Err(self.transport(
                    reference,
                    &format!("manifest `{tag_or_digest}`"),
                    source,
                ));
            }
        };
        let digest = match (&wanted, &header_digest) {
            (Some(expected), _) => {
                let actual = digest_like(&bytes, expected);
                if &actual != expected {
                    return Err(RegistryError::DigestMismatch {
                        name: reference.name(),
                        reference: tag_or_digest.to_owned(),
                        expected: expected.clone(),
                        actual,
                    });
                }
                actual
            }
            (None, Some(said)) => {
                let actual = digest_like(&bytes, said);
                if &actual != said {
                    return Err(RegistryError::HeaderDigestMismatch {
                        name: reference.name(),
                        reference: tag_or_digest.to_owned(),
                        header: said.clone(),
                        actual,
                    });
                }
                actual
            }
            (None, None) => Digest::sha256_from_bytes(Sha256::digest(&bytes).into()),
        };
        let media_type = if is_specific(&content_type) {
            content_type
        } else {
            sniff_media_type(&bytes)
        };
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// GETs a blob as a stream, following redirects to blob storage (the `Authorization`
    /// header is dropped when the redirect leaves the registry's host).
    pub fn fetch_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<BlobStream, RegistryError> {
        let response = self.get(reference, &format!("blobs/{digest}"), None, false)?;
        if !response.status().is_success() {
            return Err(self.status_error(reference, Subject::Blob(digest), response));
        }
        let size = header(&response, "content-length").and_then(|v| v.parse::<u64>().ok());
        Ok(BlobStream::new(response.into_body().into_reader(), size))
    }

    /// GETs `/v2/<repository>/<path>`, answering one authentication challenge.
    fn get(
        &self,
        reference: &Reference,
        path: &str,
        accept: Option<&str>,
        bound_body: bool,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let body_timeout = bound_body.then_some(self.inner.options.timeout);
        self.authorized(reference, false, &mut |base, authorization| {
            let url = format!("{base}/v2/{}/{path}", reference.repository);
            let mut request = self.inner.agent.get(&url);
            if let Some(accept) = accept {
                request = request.header("Accept", accept);
            }
            if let Some(authorization) = authorization {
                request = request.header("Authorization", authorization);
            }
            request
                .config()
                .timeout_recv_body(body_timeout)
                .build()
                .call()
                .map_err(|source| self.transport(reference, path, source))
        })
    }

    /// For pushes (`crate::push`): runs `send(base_url, authorization)` against the
    /// registry of `reference` with credentials for `repository:<name>:pull,push`, and once
    /// more after a `401` that brings a (new) challenge. `send` must be able to repeat its
    /// request (it reopens any body it streams).
    pub(crate) fn send_for_push<E: From<RegistryError>>(
        &self,
        reference: &Reference,
        send: &mut PushSend<'_, E>,
    ) -> Result<Response<ureq::Body>, E> {
        self.authorized(reference, true, send)
    }

    /// Runs `send(base_url, authorization)` against the registry of `reference` with
    /// credentials for pulling (or, with `push`, pushing), and once more after a `401` that
    /// brings a (new) challenge: another realm, a first challenge after an anonymous ping,
    /// or a fresh token.
    fn authorized<E: From<RegistryError>>(
        &self,
        reference: &Reference,
        push: bool,
        send: &mut PushSend<'_, E>,
    ) -> Result<Response<ureq::Body>, E> {
        if !reference::is_repository(&reference.repository) {
            return Err(RegistryError::InvalidOption(format!(
                "repository `{}` is not a valid repository name",
                reference.repository
            ))
            .into());
        }
        let endpoint = self.endpoint(&reference.registry)?;
        let target = Target {
            registry: &reference.registry,
            repository: &reference.repository,
            push,
        };
        let mut retried = false;
        loop {
            let authorization = match endpoint.challenge() {
                Some(challenge) => {
                    self.inner
                        .auth
                        .header(&self.inner.agent, target, &challenge, retried)?
                }
                None => None,
            };
            let response = send(&endpoint.base, authorization.as_deref())?;
            if response.status() != StatusCode::UNAUTHORIZED || retried {
                return Ok(response);
            }
            let challenge = header(&response, "www-authenticate").and_then(Challenge::select);
            if challenge.is_none() && endpoint.challenge().is_none() {
                return Ok(response);
            }
            if let Some(challenge) = challenge {
                *endpoint
                    .challenge
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(challenge);
            }
            retried = true;
        }
    }

    /// The shared HTTP agent (for `crate::push`).
    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.inner.agent
    }

    /// The options this client was made with.
    pub(crate) fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    fn transport(&self, reference: &Reference, what: &str, source: ureq::Error) -> RegistryError {
        RegistryError::Transport {
            registry: reference.registry.clone(),
            repository: reference.repository.clone(),
            what: what.to_owned(),
            source: Box::new(source),
        }
    }

    fn status_error(
        &self,
        reference: &Reference,
        subject: Subject<'_>,
        response: Response<ureq::Body>,
    ) -> RegistryError {
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_ERROR_BODY)
            .read_to_vec()
            .unwrap_or_default();
        let errors = ErrorBody::parse(&body);
        let detail = errors.describe(status);
        let registry = reference.registry.clone();
        let repository = reference.repository.clone();
        match status {
            401 => RegistryError::Unauthorized {
                registry,
                repository,
                detail,
            },
            403 => RegistryError::Denied {
                registry,
                repository,
                detail,
            },
            429 => RegistryError::RateLimited { registry, detail },
            404 if errors.has_code("NAME_UNKNOWN") => RegistryError::RepositoryNotFound {
                registry,
                repository,
            },
            404 => match subject {
                Subject::Manifest(reference) => RegistryError::ManifestNotFound {
                    registry,
                    repository,
                    reference: reference.to_owned(),
                },
                Subject::Blob(digest) => RegistryError::BlobNotFound {
                    registry,
                    repository,
                    digest: digest.clone(),
                },
            },
            _ => RegistryError::UnexpectedStatus {
                registry,
                repository,
                what: match subject {
                    Subject::Manifest(reference) => format!("manifest `{reference}`"),
                    Subject::Blob(digest) => format!("blob `{digest}`"),
                },
                status,
                detail,
            },
        }
    }
}

fn header<'a>(response: &'a Response<ureq::Body>, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn client_is_send_sync_and_blob_stream_is_send() {
        fn send_sync<T: Send + Sync + Clone>() {}
        fn send<T: Send + Read>() {}
        send_sync::<Client>();
        send::<BlobStream>();
    }
}
