//! The exceptions register: vulnerabilities accepted for a scope, each with a
//! justification, compensating controls, an owner, an approval and an expiry.
//!
//! ```yaml
//! apiVersion: portcullis.dev/v1
//! kind: Exceptions
//! exceptions:
//!   - advisory: CVE-2023-4911          # the finding's ID or any alias
//!     scope:
//!       team: payments                 # exactly one of organisation: true, team, repository, image
//!       package: libc6                 # optional: a name (binary or source) or a purl
//!       stages: [dev, test]            # optional: all stages when left out
//!     justification: no setuid binaries in the image
//!     compensatingControls: [seccomp profile denies execve of setuid]
//!     owner: alice@example.com
//!     approvedBy: security@example.com
//!     approvedAt: 2025-01-10
//!     expires: 2025-04-10              # required; applies strictly before this instant
//! ```

use std::path::Path;

use portcullis_types::Finding;
use serde::Deserialize;
use serde_saphyr::Spanned;
use time::{Duration, OffsetDateTime};

use crate::ignore::Expiry;
use crate::policy::parse::{check_header, position};
use crate::policy::{Policy, PolicyError, Position};
use crate::purl::PackageUrl;

/// Who an exception covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScopeTarget {
    Organisation,
    Team(String),
    /// `team/app`, as in `unscanned/team/app`.
    Repository(String),
    /// A manifest digest, `sha256:…`.
    Image(String),
}

/// Where an exception applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExceptionScope {
    pub target: ScopeTarget,
    pub package: Option<String>,
    /// Empty: every stage.
    pub stages: Vec<String>,
}

/// One accepted vulnerability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub advisory: String,
    pub scope: ExceptionScope,
    pub justification: String,
    pub compensating_controls: Vec<String>,
    pub owner: String,
    pub approved_by: String,
    pub approved_at: Expiry,
    pub expires: Expiry,
    /// Where the entry's `advisory` is written.
    pub position: Position,
    pub expires_position: Position,
}

/// Where an exception is being considered.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExceptionContext<'a> {
    pub stage: &'a str,
    pub team: Option<&'a str>,
    pub repository: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// A parsed exceptions register.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exceptions {
    pub source: String,
    pub entries: Vec<Exception>,
}

/// Exceptions that need attention at some instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expiring<'a> {
    /// No longer applying.
    pub expired: Vec<&'a Exception>,
    /// Still applying, but not for longer than the window asked about.
    pub soon: Vec<&'a Exception>,
}

impl Exception {
    /// True strictly before the expiry instant.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        now < self.expires.at
    }

    /// True when the exception names the finding's vulnerability and package and
    /// its scope covers `context`; expiry is not considered.
    pub fn matches(&self, finding: &Finding, context: &ExceptionContext<'_>) -> bool {
        let advisory = self.advisory.as_str();
        let names = finding.id.eq_ignore_ascii_case(advisory)
            || finding
                .aliases
                .iter()
                .any(|a| a.eq_ignore_ascii_case(advisory));
        names
            && self.scope.covers(context)
            && self
                .scope
                .package
                .as_deref()
                .is_none_or(|p| package_matches(p, finding))
    }
}

/// A package name (binary or source, any case) or a purl (version and
/// qualifiers compared only when given).
pub(crate) fn package_matches(wanted: &str, finding: &Finding) -> bool {
    let package = &finding.package;
    if wanted.starts_with("pkg:") {
        return match (PackageUrl::parse(wanted), PackageUrl::parse(&package.purl)) {
            (Some(want), Some(have)) => want.covers(&have),
            _ => false,
        };
    }
    package.name.eq_ignore_ascii_case(wanted)
        || package
            .source_name
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(wanted))
}

impl ExceptionScope {
    pub fn covers(&self, context: &ExceptionContext<'_>) -> bool {
        let target = match &self.target {
            ScopeTarget::Organisation => true,
            ScopeTarget::Team(team) => context.team == Some(team.as_str()),
            ScopeTarget::Repository(repo) => context.repository == Some(repo.as_str()),
            ScopeTarget::Image(digest) => context
                .digest
                .is_some_and(|d| d.eq_ignore_ascii_case(digest)),
        };
        target && (self.stages.is_empty() || self.stages.iter().any(|s| s == context.stage))
    }
}

impl Exceptions {
    /// Parses an exceptions register; `file` (usually its path) appears in errors.
    pub fn parse(text: &str, file: &str) -> Result<Exceptions, PolicyError> {
        let raw: RawExceptions =
            serde_saphyr::from_str(text).map_err(|e| PolicyError::syntax(file, &e))?;
        check_header(file, &raw.api_version, &raw.kind, "Exceptions")?;
        let mut entries = Vec::with_capacity(raw.exceptions.len());
        for entry in raw.exceptions {
            entries.push(entry.into_exception(file)?);
        }
        Ok(Exceptions {
            source: file.to_owned(),
            entries,
        })
    }

    /// Reads and parses the register at `path`.
    pub fn from_path(path: &Path) -> Result<Exceptions, PolicyError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: name.clone(),
            source,
        })?;
        Exceptions::parse(&text, &name)
    }

    /// The first exception in force at `now` for the finding in `context`, and
    /// otherwise the first expired one that would have applied.
    pub fn lookup(
        &self,
        finding: &Finding,
        context: &ExceptionContext<'_>,
        now: OffsetDateTime,
    ) -> (Option<&Exception>, Option<&Exception>) {
        let mut expired = None;
        for entry in self.entries.iter().filter(|e| e.matches(finding, context)) {
            if entry.is_active(now) {
                return (Some(entry), None);
            }
            expired.get_or_insert(entry);
        }
        (None, expired)
    }

    /// Exceptions expired at `now`, and those that expire within `days` days.
    pub fn expiring(&self, now: OffsetDateTime, days: u32) -> Expiring<'_> {
        let horizon = now + Duration::days(i64::from(days));
        let mut out = Expiring::default();
        for entry in &self.entries {
            if !entry.is_active(now) {
                out.expired.push(entry);
            } else if entry.expires.at <= horizon {
                out.soon.push(entry);
            }
        }
        out
    }

    /// Checks the register against the organisation policy: lifetimes within
    /// `maxExceptionDays`, and stages that exist. Every problem is returned.
    pub fn lint(&self, organisation: &Policy) -> Vec<PolicyError> {
        let mut errors = Vec::new();
        for entry in &self.entries {
            let lifetime = entry.expires.at - entry.approved_at.at;
            if let Some(max) = organisation.max_exception_days
                && lifetime > Duration::days(i64::from(max))
            {
                errors.push(PolicyError::at(
                    &self.source,
                    entry.expires_position,
                    &format!(
                        "exception for `{}` lasts {} days, more than the {max} days `{}` allows",
                        entry.advisory,
                        lifetime.whole_days(),
                        organisation.name
                    ),
                    Some("set `expires` closer to `approvedAt`, and renew the exception when it expires"),
                ));
            }
            for stage in &entry.scope.stages {
                if organisation.stage(stage).is_none() {
                    errors.push(PolicyError::at(
                        &self.source,
                        entry.position,
                        &format!(
                            "exception for `{}` names unknown stage `{stage}`",
                            entry.advisory
                        ),
                        Some("use a stage of the organisation policy"),
                    ));
                }
            }
        }
        errors
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawExceptions {
    api_version: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    exceptions: Vec<RawException>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawException {
    advisory: Spanned<String>,
    scope: RawScope,
    justification: String,
    #[serde(default)]
    compensating_controls: Vec<String>,
    owner: String,
    approved_by: String,
    approved_at: Expiry,
    expires: Spanned<Expiry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawScope {
    #[serde(default)]
    organisation: bool,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    stages: Vec<String>,
}

impl RawException {
    fn into_exception(self, file: &str) -> Result<Exception, PolicyError> {
        let at = position(&self.advisory.referenced);
        let advisory = self.advisory.value.trim().to_owned();
        let err =
            |message: String, hint: &str| Err(PolicyError::at(file, at, &message, Some(hint)));
        let s = self.scope;
        let mut targets = Vec::new();
        if s.organisation {
            targets.push(ScopeTarget::Organisation);
        }
        targets.extend(s.team.map(ScopeTarget::Team));
        targets.extend(s.repository.map(ScopeTarget::Repository));
        targets.extend(s.image.map(ScopeTarget::Image));
        if targets.len() != 1 {
            return err(
                format!("exception for `{advisory}` must have exactly one scope"),
                "give one of `organisation: true`, `team`, `repository` or `image` under `scope`",
            );
        }
        for (field, value) in [
            ("advisory", &advisory),
            ("justification", &self.justification),
            ("owner", &self.owner),
            ("approvedBy", &self.approved_by),
        ] {
            if value.trim().is_empty() {
                return err(
                    format!("exception for `{advisory}` has an empty `{field}`"),
                    "every exception says what, why, whose and who approved it",
                );
            }
        }
        if self.expires.value.at <= self.approved_at.at {
            return err(
                format!("exception for `{advisory}` expires before it was approved"),
                "set `expires` after `approvedAt`",
            );
        }
        if let Some(p) = &s.package
            && p.starts_with("pkg:")
            && PackageUrl::parse(p).is_none()
        {
            return err(
                format!("`{p}` is not a valid package URL"),
                "write `pkg:TYPE/NAMESPACE/NAME` or a plain name",
            );
        }
        Ok(Exception {
            advisory,
            scope: ExceptionScope {
                target: targets.remove(0),
                package: s.package,
                stages: s.stages,
            },
            justification: self.justification,
            compensating_controls: self.compensating_controls,
            owner: self.owner,
            approved_by: self.approved_by,
            approved_at: self.approved_at,
            expires_position: position(&self.expires.referenced),
            expires: self.expires.value,
            position: at,
        })
    }
}
