//! Turning an `Authorization` header into a [`Principal`], and deciding registry requests.
//!
//! The registry accepts `Basic` with `user:password` or `anything:<API token>`, `Bearer
//! pct_…` (an API token), and `Bearer <JWT>` issued by the token endpoint. Password and
//! API-token credentials carry their role's full rights; a JWT carries only the `access` it
//! was issued with, so a request it does not cover, but the role would allow, is answered
//! with `error="insufficient_scope"` so that the client fetches a wider token. The JSON API
//! ([`Auth::authenticate`]) accepts the same but never a JWT: a registry token is limited
//! to the registry scopes it was issued for.
//!
//! # Sign-in limits
//!
//! Every check of a password or API token, on every path (`/token`, `/v2/`, the API, the
//! report and approval pages), goes through [`Auth::sign_in`], which applies the limits of
//! [`crate::limiter`] with the client address of [`crate::source`]:
//!
//! - A valid API token is accepted before the limits are looked at, whatever the user name
//!   beside it and whatever the source: tokens are 256 random bits, so they cannot be
//!   guessed, and a CI pipeline using one (as `Bearer`, or as the Basic password under any
//!   user name) cannot be locked out by someone spraying that user name or sharing its
//!   address (a NAT, a proxy).
//! - A failed Basic sign-in counts against its user name and its source; a failed `Bearer`
//!   secret (an invalid `pct_…` token) against its source. Once either is over the limit,
//!   passwords for it are refused without being checked (no argon2 work) until old
//!   failures age out: the per-user limit locks out only password sign-ins of that name.
//! - Registry JWTs are not limited: they are verified by an HMAC that cannot be guessed,
//!   and honest clients present expired ones routinely.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use portcullis_types::{
    AccessError, Authorizer, BoxFuture, Principal, PrincipalKind, RegistryAction, RepositoryScope,
    Role,
};

use portcullis_store::auth::UserCredentialVersion;

use crate::jwt::{Claims, IssuedFrom, JwtError};
use crate::permissions::{allowed_actions, anonymous_actions, denial_message};
use crate::revocation::credential_stamp;
use crate::secret::{hash_token_secret, hashes_equal, verify_password};
use crate::{Auth, AuthError, source};

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

/// Why the API refuses a registry token.
pub const REGISTRY_TOKEN_REFUSED: &str = "registry tokens (from /token) are accepted only by the registry, for the scopes they were issued for; use an API token (Authorization: Bearer pct_...) or a user name and password";

/// Whether `authorization` carries a registry token (`Bearer` with a JWT), which
/// [`Auth::authenticate`] refuses with [`REGISTRY_TOKEN_REFUSED`].
pub fn is_registry_token(authorization: Option<&str>) -> bool {
    matches!(
        authorization.and_then(parse_authorization),
        Some(Credentials::Bearer(token)) if is_jwt(token)
    )
}

/// A successful sign-in: who, and the credential a registry token issued now records.
pub(crate) struct SignedIn {
    pub principal: Principal,
    pub issued_from: IssuedFrom,
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
    /// name is then ignored); with no `user` (a `Bearer` secret), only an API token.
    /// `source` is the client's address, for the limits (see the module's documentation).
    pub(crate) async fn sign_in(
        &self,
        user: Option<&str>,
        secret: &str,
        source: Option<IpAddr>,
    ) -> Result<SignedIn, LoginError> {
        // Before the limits: a valid API token is never refused by them.
        if let Some(signed_in) = self
            .api_token(secret)
            .await
            .map_err(LoginError::Unavailable)?
        {
            return Ok(signed_in);
        }
        let mut keys = Vec::with_capacity(2);
        if let Some(user) = user {
            keys.push(format!("user:{user}"));
        }
        if let Some(source) = source {
            keys.push(format!("source:{source}"));
        }
        self.inner
            .limiter
            .check(&keys)
            .map_err(LoginError::Limited)?;
        if let Some(user) = user {
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
                let stamp = credential_stamp(&UserCredentialVersion {
                    password_hash: stored.password_hash,
                    updated_at_ms: stored.user.updated_at_ms,
                });
                return Ok(SignedIn {
                    principal: Principal {
                        name: stored.user.name,
                        kind: PrincipalKind::User,
                        role: stored.user.role,
                        teams: stored.user.teams,
                    },
                    issued_from: IssuedFrom::User(stamp),
                });
            }
        }
        self.inner.limiter.record_failure(&keys);
        Err(LoginError::Invalid)
    }

    /// The principal of a valid (unrevoked, unexpired) API token.
    async fn api_token(&self, secret: &str) -> Result<Option<SignedIn>, AuthError> {
        let hash = hash_token_secret(secret);
        let Some(found) = self.store().valid_token_by_hash(&hash).await? else {
            return Ok(None);
        };
        if !hashes_equal(&found.secret_hash, &hash) {
            return Ok(None);
        }
        Ok(Some(SignedIn {
            principal: Principal {
                name: found.token.name,
                kind: PrincipalKind::Token,
                role: found.token.role,
                teams: found.token.teams,
            },
            issued_from: IssuedFrom::Token(found.token.id),
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
            // The server turns this into 429 with `Retry-After` (see `crate::source`).
            LoginError::Limited(wait) => {
                source::mark_limited(wait);
                AccessError::Denied {
                    message: format!(
                        "too many failed sign-ins for `{user}` or from this address; wait {} seconds",
                        source::retry_after_secs(wait)
                    ),
                }
            }
            LoginError::Unavailable(error) => AccessError::Unavailable {
                message: error.to_string(),
            },
        }
    }

    /// The claims of a registry token whose signature, validity period and issuing
    /// credential hold, or the challenge refusing it.
    async fn registry_token(
        &self,
        token: &str,
        scopes: &[RepositoryScope],
    ) -> Result<Claims, AccessError> {
        let refuse = |error: JwtError| AccessError::Unauthenticated {
            challenge: format!(
                "{},error_description=\"{}\"",
                self.challenge(scopes, Some("invalid_token")),
                error.description()
            ),
        };
        let claims = self
            .inner
            .signer
            .verify(
                token,
                &self.config().service,
                now_secs(),
                self.config().clock_leeway.as_secs(),
            )
            .map_err(refuse)?;
        match self.issued_from_still_valid(&claims).await {
            Ok(true) => Ok(claims),
            Ok(false) => Err(refuse(JwtError::Revoked)),
            Err(error) => Err(AccessError::Unavailable {
                message: error.to_string(),
            }),
        }
    }

    /// Who sent `authorization`, for the JSON API: `Basic` (user and password, or an API
    /// token as the password) or `Bearer pct_…` (an API token). Registry tokens are refused
    /// (see [`is_registry_token`]): they grant only the registry scopes they were issued
    /// for. Sign-ins are limited per user name and per the source of [`crate::with_source`].
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Principal, AccessError> {
        let credentials = authorization.and_then(parse_authorization).ok_or_else(|| {
            AccessError::Unauthenticated {
                challenge: self.challenge(&[], None),
            }
        })?;
        let (user, secret) = match credentials {
            Credentials::Bearer(token) if is_jwt(token) => {
                return Err(AccessError::Unauthenticated {
                    challenge: format!(
                        "{},error_description=\"{REGISTRY_TOKEN_REFUSED}\"",
                        self.challenge(&[], Some("invalid_token"))
                    ),
                });
            }
            Credentials::Basic { user, secret } => (Some(user), secret),
            Credentials::Bearer(secret) => (None, secret.to_owned()),
        };
        self.sign_in(user.as_deref(), &secret, source::current())
            .await
            .map(|signed_in| signed_in.principal)
            .map_err(|e| self.login_error(e, user.as_deref().unwrap_or("this token"), &[]))
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
        let (user, secret) = match credentials {
            Credentials::Bearer(token) if is_jwt(token) => {
                return self.authorize_registry_token(token, scopes).await;
            }
            Credentials::Basic { user, secret } => (Some(user), secret),
            Credentials::Bearer(secret) => (None, secret.to_owned()),
        };
        let principal = self
            .sign_in(user.as_deref(), &secret, source::current())
            .await
            .map(|signed_in| signed_in.principal)
            .map_err(|e| self.login_error(e, user.as_deref().unwrap_or("this token"), scopes))?;
        check_role(&principal, scopes, zones).map(|()| principal)
    }

    /// A registry request carrying a registry token: only what its `access` claim grants.
    async fn authorize_registry_token(
        &self,
        token: &str,
        scopes: &[RepositoryScope],
    ) -> Result<Principal, AccessError> {
        let zones = &self.config().zones;
        let claims = self.registry_token(token, scopes).await?;
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
