//! ruby-advisory-db advisories: YAML files `gems/<gem>/<ID>.yml` about gems
//! and `rubies/<engine>/<ID>.yml` about Ruby implementations.
//!
//! - The advisory ID is the file's stem (`CVE-2019-1234`, `GHSA-…`,
//!   `OSVDB-1234`), as the database names it; the bare `cve`, `ghsa` and
//!   `osvdb` numbers become prefixed aliases.
//! - `patched_versions` and `unaffected_versions` become one [`NativeRange`]
//!   of RubyGems requirements; with neither (no fix) every version is
//!   affected, which the range says explicitly (`vulnerable = ">= 0"`).
//! - Gems use ecosystem `RubyGems`. Engines are not gems: they use ecosystem
//!   [`ENGINE_ECOSYSTEM`] (`Ruby`) with the engine as package (`ruby`,
//!   `jruby`, `truffleruby`…); their versions follow RubyGems' ordering too.
//! - `cvss_v2`, `cvss_v3`, `cvss_v4` are base scores without vectors: the
//!   level is FIRST's rating of the score (NVD's Low/Medium/High for v2).
//! - A gem limited to a `platform` (`jruby`) keeps it in the entry's note.

use portcullis_types::{Advisory, Affected, NativeRange, Severity, SeverityKind, SeverityLevel};
use portcullis_version::{Scheme, satisfies};
use serde::Deserialize;

use super::Parsed;
use super::osv::{clean_ids, null_as_default, timestamp};

const GEM_UNIT: &str = "RubySec gem advisories";
const RUBY_UNIT: &str = "RubySec ruby advisories";

/// The ecosystem of advisories about Ruby implementations (not an OSV one).
pub(crate) const ENGINE_ECOSYSTEM: &str = "Ruby";

/// One advisory; scalars are read as their YAML text (`osvdb: 1234`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAdvisory {
    gem: Option<String>,
    engine: Option<String>,
    platform: Option<String>,
    cve: Option<String>,
    ghsa: Option<String>,
    osvdb: Option<String>,
    url: Option<String>,
    title: Option<String>,
    date: Option<String>,
    description: Option<String>,
    cvss_v2: Option<String>,
    cvss_v3: Option<String>,
    cvss_v4: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    patched_versions: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    unaffected_versions: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    related: RawRelated,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawRelated {
    #[serde(deserialize_with = "null_as_default")]
    url: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    cve: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    ghsa: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    osvdb: Vec<String>,
}

/// Parses one advisory file.
pub(crate) fn parse(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let stem = file_stem(path);
    let raw: RawAdvisory = match serde_saphyr::from_slice(bytes) {
        Ok(raw) => raw,
        Err(error) => {
            out.count(unit_for_path(path));
            let error = error.to_string();
            // saphyr's messages carry a source excerpt after the first line.
            let reason = error.lines().next().unwrap_or_default();
            out.warn(
                source,
                path,
                Some(stem),
                format!("invalid advisory: {reason}"),
            );
            return;
        }
    };
    let (unit, ecosystem, package) = match (&raw.gem, &raw.engine) {
        (Some(gem), _) => (GEM_UNIT, "RubyGems", gem.trim()),
        (None, Some(engine)) => (RUBY_UNIT, ENGINE_ECOSYSTEM, engine.trim()),
        (None, None) => {
            out.count(unit_for_path(path));
            out.warn(source, path, Some(stem), "neither `gem` nor `engine`");
            return;
        }
    };
    out.count(unit);
    if stem.is_empty() || package.is_empty() {
        out.warn(source, path, Some(stem), "no advisory ID or package name");
        return;
    }
    let id = stem;

    let mut advisory = Advisory::new(id, source);
    let prefixed = |prefix: &str, number: &str| {
        let number = number.trim();
        match number.strip_prefix(prefix) {
            Some(_) => number.to_owned(),
            None => format!("{prefix}{number}"),
        }
    };
    let mut aliases = Vec::new();
    aliases.extend(raw.cve.as_deref().map(|n| prefixed("CVE-", n)));
    aliases.extend(raw.ghsa.as_deref().map(|n| prefixed("GHSA-", n)));
    aliases.extend(raw.osvdb.as_deref().map(|n| prefixed("OSVDB-", n)));
    advisory.aliases = clean_ids(aliases, id);
    let related = raw.related;
    let mut related_ids: Vec<String> = Vec::new();
    related_ids.extend(related.cve.iter().map(|n| prefixed("CVE-", n)));
    related_ids.extend(related.ghsa.iter().map(|n| prefixed("GHSA-", n)));
    related_ids.extend(related.osvdb.iter().map(|n| prefixed("OSVDB-", n)));
    advisory.related = clean_ids(related_ids, id);
    advisory.summary = raw
        .title
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    advisory.details = raw
        .description
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty());
    advisory.published = timestamp(raw.date);
    if let Some(date) = &advisory.published {
        out.saw_date(date);
    }
    for url in raw.url.iter().chain(&related.url) {
        let url = url.trim();
        if !url.is_empty() && !advisory.references.iter().any(|known| known == url) {
            advisory.references.push(url.to_owned());
        }
    }
    for (kind, score) in [
        (SeverityKind::CvssV2, &raw.cvss_v2),
        (SeverityKind::CvssV3, &raw.cvss_v3),
        (SeverityKind::CvssV4, &raw.cvss_v4),
    ] {
        let Some(score) = score.as_deref().map(str::trim) else {
            continue;
        };
        match score_severity(kind, score) {
            Some(severity) => advisory.severities.push(severity),
            None => out.warn(
                source,
                path,
                Some(id),
                format!("invalid CVSS score `{score}`"),
            ),
        }
    }

    let mut requirements = Vec::new();
    for requirement in raw.patched_versions.iter().chain(&raw.unaffected_versions) {
        let requirement = requirement.trim();
        if let Err(error) = satisfies(Scheme::Gem, "0", requirement) {
            out.warn(
                source,
                path,
                Some(id),
                format!("invalid requirement `{requirement}`: {error}"),
            );
            // The advisory still resolves its aliases, without the unusable entry.
            out.advisories.push(advisory);
            return;
        }
        requirements.push(requirement.to_owned());
    }
    let mut affected = Affected::new(ecosystem, package);
    affected.native = Some(NativeRange {
        vulnerable: requirements.is_empty().then(|| ">= 0".to_owned()),
        unaffected: requirements,
    });
    if let Some(platform) = raw
        .platform
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        affected.note = Some(format!("platform: {platform}"));
    }
    advisory.affected.push(affected);
    out.advisories.push(advisory);
}

/// The file name without its extension: the advisory ID.
fn file_stem(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(name)
        .trim()
}

/// The unit of a file whose content says nothing: by its directory.
fn unit_for_path(path: &str) -> &'static str {
    let engine = path
        .split(['/', '\\'])
        .find(|part| matches!(*part, "gems" | "rubies"))
        == Some("rubies");
    if engine { RUBY_UNIT } else { GEM_UNIT }
}

/// A score-only rating: FIRST's bands for v3 and v4, NVD's for v2 (which
/// has no `critical`).
fn score_severity(kind: SeverityKind, text: &str) -> Option<Severity> {
    let score: f32 = text.parse().ok()?;
    if !(0.0..=10.0).contains(&score) {
        return None;
    }
    let level = match kind {
        SeverityKind::CvssV2 if score >= 7.0 => SeverityLevel::High,
        SeverityKind::CvssV2 if score >= 4.0 => SeverityLevel::Medium,
        SeverityKind::CvssV2 => SeverityLevel::Low,
        _ => SeverityLevel::from_cvss_score(score),
    };
    Some(Severity {
        source: "rubysec".to_owned(),
        kind,
        vector: None,
        score: Some(score),
        level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: &str, text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse("rubysec", path, text.as_bytes(), &mut out);
        out
    }

    const GEM: &str = r#"---
gem: actionpack
framework: rails
cve: 2011-0446
ghsa: 75w6-p6mg-vh8j
osvdb: 70928
url: https://groups.google.com/g/rubyonrails-security/c/8CpI7egxX4E
title: XSS vulnerabilities in the mail_to helper
date: 2011-02-08
description: |
  Multiple cross-site scripting (XSS) vulnerabilities.
cvss_v2: 4.3
cvss_v3: 9.8
cvss_v4: 0
unaffected_versions:
  - "< 2.0.0"
patched_versions:
  - "~> 2.3.11"
  - ">= 3.0.4"
related:
  cve:
    - 2011-0447
  url:
    - https://nvd.nist.gov/vuln/detail/CVE-2011-0446
    - https://groups.google.com/g/rubyonrails-security/c/8CpI7egxX4E
"#;

    #[test]
    fn gem_advisory_fields() {
        let out = run("gems/actionpack/CVE-2011-0446.yml", GEM);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.records.get(GEM_UNIT), Some(&1));
        let a = &out.advisories[0];
        assert_eq!(a.id, "CVE-2011-0446");
        assert_eq!(a.aliases, ["GHSA-75w6-p6mg-vh8j", "OSVDB-70928"]);
        assert_eq!(a.related, ["CVE-2011-0447"]);
        assert_eq!(a.published.as_deref(), Some("2011-02-08T00:00:00Z"));
        assert_eq!(out.snapshot.as_deref(), Some("2011-02-08T00:00:00Z"));
        assert_eq!(
            a.summary.as_deref(),
            Some("XSS vulnerabilities in the mail_to helper")
        );
        assert_eq!(
            a.details.as_deref(),
            Some("Multiple cross-site scripting (XSS) vulnerabilities.")
        );
        assert_eq!(a.references.len(), 2);
        let levels: Vec<_> = a
            .severities
            .iter()
            .map(|s| {
                (
                    s.kind,
                    s.score,
                    s.level,
                    s.vector.is_none(),
                    s.source.as_str(),
                )
            })
            .collect();
        assert_eq!(
            levels,
            [
                (
                    SeverityKind::CvssV2,
                    Some(4.3),
                    SeverityLevel::Medium,
                    true,
                    "rubysec"
                ),
                (
                    SeverityKind::CvssV3,
                    Some(9.8),
                    SeverityLevel::Critical,
                    true,
                    "rubysec"
                ),
                (
                    SeverityKind::CvssV4,
                    Some(0.0),
                    SeverityLevel::Negligible,
                    true,
                    "rubysec"
                ),
            ]
        );
        let entry = &a.affected[0];
        assert_eq!(
            (entry.ecosystem.as_str(), entry.package.as_str()),
            ("RubyGems", "actionpack")
        );
        let native = entry.native.as_ref().unwrap();
        assert_eq!(native.unaffected, ["~> 2.3.11", ">= 3.0.4", "< 2.0.0"]);
        assert_eq!(native.vulnerable, None);
        let affected = |v| portcullis_version::native_affected(Scheme::Gem, v, native).unwrap();
        assert!(affected("2.3.10") && affected("3.0.3"));
        assert!(!affected("2.3.11") && !affected("1.9") && !affected("3.0.4"));
    }

    #[test]
    fn engine_advisory_without_fix() {
        let out = run(
            "rubysec/rubies/jruby/OSVDB-94644.yml",
            "engine: jruby\nosvdb: 94644\ncve: CVE-2013-9999\nurl: https://x\ntitle: t\ndate: 2013-06-27\ndescription: d\n",
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert_eq!(out.records.get(RUBY_UNIT), Some(&1));
        let a = &out.advisories[0];
        assert_eq!(a.id, "OSVDB-94644");
        assert_eq!(a.aliases, ["CVE-2013-9999"]);
        let entry = &a.affected[0];
        assert_eq!(
            (entry.ecosystem.as_str(), entry.package.as_str()),
            ("Ruby", "jruby")
        );
        let native = entry.native.as_ref().unwrap();
        assert!(portcullis_version::native_affected(Scheme::Gem, "9.4.0.0", native).unwrap());
    }

    #[test]
    fn platform_and_malformed_parts() {
        let out = run(
            "gems/jruby-openssl/GHSA-aaaa-bbbb-cccc.yml",
            "gem: jruby-openssl\nplatform: jruby\nghsa: aaaa-bbbb-cccc\ncvss_v3: 11\npatched_versions: ['>= 0.9.5', '=> 1']\n",
        );
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert_eq!(out.warnings[0].reason, "invalid CVSS score `11`");
        assert!(out.warnings[1].reason.contains("`=> 1`"));
        let a = &out.advisories[0];
        assert!(a.aliases.is_empty() && a.affected.is_empty());
        let out = run("gems/x/CVE-1.yml", "gem: x\nplatform: jruby\n");
        assert_eq!(
            out.advisories[0].affected[0].note.as_deref(),
            Some("platform: jruby")
        );
        let out = run("rubies/x/CVE-1.yml", "title: [unclosed\n");
        assert_eq!(out.records.get(RUBY_UNIT), Some(&1));
        assert!(!out.warnings[0].reason.contains('\n'));
        let out = run("gems/x/CVE-1.yml", "title: nothing\n");
        assert_eq!(out.warnings[0].reason, "neither `gem` nor `engine`");
        assert_eq!(out.records.get(GEM_UNIT), Some(&1));
    }

    #[test]
    fn every_truncation_is_survived() {
        for end in 0..GEM.len() {
            let mut out = Parsed::default();
            parse(
                "rubysec",
                "gems/a/CVE-1.yml",
                &GEM.as_bytes()[..end],
                &mut out,
            );
            assert_eq!(out.records.values().sum::<u64>(), 1);
        }
    }
}
