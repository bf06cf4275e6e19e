//! What evaluating a policy gives: a [`Decision`] made of [`Diagnostic`]s, and
//! the facts about an image that image-level rules look at ([`ImageFacts`]).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The verdict on an image, from least to most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The image may go on.
    Pass,
    /// A human with the right role must approve it first.
    Nudge,
    /// The image may not go on until it is fixed or an exception is granted.
    Block,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Nudge => "nudge",
            Outcome::Block => "block",
        }
    }
}

/// What a diagnostic does to the outcome: `info` and `warn` are shown and never
/// change it; `nudge` and `block` raise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticAction {
    Info,
    Warn,
    Nudge,
    Block,
}

impl DiagnosticAction {
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticAction::Info => "info",
            DiagnosticAction::Warn => "warn",
            DiagnosticAction::Nudge => "nudge",
            DiagnosticAction::Block => "block",
        }
    }

    /// The outcome this action alone leads to.
    pub fn outcome(self) -> Outcome {
        match self {
            DiagnosticAction::Info | DiagnosticAction::Warn => Outcome::Pass,
            DiagnosticAction::Nudge => Outcome::Nudge,
            DiagnosticAction::Block => Outcome::Block,
        }
    }
}

/// A finding a diagnostic is about: its vulnerability and package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FindingRef {
    pub id: String,
    pub package: String,
    pub version: String,
}

/// One reason in a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// A stable kebab-case code: the rule's `code` (or name), or one of
    /// `exception-applied`, `exception-expired`, `vex-not-affected`, `vex-fixed`,
    /// `vex-suppressed`.
    pub code: String,
    pub action: DiagnosticAction,
    /// The rule that fired, as `STAGE/RULE` (prefixed with `team NAME: ` for a
    /// team policy's rule), or the exception or VEX source.
    pub rule: String,
    /// The findings concerned, sorted; empty for image-level rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<FindingRef>,
    pub message: String,
    /// What would make this diagnostic go away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// The result of evaluating a policy: the outcome and every reason for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    /// Block first, then nudge, warn, info; then by code and rule.
    pub diagnostics: Vec<Diagnostic>,
}

impl Decision {
    /// Builds a decision from its diagnostics: the outcome is the strictest
    /// action among them, and the diagnostics are put in their documented order.
    pub fn from_diagnostics(mut diagnostics: Vec<Diagnostic>) -> Decision {
        diagnostics.sort_by(|a, b| {
            b.action
                .cmp(&a.action)
                .then_with(|| a.code.cmp(&b.code))
                .then_with(|| a.rule.cmp(&b.rule))
                .then_with(|| a.findings.cmp(&b.findings))
        });
        let outcome = diagnostics
            .iter()
            .map(|d| d.action.outcome())
            .max()
            .unwrap_or(Outcome::Pass);
        Decision {
            outcome,
            diagnostics,
        }
    }

    /// The distinct codes of the diagnostics, sorted.
    pub fn codes(&self) -> Vec<&str> {
        let set: std::collections::BTreeSet<&str> =
            self.diagnostics.iter().map(|d| d.code.as_str()).collect();
        set.into_iter().collect()
    }
}

/// Facts about the image itself, for image-level rules and exception scopes.
/// Every field is optional: an unknown fact never makes a rule fire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageFacts {
    /// The config's `User`: `Some("")` means the default, root; `None` means unknown.
    pub user: Option<String>,
    /// Whether the base image is named by digest (`FROM image@sha256:…`).
    pub base_pinned: Option<bool>,
    /// The image's size in bytes (compressed layers, as stored).
    pub size: Option<u64>,
    /// The config's `created` time.
    pub created: Option<OffsetDateTime>,
    /// The repository, `team/app`, for repository-scoped exceptions.
    pub repository: Option<String>,
    /// The manifest digest, for image-scoped exceptions.
    pub digest: Option<String>,
}

impl ImageFacts {
    /// True when the image is known to run as root: no user, `root`, or UID 0.
    pub fn runs_as_root(&self) -> Option<bool> {
        let user = self.user.as_deref()?.trim();
        let name = user.split(':').next().unwrap_or("");
        Some(name.is_empty() || name == "root" || name == "0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_recognised_in_its_spellings() {
        let facts = |u: Option<&str>| ImageFacts {
            user: u.map(str::to_owned),
            ..ImageFacts::default()
        };
        assert_eq!(facts(None).runs_as_root(), None);
        assert_eq!(facts(Some("")).runs_as_root(), Some(true));
        assert_eq!(facts(Some("0:0")).runs_as_root(), Some(true));
        assert_eq!(facts(Some("root")).runs_as_root(), Some(true));
        assert_eq!(facts(Some("1000")).runs_as_root(), Some(false));
        assert_eq!(facts(Some("app:0")).runs_as_root(), Some(false));
    }

    #[test]
    fn no_diagnostic_means_pass() {
        assert_eq!(
            Decision::from_diagnostics(Vec::new()).outcome,
            Outcome::Pass
        );
    }
}
