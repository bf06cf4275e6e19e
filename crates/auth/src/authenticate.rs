//! Turning an `Authorization` header into a [`Principal`], and deciding registry requests.
//!
//! Accepted: `Basic` with `user:password` or `anything:<API token>`, `Bearer pct_…` (an API
//! token), and `Bearer <JWT>` issued by the token endpoint. Password and API-token
//! credentials carry their role's full rights; a JWT carries only the `access` it was
//! issued with, so a request it does not cover, but the role would allow, is answered with
//! `error="insufficient_scope"` so that the client fetches a wider token.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis_types::{
    AccessError, Authorizer, BoxFuture, Principal, PrincipalKind, RegistryAction, RepositoryScope,
    Role,
};

use crate::jwt::{Claims, JwtError};
use crate::permissions::{allowed_actions, anonymous_actions, denial_message};
use crate::secret::{hash_token_secret, hashes_equal, verify_password};
use crate::{Auth, AuthError};

/// Credentials as sent.
pub(crate) enum Credentials<'a> {
    Basic { user: String, secret: String },
    Bearer(&'a str),
}

/// Why a sign-in failed (never holding the secret).
#[derive(Debug)]
pub(crate) enum LoginError {
    /// Wrong user, password or token: the same answer for all three.
    Invalid,
    /// Too many failures for this user name or source.
    Limited(Duration),
    Unavailable(AuthError),
}

/// The name anonymous registry tokens are issued to.
pub(crate) const ANONYMOUS: &str = "anonymous";

/// Parses an `Authorization` header value (scheme names are case-insensitive).
pub(crate) fn parse_authorization(header: &str) -> Option<Credentials<'_>> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(value).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, secret) = decoded.split_once(':')?;
        Some(Credentials::Basic {
            user: user.to_owned(),
            secret: secret.to_owned(),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Credentials::Bearer(value))
    } else {
        None
    }
}

/// Now in Unix seconds.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether `name` may appear inside a quoted challenge parameter as is.
fn header_safe(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-:".contains(&b))
}

fn is_jwt(value: &str) -> bool {
    value.bytes().filter(|b| *b == b'.').count() == 2
}

impl Auth {
    /// The `WWW-Authenticate` value asking for a token covering `scopes`, with an RFC 6750
    /// `error` when a token was presented.
    pub fn challenge(&self, scopes: &[RepositoryScope], error: Option<&str>) -> String {
        let config = self.config();
        let mut challenge = format!(
            "Bearer realm=\"{}\",service=\"{}\"",
            config.realm, config.service
        );
        let scope: Vec<String> = scopes
            .iter()
            .filter(|s| header_safe(&s.repository) && !s.actions.is_empty())
            .map(RepositoryScope::to_scope_string)
            .collect();
        if !scope.is_empty() {
            challenge.push_str(&format!(",scope=\"{}\"", scope.join(" ")));
        }
        if let Some(error) = error {
            challenge.push_str(&format!(",error=\"{error}\""));
        }
        challenge
    }

    /// Checks a user name and password, or an API token given as the password (the user
    /// name is then ignored). `source` is the client's address, for the attempt limit.
    pub(crate) async fn sign_in(
        &self,
        user: &str,
        secret: &str,
        source: Option<IpAddr>,
    ) -> Result<Principal, LoginError> {
        let mut keys = vec![format!("user:{user}")];
        if let Some(source) = source {
            keys.push(format!("source:{source}"));
        }
        self.inner
            .limiter
            .check(&keys)
            .map_err(LoginError::Limited)?;
        if let Some(principal) = self
            .api_token(secret)
            .await
            .map_err(LoginError::Unavailable)?
        {
            return Ok(principal);
        }
        let stored = self
            .store()
            .user(user)
            .await
            .map_err(|e| LoginError::Unavailable(e.into()))?;
        let hash = stored.as_ref().map(|c| c.password_hash.as_str());
        if verify_password(secret, hash)
            .await
            .map_err(LoginError::Unavailable)?
            && let Some(stored) = stored
        {
            return Ok(Principal {
                name: stored.user.name,
                kind: PrincipalKind::User,
                role: stored.user.role,
                teams: stored.user.teams,
            });
        }
        self.inner.limiter.record_failure(&keys);
        Err(LoginError::Invalid)
    }

    /// The principal of a valid (unrevoked, unexpired) API token.
    async fn api_token(&self, secret: &str) -> Result<Option<Principal>, AuthError> {
        let hash = hash_token_secret(secret);
        let Some(found) = self.store().valid_token_by_hash(&hash).await? else {
            return Ok(None);
        };
        if !hashes_equal(&found.secret_hash, &hash) {
            return Ok(None);
        }
        Ok(Some(Principal {
            name: found.token.name,
            kind: PrincipalKind::Token,
            role: found.token.role,
            teams: found.token.teams,
        }))
    }

    fn login_error(
        &self,
        error: LoginError,
        user: &str,
        scopes: &[RepositoryScope],
    ) -> AccessError {
        match error {
            LoginError::Invalid => AccessError::Unauthenticated {
                challenge: self.challenge(scopes, None),
            },
            LoginError::Limited(wait) => AccessError::Denied {
                message: format!(
                    "too many failed sign-ins for `{user}` or from this address; wait {} seconds",
                    wait.as_secs().max(1)
                ),
            },
            LoginError::Unavailable(error) => AccessError::Unavailable {
                message: error.to_string(),
            },
        }
    }

    /// The claims of a registry token, or the challenge refusing it.
    fn registry_token(
        &self,
        token: &str,
        scopes: &[RepositoryScope],
    ) -> Result<Claims, AccessError> {
        self.inner
            .signer
            .verify(
                token,
                &self.config().service,
                now_secs(),
                self.config().clock_leeway.as_secs(),
            )
            .map_err(|error: JwtError| AccessError::Unauthenticated {
                challenge: format!(
                    "{},error_description=\"{}\"",
                    self.challenge(scopes, Some("invalid_token")),
                    error.description()
                ),
            })
    }

    /// Who sent `authorization`, for the JSON API: `Basic` (user and password, or an API
    /// token as the password), `Bearer pct_…` (an API token) or `Bearer <registry token>`.
    /// Anonymous registry tokens are not accepted here.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Principal, AccessError> {
        let unauthenticated = || AccessError::Unauthenticated {
            challenge: self.challenge(&[], None),
        };
        let credentials = authorization
            .and_then(parse_authorization)
            .ok_or_else(unauthenticated)?;
        match credentials {
            Credentials::Basic { user, secret } => self
                .sign_in(&user, &secret, None)
                .await
                .map_err(|e| self.login_error(e, &user, &[])),
            Credentials::Bearer(token) if is_jwt(token) => {
                let claims = self.registry_token(token, &[])?;
                claims_principal(&claims).ok_or_else(unauthenticated)
            }
            Credentials::Bearer(secret) => match self.api_token(secret).await {
                Ok(Some(principal)) => Ok(principal),
                Ok(None) => Err(AccessError::Unauthenticated {
                    challenge: self.challenge(&[], Some("invalid_token")),
                }),
                Err(error) => Err(AccessError::Unavailable {
                    message: error.to_string(),
                }),
            },
        }
    }

    async fn authorize_request(
        &self,
        authorization: Option<&str>,
        scopes: &[RepositoryScope],
    ) -> Result<Principal, AccessError> {
        let zones = &self.config().zones;
        let Some(credentials) = authorization.and_then(parse_authorization) else {
            return Err(AccessError::Unauthenticated {
                challenge: self.challenge(scopes, None),
            });
        };
        let token = match credentials {
            Credentials::Bearer(token) if is_jwt(token) => token,
            Credentials::Basic { user, secret } => {
                let principal = self
                    .sign_in(&user, &secret, None)
                    .await
                    .map_err(|e| self.login_error(e, &user, scopes))?;
                return check_role(&principal, scopes, zones).map(|()| principal);
            }
            Credentials::Bearer(_) => {
                let principal = self.authenticate(authorization).await?;
                return check_role(&principal, scopes, zones).map(|()| principal);
            }
        };
        let claims = self.registry_token(token, scopes)?;
        let principal = claims_principal(&claims);
        let mut insufficient = false;
        for scope in scopes {
            for &action in &scope.actions {
                if claims.grants(&scope.repository, action) {
                    continue;
                }
                let allowed = match &principal {
                    Some(p) => allowed_actions(p, &scope.repository, zones),
                    None if self.config().allow_anonymous_pull => {
                        anonymous_actions(&scope.repository, zones)
                    }
                    None => BTreeSet::new(),
                };
                match (&principal, allowed.contains(&action)) {
                    (_, true) => insufficient = true,
                    (Some(p), false) => {
                        return Err(AccessError::Denied {
                            message: denial_message(p, &scope.repository, action, zones),
                        });
                    }
                    // Anonymous: signing in may help, so ask for credentials.
                    (None, false) => {
                        return Err(AccessError::Unauthenticated {
                            challenge: self.challenge(scopes, None),
                        });
                    }
                }
            }
        }
        if insufficient {
            return Err(AccessError::Unauthenticated {
                challenge: self.challenge(scopes, Some("insufficient_scope")),
            });
        }
        Ok(principal.unwrap_or_else(anonymous_principal))
    }
}

/// Checks role-based rights for password and API-token requests.
fn check_role(
    principal: &Principal,
    scopes: &[RepositoryScope],
    zones: &crate::Zones,
) -> Result<(), AccessError> {
    for scope in scopes {
        let allowed = allowed_actions(principal, &scope.repository, zones);
        if let Some(&action) = scope.actions.iter().find(|a| !allowed.contains(a)) {
            return Err(AccessError::Denied {
                message: denial_message(principal, &scope.repository, action, zones),
            });
        }
    }
    Ok(())
}

/// The principal a registry token was issued to; `None` for an anonymous token.
fn claims_principal(claims: &Claims) -> Option<Principal> {
    Some(Principal {
        name: claims.sub.clone(),
        kind: claims.kind?,
        role: claims.role?,
        teams: claims.teams.clone(),
    })
}

/// What the registry sees for an anonymous pull: no teams, pull-only. Its rights come from
/// the token's `access` only, never from this role.
pub(crate) fn anonymous_principal() -> Principal {
    Principal {
        name: ANONYMOUS.to_owned(),
        kind: PrincipalKind::Token,
        role: Role::Reader,
        teams: BTreeSet::new(),
    }
}

impl Authorizer for Auth {
    fn authorize<'a>(
        &'a self,
        authorization: Option<&'a str>,
        scopes: &'a [RepositoryScope],
    ) -> BoxFuture<'a, Result<Principal, AccessError>> {
        Box::pin(self.authorize_request(authorization, scopes))
    }
}

/// Whether a principal may perform an action: exposed for the token endpoint.
pub(crate) fn grantable(
    auth: &Auth,
    principal: Option<&Principal>,
    repository: &str,
) -> BTreeSet<RegistryAction> {
    let zones = &auth.config().zones;
    match principal {
        Some(p) => allowed_actions(p, repository, zones),
        None if auth.config().allow_anonymous_pull => anonymous_actions(repository, zones),
        None => BTreeSet::new(),
    }
}
