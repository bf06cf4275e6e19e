//! Who is asking, and what they may do: shared by the registry (which asks), the auth
//! crate (which answers) and the server (which wires them), so that none of them needs
//! another.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

/// A role: what a principal may do across the organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Pushes to its teams' `unscanned/` repositories and reads its teams' results.
    Developer,
    /// Owns policies and exceptions, approves held images, reads everything.
    Security,
    /// Reads everything, writes nothing.
    Reader,
    /// Manages teams, users and tokens; reads everything.
    Admin,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 4] = [Role::Developer, Role::Security, Role::Reader, Role::Admin];

    /// The lowercase name used in configuration, tokens and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Developer => "developer",
            Role::Security => "security",
            Role::Reader => "reader",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role `{s}`; expected developer, security, reader or admin")
            })
    }
}

/// How a principal proved who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person with a password.
    User,
    /// An API token (a CI robot, or a person's personal token).
    Token,
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// User name, or the token's name (`robot:<name>` style names are the admin's choice).
    pub name: String,
    /// How it authenticated.
    pub kind: PrincipalKind,
    /// Its role.
    pub role: Role,
    /// The teams it belongs to (developers act only within these).
    pub teams: BTreeSet<String>,
}

impl Principal {
    /// Whether the principal belongs to `team`.
    pub fn in_team(&self, team: &str) -> bool {
        self.teams.contains(team)
    }
}

/// A registry action on a repository, as in the Docker token scope
/// `repository:NAME:pull,push,delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryAction {
    /// Read manifests, blobs, tags and referrers.
    Pull,
    /// Upload blobs, put manifests and tags.
    Push,
    /// Delete manifests, tags and blobs.
    Delete,
}

impl RegistryAction {
    /// The name used in token scopes.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryAction::Pull => "pull",
            RegistryAction::Push => "push",
            RegistryAction::Delete => "delete",
        }
    }
}

/// What a registry request needs: actions on one repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryScope {
    /// The repository name, e.g. `unscanned/payments/api`.
    pub repository: String,
    /// The actions the request performs (a cross-repository mount needs `pull` on the
    /// source, asked as a second scope).
    pub actions: BTreeSet<RegistryAction>,
}

impl RepositoryScope {
    /// The Docker token scope string: `repository:NAME:pull,push`.
    pub fn to_scope_string(&self) -> String {
        let actions: Vec<&str> = self.actions.iter().map(|a| a.as_str()).collect();
        format!("repository:{}:{}", self.repository, actions.join(","))
    }
}

/// Why a request may not proceed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// No or invalid credentials: answer 401 with this `WWW-Authenticate` header value
    /// (e.g. `Bearer realm="http://127.0.0.1:5000/token",service="portcullis",scope="…"`).
    #[error("authentication required")]
    Unauthenticated {
        /// The `WWW-Authenticate` header value.
        challenge: String,
    },
    /// Authenticated, but not allowed: answer 403 with the registry error code `DENIED`.
    #[error("{message}")]
    Denied {
        /// Says who was refused what, and what to do (e.g. push to `unscanned/` instead).
        message: String,
    },
    /// The authorizer could not decide (e.g. its database is down): answer 503.
    #[error("cannot check access: {message}")]
    Unavailable {
        /// The cause, without secrets.
        message: String,
    },
}

/// A boxed future, so that [`Authorizer`] can be used as `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Decides whether a request may proceed, from its `Authorization` header.
///
/// Implemented by the auth crate; called by the registry for every request and by the
/// server's API. `scope` is `None` for requests on no repository (`GET /v2/`, which only
/// needs a valid identity).
pub trait Authorizer: Send + Sync + fmt::Debug {
    /// Authenticates `authorization` (the raw header value, `Basic …` or `Bearer …`) and
    /// checks that it grants every action of every scope.
    fn authorize<'a>(
        &'a self,
        authorization: Option<&'a str>,
        scopes: &'a [RepositoryScope],
    ) -> BoxFuture<'a, Result<Principal, AccessError>>;
}
