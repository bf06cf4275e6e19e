//! Who may do what: the registry actions each role gets on each repository, and the
//! permissions of the JSON API. Every rule of the product is in this file.
//!
//! | role      | `unscanned/<own team>/…` | other `unscanned/…` | `scanned/<own team>/…` | other `scanned/…` | elsewhere |
//! |-----------|--------------------------|---------------------|------------------------|-------------------|-----------|
//! | developer | pull, push, delete       | —                   | pull                   | —                 | —         |
//! | security  | pull                     | pull                | pull                   | pull              | pull      |
//! | reader    | pull                     | pull                | pull                   | pull              | pull      |
//! | admin     | pull, push, delete       | pull, push, delete  | pull                   | pull              | pull      |
//!
//! Nobody pushes or deletes under `scanned/`: it is written only by promotion.

use std::collections::BTreeSet;

use portcullis_types::{Principal, RegistryAction, Role};

/// The two areas of the registry, by repository-name prefix (each ends with `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zones {
    /// Where developers push, e.g. `unscanned/`.
    pub unscanned_prefix: String,
    /// Where promotion writes, e.g. `scanned/`.
    pub scanned_prefix: String,
}

impl Default for Zones {
    fn default() -> Self {
        Self::new("unscanned/", "scanned/")
    }
}

/// Where a repository is, and for a team path the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place<'a> {
    /// `unscanned/<team>/<app…>` (team is `None` for `unscanned/<app>` without a team).
    Unscanned(Option<&'a str>),
    Scanned(Option<&'a str>),
    Elsewhere,
}

impl Zones {
    /// Zones with the given prefixes; a missing trailing `/` is added, so that `scanned`
    /// never matches `scannedfoo/…`.
    pub fn new(unscanned_prefix: &str, scanned_prefix: &str) -> Self {
        let slash = |prefix: &str| {
            if prefix.ends_with('/') {
                prefix.to_owned()
            } else {
                format!("{prefix}/")
            }
        };
        Self {
            unscanned_prefix: slash(unscanned_prefix),
            scanned_prefix: slash(scanned_prefix),
        }
    }

    fn place<'a>(&self, repository: &'a str) -> Place<'a> {
        // The team is the first component after the prefix, and only if an app follows.
        let team = |rest: &'a str| {
            rest.split_once('/')
                .filter(|(team, app)| !team.is_empty() && !app.is_empty())
                .map(|(team, _)| team)
        };
        if let Some(rest) = repository.strip_prefix(self.unscanned_prefix.as_str()) {
            Place::Unscanned(team(rest))
        } else if let Some(rest) = repository.strip_prefix(self.scanned_prefix.as_str()) {
            Place::Scanned(team(rest))
        } else {
            Place::Elsewhere
        }
    }
}

const ALL: [RegistryAction; 3] = [
    RegistryAction::Pull,
    RegistryAction::Push,
    RegistryAction::Delete,
];

/// The registry actions `principal` may perform on `repository`.
pub fn allowed_actions(
    principal: &Principal,
    repository: &str,
    zones: &Zones,
) -> BTreeSet<RegistryAction> {
    let pull = BTreeSet::from([RegistryAction::Pull]);
    let place = zones.place(repository);
    match (principal.role, place) {
        (Role::Admin, Place::Unscanned(_)) => ALL.into(),
        (Role::Admin | Role::Security | Role::Reader, _) => pull,
        (Role::Developer, Place::Unscanned(Some(team))) if principal.in_team(team) => ALL.into(),
        (Role::Developer, Place::Scanned(Some(team))) if principal.in_team(team) => pull,
        (Role::Developer, _) => BTreeSet::new(),
    }
}

/// What anonymous clients may do when anonymous pulls are allowed: pull promoted images.
pub fn anonymous_actions(repository: &str, zones: &Zones) -> BTreeSet<RegistryAction> {
    match zones.place(repository) {
        Place::Scanned(_) => BTreeSet::from([RegistryAction::Pull]),
        Place::Unscanned(_) | Place::Elsewhere => BTreeSet::new(),
    }
}

/// "alice (developer of team a)", for messages.
pub fn describe(principal: &Principal) -> String {
    let teams: Vec<&str> = principal.teams.iter().map(String::as_str).collect();
    match (principal.role, teams.as_slice()) {
        (Role::Developer, []) => format!("{} (developer of no team)", principal.name),
        (role, []) => format!("{} ({role})", principal.name),
        (role, [team]) => format!("{} ({role} of team {team})", principal.name),
        (role, teams) => format!("{} ({role} of teams {})", principal.name, teams.join(", ")),
    }
}

/// Why `principal` may not perform `action` on `repository`, and what to do instead: the
/// message of a `Denied` answer.
pub fn denial_message(
    principal: &Principal,
    repository: &str,
    action: RegistryAction,
    zones: &Zones,
) -> String {
    let verb = match action {
        RegistryAction::Pull => "pull from",
        RegistryAction::Push => "push to",
        RegistryAction::Delete => "delete from",
    };
    let unscanned = &zones.unscanned_prefix;
    let scanned = &zones.scanned_prefix;
    let place = zones.place(repository);
    let reason = match (principal.role, place, action) {
        (_, Place::Scanned(_), RegistryAction::Push | RegistryAction::Delete) => format!(
            "nobody writes to {scanned}…, which only promotion after a passing scan fills; push to {unscanned}<team>/<app> instead"
        ),
        (Role::Security | Role::Reader, _, _) => format!("the {} role only pulls", principal.role),
        (Role::Admin, _, _) => format!("pushes and deletes go to {unscanned}<team>/<app>"),
        (Role::Developer, Place::Scanned(_), _) => {
            format!("developers pull only from {scanned}<their team>/…")
        }
        (Role::Developer, _, _) => format!(
            "developers push only to {unscanned}<their team>/… (ask an admin to add you to the team)"
        ),
    };
    format!(
        "{} may not {verb} {repository}: {reason}",
        describe(principal)
    )
}

/// Approve or reject held images of `team`.
pub fn can_approve(principal: &Principal, _team: &str) -> bool {
    matches!(principal.role, Role::Security | Role::Admin)
}

/// Write policies, exceptions and organisation-wide vulnerability decisions.
pub fn can_manage_policies(principal: &Principal) -> bool {
    matches!(principal.role, Role::Security | Role::Admin)
}

/// Create and delete teams, users and API tokens.
pub fn can_manage_teams_and_tokens(principal: &Principal) -> bool {
    principal.role == Role::Admin
}

/// Read the audit trail.
pub fn can_read_audit(principal: &Principal) -> bool {
    matches!(principal.role, Role::Security | Role::Admin)
}

/// Read the images, findings and decisions of `team`.
pub fn can_read_team(principal: &Principal, team: &str) -> bool {
    match principal.role {
        Role::Developer => principal.in_team(team),
        Role::Security | Role::Reader | Role::Admin => true,
    }
}

#[cfg(test)]
mod tests {
    use portcullis_types::PrincipalKind;

    use super::*;

    fn principal(role: Role, teams: &[&str]) -> Principal {
        Principal {
            name: "alice".to_owned(),
            kind: PrincipalKind::User,
            role,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// Every role × place × action, written out as the product's rule table.
    #[test]
    fn every_role_zone_and_action() {
        let zones = Zones::default();
        let repositories = [
            "unscanned/a/app",
            "unscanned/b/app",
            "unscanned/lonely",
            "scanned/a/app",
            "scanned/b/app",
            "library/alpine",
        ];
        // Columns follow `repositories`; each cell is pull, push, delete.
        let table: [(Role, [&str; 6]); 4] = [
            (Role::Developer, ["PUD", "---", "---", "P--", "---", "---"]),
            (Role::Security, ["P--", "P--", "P--", "P--", "P--", "P--"]),
            (Role::Reader, ["P--", "P--", "P--", "P--", "P--", "P--"]),
            (Role::Admin, ["PUD", "PUD", "PUD", "P--", "P--", "P--"]),
        ];
        for (role, cells) in table {
            let who = principal(role, &["a"]);
            for (repository, cell) in repositories.iter().zip(cells) {
                let allowed = allowed_actions(&who, repository, &zones);
                for (action, flag) in ALL.into_iter().zip(cell.chars()) {
                    assert_eq!(
                        allowed.contains(&action),
                        flag != '-',
                        "{role} {action:?} on {repository}"
                    );
                    if flag == '-' {
                        let message = denial_message(&who, repository, action, &zones);
                        assert!(message.contains(repository), "{message}");
                        assert!(message.contains(role.as_str()), "{message}");
                    }
                }
            }
        }
    }

    #[test]
    fn prefixes_are_whole_components_and_configurable() {
        let zones = Zones::new("incoming", "approved");
        let dev = principal(Role::Developer, &["a"]);
        assert!(allowed_actions(&dev, "incoming/a/app", &zones).contains(&RegistryAction::Push));
        assert!(allowed_actions(&dev, "incomingx/a/app", &zones).is_empty());
        assert!(allowed_actions(&dev, "unscanned/a/app", &zones).is_empty());
        let admin = principal(Role::Admin, &[]);
        assert!(!allowed_actions(&admin, "approved/a/app", &zones).contains(&RegistryAction::Push));
    }

    #[test]
    fn developer_denials_name_who_what_and_why() {
        let zones = Zones::default();
        let dev = principal(Role::Developer, &["a"]);
        assert_eq!(
            denial_message(&dev, "unscanned/b/app", RegistryAction::Push, &zones),
            "alice (developer of team a) may not push to unscanned/b/app: developers push only \
             to unscanned/<their team>/… (ask an admin to add you to the team)"
        );
        let message = denial_message(&dev, "scanned/a/app", RegistryAction::Push, &zones);
        assert!(
            message.contains("push to unscanned/<team>/<app> instead"),
            "{message}"
        );
    }

    #[test]
    fn api_permissions_follow_roles_and_teams() {
        let rows = [
            (Role::Developer, [false, false, false, false, true, false]),
            (Role::Security, [true, true, false, true, true, true]),
            (Role::Reader, [false, false, false, false, true, true]),
            (Role::Admin, [true, true, true, true, true, true]),
        ];
        for (role, expected) in rows {
            let who = principal(role, &["a"]);
            let got = [
                can_approve(&who, "a"),
                can_manage_policies(&who),
                can_manage_teams_and_tokens(&who),
                can_read_audit(&who),
                can_read_team(&who, "a"),
                can_read_team(&who, "b"),
            ];
            assert_eq!(got, expected, "{role}");
        }
    }
}
