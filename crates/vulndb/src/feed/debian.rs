//! The Debian security tracker: its JSON export (`/tracker/data/json`) and
//! the advisory lists `data/DSA/list` and `data/DLA/list`.
//!
//! The JSON export is `{package: {CVE or TEMP id: {description, releases:
//! {codename: {status, fixed_version, urgency, nodsa, nodsa_reason, …}}}}}`.
//! Each (package, id) becomes one [`Advisory`] with one [`Affected`] per
//! release; records of the same id are merged later by (source, id).
//!
//! Releases are named by codename; the ecosystem is `Debian:<number>`: the
//! major version from etch (4) on, the two-part number before it (`3.1` for
//! sarge, `3.0` for woody, since both are "3"), and `Debian:sid` for
//! unstable, which has no number. An unknown codename is skipped with a
//! warning.

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::{
    Advisory, Affected, AffectedStatus, OsvEvent, OsvRange, OsvRangeKind, Severity, SeverityKind,
    SeverityLevel,
};
use portcullis_version::DebVersion;
use serde::Deserialize;

use super::{Parsed, normalize_date};

/// The ecosystem of a Debian release codename.
fn release_ecosystem(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "buzz" => "Debian:1.1",
        "rex" => "Debian:1.2",
        "bo" => "Debian:1.3",
        "hamm" => "Debian:2.0",
        "slink" => "Debian:2.1",
        "potato" => "Debian:2.2",
        "woody" => "Debian:3.0",
        "sarge" => "Debian:3.1",
        "etch" => "Debian:4",
        "lenny" => "Debian:5",
        "squeeze" => "Debian:6",
        "wheezy" => "Debian:7",
        "jessie" => "Debian:8",
        "stretch" => "Debian:9",
        "buster" => "Debian:10",
        "bullseye" => "Debian:11",
        "bookworm" => "Debian:12",
        "trixie" => "Debian:13",
        "forky" => "Debian:14",
        "duke" => "Debian:15",
        "sid" => "Debian:sid",
        _ => return None,
    })
}

/// A value that is kept when it has the expected shape and reported otherwise,
/// so that one odd record does not fail the whole export.
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient<T> {
    Valid(T),
    Malformed(serde_json::Value),
}

#[derive(Deserialize)]
struct TrackerEntry {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    debianbug: Option<serde_json::Value>,
    #[serde(default)]
    releases: Option<BTreeMap<String, Lenient<TrackerRelease>>>,
}

#[derive(Deserialize)]
struct TrackerRelease {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
}

type TrackerExport = BTreeMap<String, Lenient<BTreeMap<String, Lenient<TrackerEntry>>>>;

/// Parses the tracker's JSON export. Unit: `tracker CVE entries` (one per
/// package and id).
pub(crate) fn parse_tracker(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let export: TrackerExport = match serde_json::from_slice(bytes) {
        Ok(export) => export,
        Err(error) => {
            out.warn(
                source,
                path,
                None,
                format!("not a tracker JSON export: {error}"),
            );
            return;
        }
    };
    for (package, entries) in export {
        let entries = match entries {
            Lenient::Valid(entries) => entries,
            Lenient::Malformed(_) => {
                out.warn(
                    source,
                    path,
                    Some(&package),
                    "package is not an object of issues",
                );
                continue;
            }
        };
        for (id, entry) in entries {
            out.count("tracker CVE entries");
            let record = format!("{package} {id}");
            match entry {
                Lenient::Valid(entry) => {
                    let advisory = tracker_advisory(source, path, &package, &id, entry, out);
                    out.advisories.push(advisory);
                }
                Lenient::Malformed(value) => {
                    let reason = serde_json::from_value::<TrackerEntry>(value)
                        .err()
                        .map_or_else(|| "malformed entry".to_owned(), |e| e.to_string());
                    out.warn(source, path, Some(&record), reason);
                }
            }
        }
    }
}

fn tracker_advisory(
    source: &str,
    path: &str,
    package: &str,
    id: &str,
    entry: TrackerEntry,
    out: &mut Parsed,
) -> Advisory {
    let mut advisory = Advisory::new(id, source);
    advisory.summary = entry.description.filter(|d| !d.trim().is_empty());
    advisory
        .references
        .push(format!("https://security-tracker.debian.org/tracker/{id}"));
    let bug = match entry.debianbug {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    if let Some(bug) = bug.filter(|&b| b > 0) {
        advisory
            .references
            .push(format!("https://bugs.debian.org/{bug}"));
    }
    let record = format!("{package} {id}");
    for (codename, release) in entry.releases.unwrap_or_default() {
        let release = match release {
            Lenient::Valid(release) => release,
            Lenient::Malformed(_) => {
                out.warn(
                    source,
                    path,
                    Some(&record),
                    format!("release `{codename}` is malformed"),
                );
                continue;
            }
        };
        let Some(ecosystem) = release_ecosystem(&codename) else {
            out.warn(
                source,
                path,
                Some(&record),
                format!("unknown release `{codename}`"),
            );
            continue;
        };
        match tracker_affected(ecosystem, package, &release) {
            Ok(affected) => advisory.affected.push(affected),
            Err(reason) => out.warn(
                source,
                path,
                Some(&record),
                format!("release `{codename}`: {reason}"),
            ),
        }
    }
    // The advisory-wide rating is the highest urgency of any release; the
    // per-release ones stay on each affected entry.
    if let Some(level) = advisory
        .affected
        .iter()
        .filter_map(|a| a.severity)
        .filter(|&l| l != SeverityLevel::Unknown)
        .max()
    {
        advisory.severities.push(rating(level));
    }
    advisory
}

fn rating(level: SeverityLevel) -> Severity {
    Severity {
        source: "debian".to_owned(),
        kind: SeverityKind::Rating,
        vector: None,
        score: None,
        level,
    }
}

/// The affected entry of one release of a tracker entry.
fn tracker_affected(
    ecosystem: &str,
    package: &str,
    release: &TrackerRelease,
) -> Result<Affected, String> {
    let mut affected = Affected::new(ecosystem, package);
    let urgency = release.urgency.as_deref().unwrap_or_default().trim();
    let end_of_life = urgency == "end-of-life";
    // `end-of-life` is not a rating; an unknown word is kept as unknown.
    affected.severity = (!end_of_life)
        .then(|| SeverityLevel::parse_word(urgency).unwrap_or(SeverityLevel::Unknown));
    let fixed = release
        .fixed_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let nodsa = release
        .nodsa
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let reason = release.nodsa_reason.as_deref().unwrap_or_default().trim();
    let status = release.status.as_deref().unwrap_or_default().trim();
    match status {
        "resolved" => match fixed {
            Some("0") => affected.status = AffectedStatus::NotAffected,
            Some(version) => {
                validate(version)?;
                affected.ranges.push(fixed_range(Some(version)));
            }
            None => return Err("resolved without a fixed version".to_owned()),
        },
        "open" => {
            if end_of_life {
                affected.status = AffectedStatus::WillNotFix;
                affected.note = Some(nodsa.unwrap_or("end-of-life").to_owned());
                affected.ranges.push(fixed_range(None));
            } else if let Some(version) = fixed.filter(|&v| v != "0") {
                // Fixed in a version that has not reached the release's
                // repositories yet: a fix exists.
                validate(version)?;
                affected.ranges.push(fixed_range(Some(version)));
                affected.note = nodsa.map(str::to_owned);
            } else {
                affected.status = match (reason, nodsa) {
                    ("ignored", _) => AffectedStatus::WillNotFix,
                    ("postponed", _) => AffectedStatus::Postponed,
                    (_, Some(_)) => AffectedStatus::WillNotFix,
                    _ => AffectedStatus::Unfixed,
                };
                affected.note = match (reason, nodsa) {
                    ("ignored" | "postponed", note) => note.map(str::to_owned),
                    (_, Some(note)) => Some(format!("no-dsa: {note}")),
                    _ => None,
                };
                affected.ranges.push(fixed_range(None));
            }
        }
        "undetermined" => {
            affected.status = AffectedStatus::Unfixed;
            affected.note = Some("undetermined".to_owned());
            affected.ranges.push(fixed_range(None));
        }
        other => return Err(format!("unknown status `{other}`")),
    }
    Ok(affected)
}

/// Checks a version as dpkg parses it, and as Debian policy spells it: dpkg
/// only warns about an upstream part that does not start with a digit or
/// has characters outside `A-Za-z0-9.+~-:`, but such a string is a typo in
/// the list (`kernel-image-2.4.17-ia64` written as the version).
fn validate(version: &str) -> Result<(), String> {
    let invalid = |reason: String| format!("invalid version `{version}`: {reason}");
    let parsed = version
        .parse::<DebVersion>()
        .map_err(|e| invalid(e.to_string()))?;
    if !parsed.upstream().starts_with(|c: char| c.is_ascii_digit()) {
        return Err(invalid(
            "upstream version does not start with a digit".to_owned(),
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '-' | ':');
    if !parsed.upstream().chars().all(allowed) || !parsed.revision().chars().all(allowed) {
        return Err(invalid("character not allowed in a version".to_owned()));
    }
    Ok(())
}

/// `introduced 0` and, when there is one, `fixed`.
fn fixed_range(fixed: Option<&str>) -> OsvRange {
    let mut events = vec![OsvEvent::Introduced("0".to_owned())];
    events.extend(fixed.map(|v| OsvEvent::Fixed(v.to_owned())));
    OsvRange {
        kind: OsvRangeKind::Ecosystem,
        events,
    }
}

/// One advisory of a list being read.
struct ListRecord {
    advisory: Advisory,
    aliases: BTreeSet<String>,
    /// False once the header was found malformed: its lines are skipped.
    valid: bool,
}

/// Parses `data/DSA/list` or `data/DLA/list`. Units: the ID prefix (`DSA`,
/// `DLA`, `DTSA`).
pub(crate) fn parse_list(source: &str, path: &str, bytes: &[u8], out: &mut Parsed) {
    let text = String::from_utf8_lossy(bytes);
    let mut current: Option<ListRecord> = None;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with('[') {
            finish(current.take(), out);
            current = Some(list_header(source, path, line, line_no, out));
            continue;
        }
        let Some(record) = current.as_mut() else {
            out.warn(
                source,
                path,
                Some(&format!("line {line_no}")),
                "line before the first advisory",
            );
            continue;
        };
        if !record.valid {
            continue;
        }
        let body = line.trim();
        if let Some(ids) = body.strip_prefix('{') {
            let ids = ids.strip_suffix('}').unwrap_or(ids);
            record
                .aliases
                .extend(ids.split_whitespace().map(str::to_owned));
        } else if body.starts_with('[') {
            match list_affected(body) {
                Ok(affected) => record.advisory.affected.push(affected),
                Err(reason) => {
                    let id = format!("{} line {line_no}", record.advisory.id);
                    out.warn(source, path, Some(&id), reason);
                }
            }
        } else if !body.starts_with("NOTE:") {
            let id = format!("{} line {line_no}", record.advisory.id);
            out.warn(
                source,
                path,
                Some(&id),
                format!("unrecognised line `{body}`"),
            );
        }
    }
    finish(current, out);
}

fn finish(record: Option<ListRecord>, out: &mut Parsed) {
    let Some(mut record) = record.filter(|r| r.valid) else {
        return;
    };
    record.aliases.remove(&record.advisory.id);
    record.advisory.aliases = record.aliases.into_iter().collect();
    out.advisories.push(record.advisory);
}

/// `[29 Mar 2023] DSA-5380-1 xorg-server - security update`
fn list_header(
    source: &str,
    path: &str,
    line: &str,
    line_no: usize,
    out: &mut Parsed,
) -> ListRecord {
    let parsed = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map(|(date, rest)| {
            let rest = rest.trim();
            let (id, summary) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            (date, id, summary)
        });
    let Some((date, id, summary)) = parsed.filter(|(_, id, _)| is_list_id(id)) else {
        out.warn(
            source,
            path,
            Some(&format!("line {line_no}")),
            format!("malformed advisory header `{line}`"),
        );
        return ListRecord {
            advisory: Advisory::new("", source),
            aliases: BTreeSet::new(),
            valid: false,
        };
    };
    out.count(id.split('-').next().unwrap_or(id));
    let mut advisory = Advisory::new(id, source);
    let summary = summary.split_whitespace().collect::<Vec<_>>().join(" ");
    advisory.summary = (!summary.is_empty()).then_some(summary);
    advisory
        .references
        .push(format!("https://security-tracker.debian.org/tracker/{id}"));
    let valid = match normalize_date(date) {
        Some(date) => {
            out.saw_date(&date);
            advisory.published = Some(date);
            true
        }
        None => {
            out.warn(source, path, Some(id), format!("invalid date `{date}`"));
            false
        }
    };
    ListRecord {
        advisory,
        aliases: BTreeSet::new(),
        valid,
    }
}

/// `DSA-5380-1`, `DLA-3193-2`, and the old `DSA-1304` without a revision.
fn is_list_id(id: &str) -> bool {
    let mut parts = id.split('-');
    let prefix = parts.next().unwrap_or_default();
    let numbers: Vec<&str> = parts.collect();
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_uppercase())
        && (1..=2).contains(&numbers.len())
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `[bullseye] - xorg-server 2:1.20.11-1+deb11u6`, `[woody] - foo <not-affected> (reason)`,
/// `[sarge] - sudo 1.6.8p7-1.1sarge1 (bug #123; medium)`.
fn list_affected(body: &str) -> Result<Affected, String> {
    let (codename, rest) = body
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .ok_or_else(|| format!("malformed release line `{body}`"))?;
    let ecosystem = release_ecosystem(codename.trim())
        .ok_or_else(|| format!("unknown release `{codename}`"))?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('-').unwrap_or(rest).trim_start();
    let (package, rest) = rest
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("no version or status in `{body}`"))?;
    let rest = rest.trim_start();
    let (word, comment) = match rest.find('(') {
        Some(open) => rest.split_at(open),
        None => (rest, ""),
    };
    let word = word.trim();
    let comment = comment.trim();
    let comment = comment.strip_prefix('(').unwrap_or(comment);
    let comment = comment.strip_suffix(')').unwrap_or(comment);
    // The comment mixes bug numbers, notes and an urgency: `bug #1; medium`.
    let mut severity = None;
    let mut notes = Vec::new();
    for part in comment.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match SeverityLevel::parse_word(part) {
            Some(level) if level != SeverityLevel::Unknown && severity.is_none() => {
                severity = Some(level);
            }
            _ => notes.push(part),
        }
    }
    let note = (!notes.is_empty()).then(|| notes.join("; "));

    let mut affected = Affected::new(ecosystem, package);
    affected.severity = severity;
    affected.note = note;
    if let Some(tag) = word.strip_prefix('<') {
        let tag = tag
            .strip_suffix('>')
            .ok_or_else(|| format!("malformed status `{word}`"))?;
        let (status, default_note) = match tag {
            "not-affected" => (AffectedStatus::NotAffected, None),
            "unfixed" => (AffectedStatus::Unfixed, None),
            "end-of-life" => (AffectedStatus::WillNotFix, Some("end-of-life")),
            "no-dsa" => (AffectedStatus::WillNotFix, Some("no-dsa")),
            "ignored" => (AffectedStatus::WillNotFix, Some("ignored")),
            "postponed" => (AffectedStatus::Postponed, None),
            other => return Err(format!("unknown status `<{other}>`")),
        };
        affected.status = status;
        if affected.note.is_none() {
            affected.note = default_note.map(str::to_owned);
        }
        if status != AffectedStatus::NotAffected {
            affected.ranges.push(fixed_range(None));
        }
        return Ok(affected);
    }
    let version = match word.split_whitespace().collect::<Vec<_>>()[..] {
        [version] => version,
        [] => return Err(format!("no version in `{body}`")),
        _ => return Err(format!("invalid version `{word}`: embedded spaces")),
    };
    validate(version)?;
    affected.ranges.push(fixed_range(Some(version)));
    Ok(affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_json(text: &str) -> Parsed {
        let mut out = Parsed::default();
        parse_tracker("debian-tracker", "json", text.as_bytes(), &mut out);
        out
    }

    fn fixed(affected: &Affected) -> Vec<&str> {
        affected.fixed_versions()
    }

    // Shaped as the tracker's export: per-release `status`, `repositories`,
    // `fixed_version`, `urgency`, `nodsa`, `nodsa_reason`.
    const TRACKER: &str = r#"{
      "zlib": {
        "CVE-2023-45853": {
          "description": "MiniZip in zlib through 1.3 has an integer overflow",
          "scope": "local",
          "debianbug": 1054290,
          "releases": {
            "bookworm": {"status": "open", "repositories": {"bookworm": "1:1.2.13.dfsg-1"},
                         "urgency": "unimportant", "nodsa": "contrib/minizip not built",
                         "nodsa_reason": "ignored"},
            "bullseye": {"status": "open", "repositories": {"bullseye": "1:1.2.11.dfsg-2+deb11u2"},
                         "urgency": "low", "nodsa": "Minor issue", "nodsa_reason": "postponed"},
            "buster": {"status": "open", "repositories": {"buster": "1:1.2.11.dfsg-1+deb10u2"},
                       "urgency": "end-of-life", "nodsa": "", "nodsa_reason": ""},
            "trixie": {"status": "resolved", "repositories": {"trixie": "1:1.3.dfsg-3.1"},
                       "fixed_version": "1:1.3.dfsg-3.1", "urgency": "unimportant"},
            "sid": {"status": "resolved", "repositories": {"sid": "1:1.3.dfsg-3.1"},
                    "fixed_version": "1:1.3.dfsg-3.1", "urgency": "unimportant"}
          }
        },
        "TEMP-0000000-0A2E1B": {
          "description": "zlib issue without a CVE",
          "releases": {
            "bookworm": {"status": "open", "urgency": "not yet assigned", "nodsa": "Minor issue"},
            "bullseye": {"status": "undetermined", "urgency": "not yet assigned"},
            "trixie": {"status": "open", "urgency": "medium**"},
            "hamm": {"status": "resolved", "fixed_version": "0", "urgency": "high"},
            "experimental": {"status": "open", "urgency": "high"}
          }
        }
      },
      "openssl": {
        "CVE-2023-0286": {
          "description": "X.400 address type confusion",
          "releases": {
            "bookworm": {"status": "resolved", "fixed_version": "0", "urgency": "not yet assigned"},
            "bullseye": {"status": "resolved", "fixed_version": "1.1.1n-0+deb11u4", "urgency": "high"},
            "buster": {"status": "resolved", "fixed_version": "1.1.1n-0+deb10u!", "urgency": "high"},
            "stretch": {"status": 7}
          }
        },
        "CVE-2023-9999": ["not", "an", "object"]
      },
      "broken": "nope"
    }"#;

    #[test]
    fn tracker_statuses_map_to_the_model() {
        let out = parse_json(TRACKER);
        assert_eq!(out.records.get("tracker CVE entries"), Some(&4));
        assert_eq!(out.advisories.len(), 3);

        let zlib = &out.advisories[1];
        assert_eq!(zlib.id, "CVE-2023-45853");
        assert_eq!(zlib.source, "debian-tracker");
        assert_eq!(
            zlib.summary.as_deref(),
            Some("MiniZip in zlib through 1.3 has an integer overflow")
        );
        assert!(
            zlib.references
                .contains(&"https://bugs.debian.org/1054290".to_owned())
        );
        let by_eco = |adv: &Advisory, eco: &str| {
            adv.affected
                .iter()
                .find(|a| a.ecosystem == eco)
                .cloned()
                .unwrap_or_else(|| panic!("no {eco}"))
        };
        let bookworm = by_eco(zlib, "Debian:12");
        assert_eq!(bookworm.package, "zlib");
        assert_eq!(bookworm.status, AffectedStatus::WillNotFix);
        assert_eq!(bookworm.note.as_deref(), Some("contrib/minizip not built"));
        assert_eq!(bookworm.severity, Some(SeverityLevel::Negligible));
        assert!(fixed(&bookworm).is_empty());
        let bullseye = by_eco(zlib, "Debian:11");
        assert_eq!(bullseye.status, AffectedStatus::Postponed);
        assert_eq!(bullseye.note.as_deref(), Some("Minor issue"));
        assert_eq!(bullseye.severity, Some(SeverityLevel::Low));
        let buster = by_eco(zlib, "Debian:10");
        assert_eq!(buster.status, AffectedStatus::WillNotFix);
        assert_eq!(buster.note.as_deref(), Some("end-of-life"));
        assert_eq!(buster.severity, None);
        let trixie = by_eco(zlib, "Debian:13");
        assert_eq!(trixie.status, AffectedStatus::Affected);
        assert_eq!(fixed(&trixie), ["1:1.3.dfsg-3.1"]);
        assert_eq!(
            trixie.ranges[0].events[0],
            OsvEvent::Introduced("0".to_owned())
        );
        assert_eq!(by_eco(zlib, "Debian:sid").status, AffectedStatus::Affected);
        // The advisory-wide rating is the highest urgency.
        assert_eq!(zlib.severities.len(), 1);
        assert_eq!(zlib.severities[0].source, "debian");
        assert_eq!(zlib.severities[0].level, SeverityLevel::Low);

        let temp = &out.advisories[2];
        assert_eq!(temp.id, "TEMP-0000000-0A2E1B");
        let nodsa = by_eco(temp, "Debian:12");
        assert_eq!(nodsa.status, AffectedStatus::WillNotFix);
        assert_eq!(nodsa.note.as_deref(), Some("no-dsa: Minor issue"));
        assert_eq!(nodsa.severity, Some(SeverityLevel::Unknown));
        let undetermined = by_eco(temp, "Debian:11");
        assert_eq!(undetermined.status, AffectedStatus::Unfixed);
        assert_eq!(undetermined.note.as_deref(), Some("undetermined"));
        let open = by_eco(temp, "Debian:13");
        assert_eq!(open.status, AffectedStatus::Unfixed);
        assert_eq!(open.severity, Some(SeverityLevel::Medium));
        assert_eq!(open.ranges.len(), 1);
        assert_eq!(
            by_eco(temp, "Debian:2.0").status,
            AffectedStatus::NotAffected
        );
        assert!(by_eco(temp, "Debian:2.0").ranges.is_empty());

        let openssl = &out.advisories[0];
        assert_eq!(openssl.id, "CVE-2023-0286");
        assert_eq!(
            by_eco(openssl, "Debian:12").status,
            AffectedStatus::NotAffected
        );
        assert_eq!(fixed(&by_eco(openssl, "Debian:11")), ["1.1.1n-0+deb11u4"]);
        // The invalid version, the malformed release and the unknown codename
        // are skipped; the rest is kept.
        assert_eq!(openssl.affected.len(), 2);

        let reasons: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(reasons.len(), 5, "{reasons:#?}");
        assert!(reasons.iter().any(|r| r.contains("openssl CVE-2023-0286")
            && r.contains("release `buster`: invalid version `1.1.1n-0+deb10u!`")));
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("release `stretch` is malformed"))
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("unknown release `experimental`"))
        );
        assert!(reasons.iter().any(|r| r.contains("openssl CVE-2023-9999")));
        assert!(reasons.iter().any(|r| r.contains("broken")));
    }

    #[test]
    fn a_file_that_is_not_an_export_is_one_warning() {
        let out = parse_json("[1, 2]");
        assert!(out.advisories.is_empty());
        assert_eq!(out.warnings.len(), 1);
        let out = parse_json("{\"pkg\": {\"CVE-1\": ");
        assert_eq!(out.warnings.len(), 1);
    }

    const LIST: &str = "\
[29 Mar 2023] DSA-5380-1 xorg-server - security update
\t{CVE-2023-1393}
\t[bullseye] - xorg-server 2:1.20.11-1+deb11u6
[17 Mar 2023] DSA-5356-2 sox - regression update
\t[bullseye] - sox 14.4.2+git20190427-2+deb11u2
[16 Jun 2007] DSA-1304 kernel-source-2.6.8 - several
        { CVE-2006-0467 CVE-2006-0351 CVE-2006-0467 }
\t[woody] - spamassassin <not-affected> (not vulnerable according to DSA)
\t[sarge] - awstats 6.4-1sarge1 (bug #322591; bug #334833; medium)
\t[woody] - phpgroupware <unfixed> (high)
\t[etch] - mozilla <end-of-life>
\t[woody] - kernel-image-2.4.17-ia64 kernel-image-2.4.17-ia64
\t[hurd] - foo 1.0-1
\tNOTE: fixed in testing at time of DSA
\tsomething else
[99 Foo 2023] DLA-1-1 foo - security update
\t[buster] - foo 1.0-1
[01 Apr 2023] DLA-3380-1 firmware-nonfree - security update
\t{CVE-2020-12362 CVE-2020-12363}
\t[buster] - firmware-nonfree 20190114+really20220913-0+deb10u1
[01 Apr 2023] not an id
";

    #[test]
    fn list_records_and_release_lines() {
        let mut out = Parsed::default();
        parse_list("debian-dsa", "data/DSA/list", LIST.as_bytes(), &mut out);
        assert_eq!(out.records.get("DSA"), Some(&3));
        assert_eq!(out.records.get("DLA"), Some(&2));
        let ids: Vec<&str> = out.advisories.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["DSA-5380-1", "DSA-5356-2", "DSA-1304", "DLA-3380-1"]);
        assert_eq!(out.snapshot.as_deref(), Some("2023-04-01T00:00:00Z"));

        let dsa = &out.advisories[0];
        assert_eq!(dsa.aliases, ["CVE-2023-1393"]);
        assert_eq!(dsa.published.as_deref(), Some("2023-03-29T00:00:00Z"));
        assert_eq!(
            dsa.summary.as_deref(),
            Some("xorg-server - security update")
        );
        assert_eq!(dsa.affected.len(), 1);
        assert_eq!(dsa.affected[0].ecosystem, "Debian:11");
        assert_eq!(dsa.affected[0].package, "xorg-server");
        assert_eq!(dsa.affected[0].status, AffectedStatus::Affected);
        assert_eq!(fixed(&dsa.affected[0]), ["2:1.20.11-1+deb11u6"]);
        assert!(out.advisories[1].aliases.is_empty());

        let old = &out.advisories[2];
        assert_eq!(old.aliases, ["CVE-2006-0351", "CVE-2006-0467"]);
        assert_eq!(old.affected.len(), 4);
        assert_eq!(old.affected[0].ecosystem, "Debian:3.0");
        assert_eq!(old.affected[0].status, AffectedStatus::NotAffected);
        assert_eq!(
            old.affected[0].note.as_deref(),
            Some("not vulnerable according to DSA")
        );
        assert!(old.affected[0].ranges.is_empty());
        assert_eq!(old.affected[1].ecosystem, "Debian:3.1");
        assert_eq!(fixed(&old.affected[1]), ["6.4-1sarge1"]);
        assert_eq!(old.affected[1].severity, Some(SeverityLevel::Medium));
        assert_eq!(
            old.affected[1].note.as_deref(),
            Some("bug #322591; bug #334833")
        );
        assert_eq!(old.affected[2].status, AffectedStatus::Unfixed);
        assert_eq!(old.affected[2].severity, Some(SeverityLevel::High));
        assert_eq!(old.affected[3].ecosystem, "Debian:4");
        assert_eq!(old.affected[3].status, AffectedStatus::WillNotFix);
        assert_eq!(old.affected[3].note.as_deref(), Some("end-of-life"));

        let reasons: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(reasons.len(), 5, "{reasons:#?}");
        assert!(
            reasons[0].contains("DSA-1304 line 12")
                && reasons[0].contains("invalid version `kernel-image-2.4.17-ia64`")
        );
        assert!(reasons[1].contains("unknown release `hurd`"));
        assert!(reasons[2].contains("unrecognised line `something else`"));
        assert!(reasons[3].contains("DLA-1-1") && reasons[3].contains("invalid date"));
        assert!(reasons[4].contains("line 21") && reasons[4].contains("malformed advisory header"));
    }

    #[test]
    fn list_ids() {
        assert!(is_list_id("DSA-5380-1"));
        assert!(is_list_id("DSA-1304"));
        assert!(is_list_id("DTSA-12-1"));
        assert!(!is_list_id("DSA-"));
        assert!(!is_list_id("dsa-1-1"));
        assert!(!is_list_id("DSA-1-1-1"));
        assert!(!is_list_id("not"));
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "[",
            "[]",
            "[x] ",
            "\t[",
            "\t[bullseye]",
            "\t[bullseye] -",
            "\t{",
            "é\u{0}",
        ] {
            let mut out = Parsed::default();
            parse_list(
                "s",
                "p",
                format!("[01 Apr 2023] DSA-1-1 x\n{text}\n").as_bytes(),
                &mut out,
            );
            parse_list("s", "p", text.as_bytes(), &mut out);
            parse_tracker("s", "p", text.as_bytes(), &mut out);
        }
    }
}
