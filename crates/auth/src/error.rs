use portcullis_store::StoreError;

/// Why an auth operation failed. Messages never contain passwords or token secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("failed to read or write users, teams or tokens in the database")]
    Store(#[from] StoreError),
    #[error("the operating system's random number generator failed; check /dev/urandom")]
    Random,
    #[error("failed to hash or verify a password")]
    PasswordHash,
    #[error("invalid {kind} name `{name}`; expected {expected}")]
    InvalidName {
        kind: &'static str,
        name: String,
        expected: &'static str,
    },
    #[error("{kind} `{name}` already exists; choose another name{hint}")]
    NameTaken {
        kind: &'static str,
        name: String,
        hint: &'static str,
    },
    #[error("{kind} `{name}` does not exist")]
    NotFound { kind: &'static str, name: String },
    #[error("unknown team{} {}; create {} first", plural(.0), quoted(.0), them(.0))]
    UnknownTeams(Vec<String>),
    #[error("the password is too short: use at least {min} characters")]
    WeakPassword { min: usize },
    #[error(
        "the bootstrap admin token (PORTCULLIS_BOOTSTRAP_TOKEN) is not acceptable: use `pct_` followed by at least {min_after_prefix} characters, or any {min_plain} or more characters, all printable ASCII without spaces"
    )]
    WeakBootstrapToken {
        min_after_prefix: usize,
        min_plain: usize,
    },
    #[error(
        "the bootstrap admin token (PORTCULLIS_BOOTSTRAP_TOKEN) was revoked or has expired; set a new value"
    )]
    BootstrapTokenUnusable,
    #[error(
        "the token-signing key stored in the database (setting `{0}`) is not valid; delete that setting to generate a new one (every issued registry token becomes invalid)"
    )]
    SigningKey(&'static str),
}

fn plural(teams: &[String]) -> &'static str {
    if teams.len() == 1 { "" } else { "s" }
}

fn them(teams: &[String]) -> &'static str {
    if teams.len() == 1 { "it" } else { "them" }
}

fn quoted(teams: &[String]) -> String {
    let quoted: Vec<String> = teams.iter().map(|t| format!("`{t}`")).collect();
    quoted.join(", ")
}
