//! Answering a registry's challenge: Basic credentials, or Bearer tokens fetched from the
//! realm (with the Docker token protocol or an OAuth2 refresh token) and cached until they
//! expire.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde::Deserialize;

use crate::challenge::Challenge;
use crate::credential_store::{CredentialStore, Secret};
use crate::error::{ErrorBody, RegistryError};

/// Token lifetime when the token server does not say (the Docker token specification's
/// default).
const DEFAULT_TOKEN_SECONDS: u64 = 60;
/// Largest token response read; real ones are a few kilobytes.
const MAX_TOKEN_RESPONSE: u64 = 1024 * 1024;
/// `client_id` sent with OAuth2 refresh-token requests.
const CLIENT_ID: &str = "portcullis";

/// Credentials and tokens shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct Authenticator {
    store: CredentialStore,
    /// Per registry; looked up once, since running a helper is slow.
    secrets: Mutex<HashMap<String, Option<Secret>>>,
    /// Per (registry, scope).
    tokens: Mutex<HashMap<(String, String), CachedToken>>,
}

struct CachedToken {
    value: String,
    expires: Instant,
}

impl std::fmt::Debug for CachedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CachedToken(<redacted>)")
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// What a request needs to say who it is for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    pub(crate) registry: &'a str,
    pub(crate) repository: &'a str,
    /// Ask for `pull,push` rather than `pull` (bearer tokens are scoped).
    pub(crate) push: bool,
}

impl Authenticator {
    pub(crate) fn new(store: CredentialStore) -> Self {
        Self {
            store,
            secrets: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn secret(&self, registry: &str) -> Result<Option<Secret>, RegistryError> {
        if let Some(found) = self
            .secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(registry)
        {
            return Ok(found.clone());
        }
        let found = self
            .store
            .lookup(registry)
            .map_err(|source| RegistryError::Credentials {
                registry: registry.to_owned(),
                source,
            })?;
        self.secrets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(registry.to_owned(), found.clone());
        Ok(found)
    }

    /// The `Authorization` header answering `challenge`, or `None` to go anonymous.
    /// `refresh` skips the token cache (the registry refused the cached token).
    pub(crate) fn header(
        &self,
        agent: &ureq::Agent,
        target: Target<'_>,
        challenge: &Challenge,
        refresh: bool,
    ) -> Result<Option<String>, RegistryError> {
        match challenge {
            Challenge::Basic => Ok(match self.secret(target.registry)? {
                Some(Secret::Password(c)) => Some(basic(&c.username, &c.password)),
                Some(Secret::RefreshToken { .. }) | None => None,
            }),
            Challenge::Bearer { realm, service, .. } => {
                let actions = if target.push { "pull,push" } else { "pull" };
                let scope = format!("repository:{}:{actions}", target.repository);
                let key = (target.registry.to_owned(), scope.clone());
                if !refresh {
                    let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(cached) = tokens.get(&key)
                        && cached.expires > Instant::now()
                    {
                        return Ok(Some(format!("Bearer {}", cached.value)));
                    }
                }
                let (value, lifetime) =
                    self.fetch_token(agent, target, realm, service.as_deref(), &scope)?;
                // Renew a little early so that a token does not expire in flight.
                let margin = if lifetime > 20 { 5 } else { 0 };
                let expires = Instant::now() + Duration::from_secs(lifetime - margin);
                let header = format!("Bearer {value}");
                self.tokens
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, CachedToken { value, expires });
                Ok(Some(header))
            }
        }
    }

    fn fetch_token(
        &self,
        agent: &ureq::Agent,
        target: Target<'_>,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<(String, u64), RegistryError> {
        let registry = target.registry;
        let transport = |source| RegistryError::Transport {
            registry: registry.to_owned(),
            repository: target.repository.to_owned(),
            what: format!("a token from {realm}"),
            source: Box::new(source),
        };
        let response = match self.secret(registry)? {
            Some(Secret::RefreshToken { token }) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                    ("scope", scope),
                    ("client_id", CLIENT_ID),
                ];
                if let Some(service) = service {
                    form.push(("service", service));
                }
                agent.post(realm).send_form(form).map_err(transport)?
            }
            secret => {
                let mut request = agent.get(realm).query("scope", scope);
                if let Some(service) = service {
                    request = request.query("service", service);
                }
                if let Some(Secret::Password(c)) = secret {
                    request = request.header("Authorization", basic(&c.username, &c.password));
                }
                request.call().map_err(transport)?
            }
        };
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_TOKEN_RESPONSE)
            .read_to_vec()
            .map_err(transport)?;
        if !(200..300).contains(&status) {
            let detail = token_error_detail(&body, status);
            return Err(if status == 401 || status == 403 {
                RegistryError::Unauthorized {
                    registry: registry.to_owned(),
                    repository: target.repository.to_owned(),
                    detail: format!("token server {realm} refused: {detail}"),
                }
            } else {
                RegistryError::TokenRequest {
                    registry: registry.to_owned(),
                    realm: realm.to_owned(),
                    status,
                    detail,
                }
            });
        }
        let parsed: Option<TokenResponse> = serde_json::from_slice(&body).ok();
        let Some(parsed) = parsed else {
            return Err(RegistryError::TokenResponse {
                registry: registry.to_owned(),
                realm: realm.to_owned(),
            });
        };
        let value = parsed
            .token
            .filter(|t| !t.is_empty())
            .or(parsed.access_token.filter(|t| !t.is_empty()))
            .ok_or_else(|| RegistryError::TokenResponse {
                registry: registry.to_owned(),
                realm: realm.to_owned(),
            })?;
        let lifetime = parsed
            .expires_in
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_TOKEN_SECONDS);
        Ok((value, lifetime))
    }
}

fn basic(username: &str, password: &str) -> String {
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    format!("Basic {encoded}")
}

/// Token servers answer errors either as distribution errors or as `{"details": "…"}`.
fn token_error_detail(body: &[u8], status: u16) -> String {
    #[derive(Deserialize)]
    struct Details {
        #[serde(default)]
        details: Option<String>,
        #[serde(default)]
        error_description: Option<String>,
        #[serde(default)]
        error: Option<String>,
    }
    if let Ok(d) = serde_json::from_slice::<Details>(body)
        && let Some(text) = d.details.or(d.error_description).or(d.error)
    {
        return text.chars().take(300).collect();
    }
    ErrorBody::parse(body).describe(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_is_base64_of_user_colon_password() {
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn token_errors_are_described() {
        assert_eq!(
            token_error_detail(br#"{"details":"incorrect username or password"}"#, 401),
            "incorrect username or password"
        );
        assert_eq!(token_error_detail(b"", 500), "HTTP 500");
    }
}
