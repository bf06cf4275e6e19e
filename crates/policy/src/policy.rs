//! Policy documents: stages, rules per stage, image-level rules, and the
//! organisation/team layering ([`PolicySet`]). Parsing lives in [`parse`].
//!
//! A team policy may only be stricter than the organisation's: it may add rules
//! and, by naming an organisation rule, raise it (a stricter action, or
//! conditions that match at least as much). It may lower or disable an
//! organisation rule only when its `metadata.approvedByRole` names a role to
//! which the organisation policy grants `allowTeamRelaxation: true`.

pub mod parse;

use std::collections::BTreeMap;

use portcullis_types::{Ecosystem, LayerRole, SeverityLevel};
use serde::{Deserialize, Serialize};

pub use parse::{API_VERSION, PolicyError};

/// The stages a policy has when it lists none.
pub const DEFAULT_STAGES: [&str; 3] = ["dev", "test", "prod"];

/// What a rule does when it fires, from least to most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Warn,
    Nudge,
    Block,
}

/// Conditions on one finding; all given conditions must hold (an empty set
/// matches every finding).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Conditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_at_least: Option<SeverityLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_at_least: Option<f32>,
    /// `true`: a fixed version is known; `false`: none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_available: Option<bool>,
    /// A grace period: a fix exists and the advisory was published at least
    /// this many days ago (the advisory's `published` date stands in for the
    /// fix's; an unknown date counts as past the grace period).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_published_days_ago: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss_score_at_least: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss_percentile_at_least: Option<f32>,
    /// `true`: listed in CISA KEV; `false`: not listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ecosystems: Vec<Ecosystem>,
    /// Package names (binary or source package) or purls without version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// Advisory IDs, matched against the finding's ID and aliases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRole>,
}

/// Conditions on the image; all given conditions must hold, and at least one is required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageConditions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_as_root: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_pinned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_over_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than_days: Option<u32>,
}

/// Where a rule was written, for messages: 1-based, 0 when unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

/// A rule on findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub name: String,
    /// The diagnostic code; the rule's name unless given.
    pub code: String,
    pub when: Conditions,
    pub action: Action,
    pub message: Option<String>,
    /// A disabled rule never fires; in a team policy it removes the organisation's rule.
    pub disabled: bool,
    pub position: Position,
}

/// A rule on the image itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRule {
    pub name: String,
    pub code: String,
    pub when: ImageConditions,
    pub action: Action,
    pub message: Option<String>,
    pub disabled: bool,
    pub position: Position,
}

/// One lifecycle stage and its rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    pub name: String,
    pub rules: Vec<Rule>,
    pub image_rules: Vec<ImageRule>,
    pub position: Position,
}

/// What the organisation allows a role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Role {
    #[serde(default)]
    pub allow_team_relaxation: bool,
}

/// One parsed policy document: the organisation's, or a team's (`team` set).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// The file it was parsed from, for messages.
    pub source: String,
    pub name: String,
    pub team: Option<String>,
    /// The role that approved a team policy's relaxations.
    pub approved_by_role: Option<String>,
    pub approved_by_role_position: Position,
    /// The longest an exception may last, from approval to expiry.
    pub max_exception_days: Option<u32>,
    pub roles: BTreeMap<String, Role>,
    pub stages: Vec<Stage>,
}

impl Policy {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// True when the organisation grants `role` the right to relax its rules for a team.
    pub fn allows_relaxation_by(&self, role: &str) -> bool {
        self.roles
            .get(role)
            .is_some_and(|r| r.allow_team_relaxation)
    }
}

/// The organisation policy and the team policies layered on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicySet {
    pub organisation: Policy,
    pub teams: BTreeMap<String, Policy>,
}

/// A rule in force for one stage and team, and which policy it came from.
#[derive(Debug, Clone, Copy)]
pub struct EffectiveRule<'a, R> {
    pub rule: &'a R,
    /// The team whose policy wrote it, `None` for the organisation's.
    pub team: Option<&'a str>,
}

impl PolicySet {
    /// A set with the organisation policy only; a team policy is refused here.
    pub fn new(organisation: Policy) -> Result<PolicySet, PolicyError> {
        if organisation.team.is_some() {
            return Err(PolicyError::at(
                &organisation.source,
                Position::default(),
                "a team policy cannot be the organisation policy",
                Some("give the organisation policy first; team policies have `metadata.team`"),
            ));
        }
        Ok(PolicySet {
            organisation,
            teams: BTreeMap::new(),
        })
    }

    /// Adds a team policy after checking that it is only stricter than the
    /// organisation's (unless a granted role approved it).
    pub fn add_team(&mut self, policy: Policy) -> Result<(), PolicyError> {
        let Some(team) = policy.team.clone() else {
            return Err(PolicyError::at(
                &policy.source,
                Position::default(),
                "this is not a team policy",
                Some("add `team: NAME` under `metadata`"),
            ));
        };
        parse::check_team_against(&self.organisation, &policy)?;
        if self.teams.contains_key(&team) {
            return Err(PolicyError::at(
                &policy.source,
                Position::default(),
                &format!("a policy for team `{team}` was already given"),
                Some("give one policy per team"),
            ));
        }
        self.teams.insert(team, policy);
        Ok(())
    }

    /// True when the organisation policy has this stage.
    pub fn has_stage(&self, stage: &str) -> bool {
        self.organisation.stage(stage).is_some()
    }

    /// The finding rules in force: the organisation's, each replaced by the
    /// team's rule of the same name when there is one, then the team's own;
    /// disabled rules left out.
    pub fn rules<'a>(&'a self, stage: &str, team: Option<&str>) -> Vec<EffectiveRule<'a, Rule>> {
        self.layered(stage, team, |s| &s.rules, |r| (&r.name, r.disabled))
    }

    /// The image rules in force, layered as [`PolicySet::rules`].
    pub fn image_rules<'a>(
        &'a self,
        stage: &str,
        team: Option<&str>,
    ) -> Vec<EffectiveRule<'a, ImageRule>> {
        self.layered(stage, team, |s| &s.image_rules, |r| (&r.name, r.disabled))
    }

    fn layered<'a, R>(
        &'a self,
        stage: &str,
        team: Option<&str>,
        list: impl Fn(&'a Stage) -> &'a Vec<R>,
        key: impl Fn(&R) -> (&String, bool),
    ) -> Vec<EffectiveRule<'a, R>> {
        let team_policy = team.and_then(|t| self.teams.get(t).map(|p| (t, p)));
        let team_rules: &[R] = team_policy
            .and_then(|(_, p)| p.stage(stage))
            .map_or(&[], |s| list(s).as_slice());
        let team_name = team_policy.and_then(|(_, p)| p.team.as_deref());
        let org_rules: &[R] = self
            .organisation
            .stage(stage)
            .map_or(&[], |s| list(s).as_slice());
        let mut out = Vec::with_capacity(org_rules.len() + team_rules.len());
        for rule in org_rules {
            let name = key(rule).0;
            match team_rules.iter().find(|t| key(t).0 == name) {
                Some(over) => out.push(EffectiveRule {
                    rule: over,
                    team: team_name,
                }),
                None => out.push(EffectiveRule { rule, team: None }),
            }
        }
        for rule in team_rules {
            let name = key(rule).0;
            if !org_rules.iter().any(|o| key(o).0 == name) {
                out.push(EffectiveRule {
                    rule,
                    team: team_name,
                });
            }
        }
        out.retain(|r| !key(r.rule).1);
        out
    }
}

impl Conditions {
    /// True when these conditions match every finding that `other` matches
    /// (they are as broad or broader), judged condition by condition.
    pub fn covers(&self, other: &Conditions) -> bool {
        fn threshold<T: PartialOrd>(mine: Option<T>, theirs: Option<T>) -> bool {
            match (mine, theirs) {
                (None, _) => true,
                (Some(m), Some(t)) => m <= t,
                (Some(_), None) => false,
            }
        }
        fn exact<T: PartialEq>(mine: Option<T>, theirs: Option<T>) -> bool {
            mine.is_none() || mine == theirs
        }
        fn list<T: PartialEq>(mine: &[T], theirs: &[T]) -> bool {
            mine.is_empty() || (!theirs.is_empty() && theirs.iter().all(|t| mine.contains(t)))
        }
        threshold(self.severity_at_least, other.severity_at_least)
            && threshold(self.cvss_at_least, other.cvss_at_least)
            && threshold(self.fix_published_days_ago, other.fix_published_days_ago)
            && threshold(self.epss_score_at_least, other.epss_score_at_least)
            && threshold(
                self.epss_percentile_at_least,
                other.epss_percentile_at_least,
            )
            && exact(self.fix_available, other.fix_available)
            && exact(self.kev, other.kev)
            && exact(self.layer, other.layer)
            && list(&self.ecosystems, &other.ecosystems)
            && list(&self.packages, &other.packages)
            && list(&self.advisories, &other.advisories)
    }
}

impl ImageConditions {
    /// As [`Conditions::covers`], for image rules.
    pub fn covers(&self, other: &ImageConditions) -> bool {
        let threshold = |mine: Option<u64>, theirs: Option<u64>| match (mine, theirs) {
            (None, _) => true,
            (Some(m), Some(t)) => m <= t,
            (Some(_), None) => false,
        };
        (self.runs_as_root.is_none() || self.runs_as_root == other.runs_as_root)
            && (self.base_pinned.is_none() || self.base_pinned == other.base_pinned)
            && threshold(self.size_over_bytes, other.size_over_bytes)
            && threshold(
                self.older_than_days.map(u64::from),
                other.older_than_days.map(u64::from),
            )
    }

    pub fn is_empty(&self) -> bool {
        *self == ImageConditions::default()
    }
}
