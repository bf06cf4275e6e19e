//! The strict parser of policy documents (YAML, or JSON, which is YAML too) and
//! the checks that need more than one field: stage names, rule names, value
//! ranges, and a team policy against the organisation's.

use crate::located::located;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

use super::{
    Action, Conditions, DEFAULT_STAGES, ImageConditions, ImageRule, Policy, Position, Role, Rule,
    Stage,
};

/// The `apiVersion` every portcullis document carries.
pub const API_VERSION: &str = "portcullis.dev/v1";

/// Why a policy or exceptions document cannot be used. Line and column are
/// 1-based, 0 when unknown.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("failed to read `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", located(file, *line, *column, message, hint.as_deref()))]
    Invalid {
        file: String,
        line: u64,
        column: u64,
        message: String,
        hint: Option<String>,
    },
}

impl PolicyError {
    pub(crate) fn at(file: &str, at: Position, message: &str, hint: Option<&str>) -> PolicyError {
        PolicyError::Invalid {
            file: file.to_owned(),
            line: at.line,
            column: at.column,
            message: message.to_owned(),
            hint: hint.map(str::to_owned),
        }
    }

    /// From a serde-saphyr error, with its location taken apart from the message.
    pub(crate) fn syntax(file: &str, error: &serde_saphyr::Error) -> PolicyError {
        let (line, column, message) = crate::located::yaml_error(error);
        let hint = if message.contains("unknown field") {
            Some("check the spelling against POLICY.md; unknown fields are errors".to_owned())
        } else if message.contains("unknown variant") {
            Some("use one of the values listed".to_owned())
        } else {
            None
        };
        PolicyError::Invalid {
            file: file.to_owned(),
            line,
            column,
            message,
            hint,
        }
    }
}

pub(crate) fn position(location: &Location) -> Position {
    Position {
        line: location.line(),
        column: location.column(),
    }
}

/// Checks `apiVersion` and `kind` of a document.
pub(crate) fn check_header(
    file: &str,
    api_version: &Spanned<String>,
    kind: &Spanned<String>,
    want_kind: &str,
) -> Result<(), PolicyError> {
    if api_version.value != API_VERSION {
        return Err(PolicyError::at(
            file,
            position(&api_version.referenced),
            &format!("unsupported apiVersion `{}`", api_version.value),
            Some(&format!("write `apiVersion: {API_VERSION}`")),
        ));
    }
    if kind.value != want_kind {
        return Err(PolicyError::at(
            file,
            position(&kind.referenced),
            &format!("expected `kind: {want_kind}`, found `{}`", kind.value),
            None,
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPolicy {
    api_version: Spanned<String>,
    kind: Spanned<String>,
    metadata: RawMetadata,
    #[serde(default)]
    spec: RawSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawMetadata {
    name: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    approved_by_role: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    max_exception_days: Option<u32>,
    #[serde(default)]
    roles: BTreeMap<String, Role>,
    #[serde(default)]
    stages: Option<Vec<RawStage>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawStage {
    name: Spanned<String>,
    #[serde(default)]
    rules: Vec<RawRule<Conditions>>,
    #[serde(default)]
    image_rules: Vec<RawRule<ImageConditions>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawRule<C: Default> {
    name: Spanned<String>,
    #[serde(default)]
    code: Option<Spanned<String>>,
    #[serde(default)]
    when: Option<Spanned<C>>,
    action: Action,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    disabled: bool,
}

/// Parses a policy document; `file` (usually its path) appears in errors.
pub fn parse(text: &str, file: &str) -> Result<Policy, PolicyError> {
    let raw: RawPolicy = serde_saphyr::from_str(text).map_err(|e| PolicyError::syntax(file, &e))?;
    check_header(file, &raw.api_version, &raw.kind, "Policy")?;
    let _ = raw.metadata.description;
    let stages = match raw.spec.stages {
        None => DEFAULT_STAGES
            .iter()
            .map(|name| Stage {
                name: (*name).to_owned(),
                rules: Vec::new(),
                image_rules: Vec::new(),
                position: Position::default(),
            })
            .collect(),
        Some(raw_stages) => stages(file, raw_stages)?,
    };
    let (approved_by_role, approved_by_role_position) = match raw.metadata.approved_by_role {
        Some(role) => (Some(role.value), position(&role.referenced)),
        None => (None, Position::default()),
    };
    Ok(Policy {
        source: file.to_owned(),
        name: raw.metadata.name,
        team: raw.metadata.team,
        approved_by_role,
        approved_by_role_position,
        max_exception_days: raw.spec.max_exception_days,
        roles: raw.spec.roles,
        stages,
    })
}

/// Reads and parses the policy document at `path`.
pub fn from_path(path: &Path) -> Result<Policy, PolicyError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
        path: name.clone(),
        source,
    })?;
    parse(&text, &name)
}

/// Stage names compared for overlap: lowercase, `-`, `_`, `.` and spaces ignored,
/// so that `pre-prod`, `preprod` and `Pre_Prod` are one stage written three ways.
fn stage_key(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn stages(file: &str, raw: Vec<RawStage>) -> Result<Vec<Stage>, PolicyError> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for stage in raw {
        let at = position(&stage.name.referenced);
        let name = stage.name.value;
        if !is_kebab(&name) {
            return Err(PolicyError::at(
                file,
                at,
                &format!("invalid stage name `{name}`"),
                Some("use lowercase letters, digits and `-`, such as `prod` or `pre-prod`"),
            ));
        }
        if let Some(earlier) = seen.insert(stage_key(&name), name.clone()) {
            let message = if earlier == name {
                format!("duplicate stage `{name}`")
            } else {
                format!("stage `{name}` overlaps stage `{earlier}`")
            };
            return Err(PolicyError::at(
                file,
                at,
                &message,
                Some("give each stage once, under one name"),
            ));
        }
        let mut names: BTreeMap<String, ()> = BTreeMap::new();
        let mut rules = Vec::with_capacity(stage.rules.len());
        for rule in stage.rules {
            let (name, code, at) = rule_names(file, &rule, &mut names)?;
            let when = match rule.when {
                Some(when) => {
                    check_conditions(file, &when.value, position(&when.referenced))?;
                    when.value
                }
                None => Conditions::default(),
            };
            rules.push(Rule {
                name,
                code,
                when,
                action: rule.action,
                message: rule.message,
                disabled: rule.disabled,
                position: at,
            });
        }
        let mut image_rules = Vec::with_capacity(stage.image_rules.len());
        for rule in stage.image_rules {
            let (name, code, at) = rule_names(file, &rule, &mut names)?;
            let when = rule.when.map(|w| w.value).unwrap_or_default();
            if when.is_empty() && !rule.disabled {
                return Err(PolicyError::at(
                    file,
                    at,
                    &format!("image rule `{name}` has no condition"),
                    Some(
                        "add `when:` with `runsAsRoot`, `basePinned`, `sizeOverBytes` or `olderThanDays`",
                    ),
                ));
            }
            image_rules.push(ImageRule {
                name,
                code,
                when,
                action: rule.action,
                message: rule.message,
                disabled: rule.disabled,
                position: at,
            });
        }
        out.push(Stage {
            name,
            rules,
            image_rules,
            position: at,
        });
    }
    Ok(out)
}

fn rule_names<C: Default>(
    file: &str,
    rule: &RawRule<C>,
    seen: &mut BTreeMap<String, ()>,
) -> Result<(String, String, Position), PolicyError> {
    let at = position(&rule.name.referenced);
    let name = rule.name.value.clone();
    if !is_kebab(&name) {
        return Err(PolicyError::at(
            file,
            at,
            &format!("invalid rule name `{name}`"),
            Some("rule names are kebab-case, such as `fixable-critical`"),
        ));
    }
    if seen.insert(name.clone(), ()).is_some() {
        return Err(PolicyError::at(
            file,
            at,
            &format!("duplicate rule `{name}` in this stage"),
            Some("rule names are unique within a stage"),
        ));
    }
    let code = match &rule.code {
        Some(code) if !is_kebab(&code.value) => {
            return Err(PolicyError::at(
                file,
                position(&code.referenced),
                &format!("invalid code `{}`", code.value),
                Some("codes are stable kebab-case words, such as `known-exploited`"),
            ));
        }
        Some(code) => code.value.clone(),
        None => name.clone(),
    };
    Ok((name, code, at))
}

fn check_conditions(file: &str, c: &Conditions, at: Position) -> Result<(), PolicyError> {
    let bad = |what: &str, range: &str| {
        Err(PolicyError::at(
            file,
            at,
            &format!("`{what}` is out of range"),
            Some(&format!("write a number from {range}")),
        ))
    };
    if c.cvss_at_least.is_some_and(|s| !(0.0..=10.0).contains(&s)) {
        return bad("cvssAtLeast", "0.0 to 10.0");
    }
    if c.epss_score_at_least
        .is_some_and(|s| !(0.0..=1.0).contains(&s))
    {
        return bad("epssScoreAtLeast", "0.0 to 1.0");
    }
    if c.epss_percentile_at_least
        .is_some_and(|s| !(0.0..=1.0).contains(&s))
    {
        return bad("epssPercentileAtLeast", "0.0 to 1.0");
    }
    if c.fix_published_days_ago.is_some() && c.fix_available == Some(false) {
        return Err(PolicyError::at(
            file,
            at,
            "`fixPublishedDaysAgo` needs a fix, but `fixAvailable` is false",
            Some("remove one of the two conditions"),
        ));
    }
    Ok(())
}

/// Checks that a team policy only adds to or raises the organisation's rules,
/// unless a role granted `allowTeamRelaxation` approved it.
pub(crate) fn check_team_against(org: &Policy, team: &Policy) -> Result<(), PolicyError> {
    let file = &team.source;
    let relax = match &team.approved_by_role {
        Some(role) if org.allows_relaxation_by(role) => true,
        Some(role) => {
            return Err(PolicyError::at(
                file,
                team.approved_by_role_position,
                &format!(
                    "the organisation policy does not grant role `{role}` `allowTeamRelaxation`"
                ),
                Some("remove `approvedByRole`, or grant the role in the organisation policy"),
            ));
        }
        None => false,
    };
    for stage in &team.stages {
        let Some(org_stage) = org.stage(&stage.name) else {
            return Err(PolicyError::at(
                file,
                stage.position,
                &format!("stage `{}` is not in the organisation policy", stage.name),
                Some("a team policy can only use the organisation's stages"),
            ));
        };
        check_rules(file, &stage.rules, &org_stage.rules, relax)?;
        check_rules(file, &stage.image_rules, &org_stage.image_rules, relax)?;
    }
    Ok(())
}

/// What a team rule is compared on with the organisation rule of the same name.
trait Overridable {
    fn name(&self) -> &str;
    fn disabled(&self) -> bool;
    fn action(&self) -> crate::Action;
    fn position(&self) -> Position;
    /// True when this rule's conditions match at least what `base`'s match.
    fn covers(&self, base: &Self) -> bool;
}

impl Overridable for crate::Rule {
    fn name(&self) -> &str {
        &self.name
    }
    fn disabled(&self) -> bool {
        self.disabled
    }
    fn action(&self) -> crate::Action {
        self.action
    }
    fn position(&self) -> Position {
        self.position
    }
    fn covers(&self, base: &Self) -> bool {
        self.when.covers(&base.when)
    }
}

impl Overridable for crate::ImageRule {
    fn name(&self) -> &str {
        &self.name
    }
    fn disabled(&self) -> bool {
        self.disabled
    }
    fn action(&self) -> crate::Action {
        self.action
    }
    fn position(&self) -> Position {
        self.position
    }
    fn covers(&self, base: &Self) -> bool {
        self.when.covers(&base.when)
    }
}

/// Checks each team rule against the organisation rule it overrides, if any.
fn check_rules<R: Overridable>(
    file: &str,
    team: &[R],
    organisation: &[R],
    relax: bool,
) -> Result<(), PolicyError> {
    for rule in team {
        let base = organisation.iter().find(|o| o.name() == rule.name());
        let stricter = base.is_none_or(|o| {
            (o.disabled() || !rule.disabled()) && rule.action() >= o.action() && rule.covers(o)
        });
        check_override(
            file,
            rule.disabled(),
            base.is_some(),
            stricter,
            relax,
            rule.name(),
            rule.position(),
        )?;
    }
    Ok(())
}

fn check_override(
    file: &str,
    disabled: bool,
    overrides: bool,
    stricter: bool,
    relax: bool,
    name: &str,
    at: Position,
) -> Result<(), PolicyError> {
    if disabled && !overrides {
        return Err(PolicyError::at(
            file,
            at,
            &format!("rule `{name}` is disabled but the organisation policy has no such rule"),
            Some("name an organisation rule of this stage, or remove this rule"),
        ));
    }
    if !stricter && !relax {
        return Err(PolicyError::at(
            file,
            at,
            &format!("rule `{name}` would relax the organisation's rule of the same name"),
            Some(
                "a team rule may only raise the action or widen the conditions; to relax, the \
                 organisation must grant a role `allowTeamRelaxation: true` and this policy name \
                 it in `metadata.approvedByRole`",
            ),
        ));
    }
    Ok(())
}
