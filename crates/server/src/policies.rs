//! The policy documents the server decides with: stored by the security team through the
//! API (`organisation`, `team:<team>`, `exceptions`), else the embedded default policy.

use portcullis_policy::{Exceptions, PolicySet};
use portcullis_store::Store;

/// The embedded policy used until an organisation policy is stored.
pub const DEFAULT_POLICY: &str = include_str!("default-policy.yaml");

/// The name of the organisation policy document.
pub const ORGANISATION: &str = "organisation";
/// The name of the exceptions register.
pub const EXCEPTIONS: &str = "exceptions";

/// The name of `team`'s policy document.
pub fn team_document(team: &str) -> String {
    format!("team:{team}")
}

/// Which kind of document a name holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Organisation,
    Team,
    Exceptions,
}

/// The kind of the document `name`, or `None` for a name that is not one.
pub fn kind_of(name: &str) -> Option<DocumentKind> {
    match name {
        ORGANISATION => Some(DocumentKind::Organisation),
        EXCEPTIONS => Some(DocumentKind::Exceptions),
        _ => name
            .strip_prefix("team:")
            .filter(|t| {
                !t.is_empty()
                    && t.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
            .map(|_| DocumentKind::Team),
    }
}

/// Checks a document before it is stored, against the stored organisation policy for team
/// policies; the error is the parser's, with line and column.
pub async fn validate(store: &Store, name: &str, text: &str) -> Result<(), String> {
    match kind_of(name) {
        Some(DocumentKind::Organisation) => {
            let org =
                portcullis_policy::policy::parse::parse(text, name).map_err(|e| e.to_string())?;
            PolicySet::new(org).map(|_| ()).map_err(|e| e.to_string())
        }
        Some(DocumentKind::Team) => {
            let team =
                portcullis_policy::policy::parse::parse(text, name).map_err(|e| e.to_string())?;
            let expected = name.trim_start_matches("team:");
            if team.team.as_deref() != Some(expected) {
                return Err(format!("the document's metadata.team must be `{expected}`"));
            }
            let org_text = organisation_text(store).await?;
            let org = portcullis_policy::policy::parse::parse(&org_text, ORGANISATION)
                .map_err(|e| e.to_string())?;
            let mut set = PolicySet::new(org).map_err(|e| e.to_string())?;
            set.add_team(team).map_err(|e| e.to_string())
        }
        Some(DocumentKind::Exceptions) => Exceptions::parse(text, name)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        None => Err(format!(
            "`{name}` is not a policy document name; expected `organisation`, `team:<team>` or `exceptions`"
        )),
    }
}

async fn organisation_text(store: &Store) -> Result<String, String> {
    Ok(store
        .policy_document(ORGANISATION)
        .await
        .map_err(|e| e.to_string())?
        .map_or_else(|| DEFAULT_POLICY.to_owned(), |d| d.document))
}

/// A policy document that decides a team's images: the stored document, or `None` for the
/// organisation policy when the embedded default is in force.
#[derive(Clone, Debug)]
pub struct AppliedDocument {
    pub name: String,
    pub stored: Option<portcullis_store::workflow::PolicyDocument>,
}

/// The documents [`load`] combines for `team`: the organisation policy (stored or the
/// embedded default), the team's policy and the exceptions register when stored.
pub async fn applied(
    store: &Store,
    team: &str,
) -> Result<Vec<AppliedDocument>, portcullis_store::StoreError> {
    let mut out = vec![AppliedDocument {
        name: ORGANISATION.to_owned(),
        stored: store.policy_document(ORGANISATION).await?,
    }];
    for name in [team_document(team), EXCEPTIONS.to_owned()] {
        if let Some(doc) = store.policy_document(&name).await? {
            out.push(AppliedDocument {
                name,
                stored: Some(doc),
            });
        }
    }
    Ok(out)
}

/// The policy set for `team` and the exceptions register.
pub async fn load(store: &Store, team: &str) -> Result<(PolicySet, Option<Exceptions>), String> {
    let org_text = organisation_text(store).await?;
    let org = portcullis_policy::policy::parse::parse(&org_text, ORGANISATION)
        .map_err(|e| format!("the stored organisation policy is invalid: {e}"))?;
    let mut set = PolicySet::new(org).map_err(|e| e.to_string())?;
    let team_name = team_document(team);
    if let Some(doc) = store
        .policy_document(&team_name)
        .await
        .map_err(|e| e.to_string())?
    {
        let policy = portcullis_policy::policy::parse::parse(&doc.document, &team_name)
            .map_err(|e| format!("the stored policy of team {team} is invalid: {e}"))?;
        set.add_team(policy).map_err(|e| e.to_string())?;
    }
    let exceptions = match store
        .policy_document(EXCEPTIONS)
        .await
        .map_err(|e| e.to_string())?
    {
        Some(doc) => Some(
            Exceptions::parse(&doc.document, EXCEPTIONS)
                .map_err(|e| format!("the stored exceptions are invalid: {e}"))?,
        ),
        None => None,
    };
    Ok((set, exceptions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_parses_and_has_the_three_stages() {
        let org = portcullis_policy::policy::parse::parse(DEFAULT_POLICY, "default").unwrap();
        let set = PolicySet::new(org).unwrap();
        for stage in ["dev", "test", "prod"] {
            assert!(set.has_stage(stage), "{stage}");
        }
    }

    #[test]
    fn document_names_are_recognised() {
        assert_eq!(kind_of("organisation"), Some(DocumentKind::Organisation));
        assert_eq!(kind_of("team:payments"), Some(DocumentKind::Team));
        assert_eq!(kind_of("exceptions"), Some(DocumentKind::Exceptions));
        assert_eq!(kind_of("team:"), None);
        assert_eq!(kind_of("team:../x"), None);
        assert_eq!(kind_of("other"), None);
    }
}
