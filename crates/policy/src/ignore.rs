//! The ignore file: findings a team has decided to accept for a while, each
//! with a reason and an expiry.
//!
//! ```yaml
//! version: 1
//! ignores:
//!   - id: CVE-2023-4911            # the finding's ID or any alias (GHSA-…, DSA-…), any case
//!     package: pkg:deb/debian/libc6 # optional: a purl (qualifiers ignored) or a package name
//!     version: 2.36-9+deb12u3       # optional: the package version, exactly
//!     reason: not reachable, we never run setuid binaries
//!     expires: 2026-12-01           # a date (stops applying at 00:00:00Z that day) or RFC 3339
//!     owner: platform-team          # optional
//! ```
//!
//! Unknown fields are errors, as are a missing or empty `reason` and an `expires`
//! that is neither a date nor an RFC 3339 timestamp; every error names the file,
//! line and column and says what to write instead. A package name matches the
//! binary package or its source package (`glibc` covers `libc6` and `libc-bin`);
//! `version` is then compared with the version of whichever of the two matched.
//!
//! An entry applies strictly before its expiry instant and never at or after it:
//! a plain date is the stricter reading, midnight UTC at the *start* of that day.

use crate::located::located;
use std::fmt;
use std::path::Path;

use portcullis_types::Finding;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_saphyr::Spanned;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time, UtcOffset};

use crate::purl::PackageUrl;

/// The only format version this crate reads.
pub const IGNORE_FILE_VERSION: u32 = 1;

/// A parsed ignore file: its entries in file order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IgnoreFile {
    /// The name the file was parsed under (its path), used in messages.
    pub source: String,
    pub entries: Vec<IgnoreEntry>,
}

/// One accepted vulnerability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoreEntry {
    /// A vulnerability ID or alias, as written.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageConstraint>,
    pub reason: String,
    pub expires: Expiry,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The line of the entry's `id` in its file, so that reports can point at it.
    pub line: u64,
}

/// Which package an entry is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageConstraint {
    /// As written in the file.
    pub package: String,
    /// The exact version required, from `version:` or from the purl.
    pub version: Option<String>,
    purl: Option<PackageUrl>,
}

impl Serialize for PackageConstraint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("package", &self.package)?;
        if let Some(version) = &self.version {
            map.serialize_entry("version", version)?;
        }
        map.end()
    }
}

/// When an entry stops applying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    /// As written in the file (`2026-12-01`, `2026-12-01T12:00:00+02:00`).
    pub text: String,
    /// The first instant at which the entry no longer applies.
    pub at: OffsetDateTime,
}

impl Expiry {
    /// Parse a date (`YYYY-MM-DD`, meaning 00:00:00Z that day) or an RFC 3339 timestamp.
    pub fn parse(text: &str) -> Result<Expiry, String> {
        let trimmed = text.trim();
        let date_format = format_description!("[year]-[month]-[day]");
        let at = if let Ok(date) = Date::parse(trimmed, date_format) {
            date.with_time(Time::MIDNIGHT).assume_utc()
        } else if let Ok(at) = OffsetDateTime::parse(trimmed, &Rfc3339) {
            at.to_offset(UtcOffset::UTC)
        } else {
            return Err(format!(
                "invalid expiry `{trimmed}`: write a date such as `2026-12-01` (the entry stops \
                 applying at 00:00 UTC that day) or an RFC 3339 timestamp such as \
                 `2026-12-01T12:00:00Z`"
            ));
        };
        Ok(Expiry {
            text: trimmed.to_owned(),
            at,
        })
    }

    /// The expiry instant in RFC 3339, UTC.
    pub fn instant(&self) -> String {
        self.at
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.text.clone())
    }
}

impl Serialize for Expiry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.instant())
    }
}

impl<'de> Deserialize<'de> for Expiry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpiryVisitor;
        impl Visitor<'_> for ExpiryVisitor {
            type Value = Expiry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date such as 2026-12-01 or an RFC 3339 timestamp")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expiry, E> {
                Expiry::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(ExpiryVisitor)
    }
}

/// What an ignore file says about one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreOutcome<'a> {
    /// An entry matches and has not expired: the finding is ignored.
    Applies(&'a IgnoreEntry),
    /// Only expired entries match: the finding stays, and the entry should be reported.
    Expired(&'a IgnoreEntry),
    /// No entry matches.
    None,
}

/// Why an ignore file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error("failed to read ignore file `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid ignore file; `line` and `column` are 1-based, 0 when unknown.
    #[error("{}", located(file, *line, *column, message, hint.as_deref()))]
    Invalid {
        file: String,
        line: u64,
        column: u64,
        message: String,
        hint: Option<String>,
    },
}

impl IgnoreFile {
    /// Parse the YAML text of an ignore file; `name` (usually its path) appears in errors.
    pub fn parse(text: &str, name: &str) -> Result<IgnoreFile, IgnoreError> {
        let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| syntax_error(name, &e))?;
        let raw_entries = raw.ignores.unwrap_or_default();
        let mut entries = Vec::with_capacity(raw_entries.len());
        for entry in raw_entries {
            entries.push(entry.into_entry(name)?);
        }
        Ok(IgnoreFile {
            source: name.to_owned(),
            entries,
        })
    }

    /// Read and parse the ignore file at `path`.
    pub fn from_path(path: &Path) -> Result<IgnoreFile, IgnoreError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| IgnoreError::Read {
            path: name.clone(),
            source,
        })?;
        IgnoreFile::parse(&text, &name)
    }

    /// Whether `finding` is ignored at `now`. A live entry wins over an expired one;
    /// among several, the first in the file.
    pub fn evaluate(&self, finding: &Finding, now: OffsetDateTime) -> IgnoreOutcome<'_> {
        let mut expired = None;
        for entry in self.entries.iter().filter(|e| e.matches(finding)) {
            if entry.is_active(now) {
                return IgnoreOutcome::Applies(entry);
            }
            expired.get_or_insert(entry);
        }
        expired.map_or(IgnoreOutcome::None, IgnoreOutcome::Expired)
    }

    /// Every entry that no longer applies at `now`, in file order, whether or not
    /// any finding matches it.
    pub fn expired_entries(&self, now: OffsetDateTime) -> Vec<&IgnoreEntry> {
        self.entries.iter().filter(|e| !e.is_active(now)).collect()
    }
}

impl IgnoreEntry {
    /// True strictly before the expiry instant.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        now < self.expires.at
    }

    /// True when the entry names the finding's vulnerability (its ID or any alias) and,
    /// if it has a package constraint, the finding's package. Expiry is not considered.
    pub fn matches(&self, finding: &Finding) -> bool {
        let id = self.id.trim();
        let names_vulnerability = std::iter::once(&finding.id)
            .chain(&finding.aliases)
            .any(|candidate| candidate.trim().eq_ignore_ascii_case(id));
        names_vulnerability
            && self
                .package
                .as_ref()
                .is_none_or(|constraint| constraint.matches(finding))
    }
}

impl PackageConstraint {
    fn matches(&self, finding: &Finding) -> bool {
        let package = &finding.package;
        if let Some(pattern) = &self.purl {
            return PackageUrl::parse(&package.purl).is_some_and(|have| pattern.covers(&have));
        }
        let wanted = self.package.trim();
        let version_ok = |have: Option<&str>| {
            self.version
                .as_deref()
                .is_none_or(|want| have == Some(want.trim()))
        };
        (package.name.eq_ignore_ascii_case(wanted) && version_ok(Some(&package.version)))
            || (package
                .source_name
                .as_deref()
                .is_some_and(|source| source.eq_ignore_ascii_case(wanted))
                && version_ok(package.source_version.as_deref()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// Checked while parsing; its value carries nothing further.
    #[allow(dead_code, reason = "validated by its Deserialize impl")]
    version: FormatVersion,
    /// `ignores:` with nothing after it is an empty list.
    #[serde(default)]
    ignores: Option<Vec<RawEntry>>,
}

struct FormatVersion;

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = u64::deserialize(deserializer)?;
        if version == u64::from(IGNORE_FILE_VERSION) {
            Ok(FormatVersion)
        } else {
            Err(de::Error::custom(format!(
                "unsupported ignore file version {version}: this portcullis reads `version: {IGNORE_FILE_VERSION}`"
            )))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<NonEmpty>,
    #[serde(default)]
    package: Option<NonEmpty>,
    #[serde(default)]
    version: Option<NonEmpty>,
    reason: NonEmpty,
    expires: Expiry,
    #[serde(default)]
    owner: Option<NonEmpty>,
}

/// A string with something other than whitespace in it.
struct NonEmpty(String);

impl<'de> Deserialize<'de> for NonEmpty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.trim().is_empty() {
            Err(de::Error::custom(
                "empty value: write some text or leave the field out",
            ))
        } else {
            Ok(NonEmpty(text.trim().to_owned()))
        }
    }
}

impl RawEntry {
    fn into_entry(self, file: &str) -> Result<IgnoreEntry, IgnoreError> {
        let line = self.id.referenced.line();
        let column = self.id.referenced.column();
        let version = self.version.map(|v| v.0);
        let package = match self.package {
            None if version.is_some() => {
                return Err(IgnoreError::Invalid {
                    file: file.to_owned(),
                    line,
                    column,
                    message: format!(
                        "ignore of `{}` has a `version` but no `package`",
                        self.id.value.0
                    ),
                    hint: Some(
                        "add `package: NAME` (or a purl) that the version belongs to".to_owned(),
                    ),
                });
            }
            None => None,
            Some(NonEmpty(package)) => {
                let purl = PackageUrl::parse(&package);
                if package.starts_with("pkg:") && purl.is_none() {
                    return Err(IgnoreError::Invalid {
                        file: file.to_owned(),
                        line,
                        column,
                        message: format!("`{package}` is not a valid package URL"),
                        hint: Some(
                            "write `pkg:TYPE/NAMESPACE/NAME[@VERSION]` or a plain package name"
                                .to_owned(),
                        ),
                    });
                }
                let purl_version = purl.as_ref().and_then(|p| p.version.clone());
                if purl_version.is_some() && version.is_some() {
                    return Err(IgnoreError::Invalid {
                        file: file.to_owned(),
                        line,
                        column,
                        message: format!(
                            "ignore of `{}` gives the version twice, in the purl and in `version`",
                            self.id.value.0
                        ),
                        hint: Some(
                            "keep one: either `@VERSION` in the purl or the `version` field"
                                .to_owned(),
                        ),
                    });
                }
                Some(PackageConstraint {
                    version: version.or(purl_version),
                    package,
                    purl,
                })
            }
        };
        Ok(IgnoreEntry {
            id: self.id.value.0,
            package,
            reason: self.reason.0,
            expires: self.expires,
            owner: self.owner.map(|o| o.0),
            line,
        })
    }
}

fn syntax_error(file: &str, error: &serde_saphyr::Error) -> IgnoreError {
    let (line, column, message) = crate::located::yaml_error(error);
    let hint = hint_for(&message);
    IgnoreError::Invalid {
        file: file.to_owned(),
        line,
        column,
        message,
        hint,
    }
}

/// What to write instead, for the mistakes people make.
fn hint_for(message: &str) -> Option<String> {
    let hint = if message.contains("unknown field") {
        "check the spelling: the file takes `version` and `ignores`; each ignore takes `id`, \
         `package`, `version`, `reason`, `expires` and `owner`"
    } else if message.contains("missing field `reason`") {
        "add `reason: …` saying why this finding is acceptable; every ignore needs one"
    } else if message.contains("missing field `expires`") {
        "add `expires: 2026-12-01` (stops applying at 00:00 UTC that day) or an RFC 3339 \
         timestamp; every ignore needs one"
    } else if message.contains("missing field `id`") {
        "add `id: CVE-…` (the finding's ID or any of its aliases)"
    } else if message.contains("missing field `version`") {
        "start the file with `version: 1`"
    } else {
        return None;
    };
    Some(hint.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_date_expires_at_the_start_of_that_day_utc() -> Result<(), String> {
        assert_eq!(
            Expiry::parse("2026-12-01")?.at,
            datetime!(2026-12-01 00:00:00 UTC)
        );
        assert_eq!(
            Expiry::parse("2026-12-01T12:30:00+02:00")?.at,
            datetime!(2026-12-01 10:30:00 UTC)
        );
        assert!(Expiry::parse("2026-13-01").is_err());
        assert!(Expiry::parse("next week").is_err());
        assert!(Expiry::parse("2026-12-01 12:00").is_err());
        Ok(())
    }

    #[test]
    fn an_empty_file_asks_for_a_version() {
        let Err(error) = IgnoreFile::parse("", "empty.yaml") else {
            panic!("an empty file has no version");
        };
        assert!(error.to_string().starts_with("empty.yaml"), "{error}");
    }

    #[test]
    fn a_version_without_a_package_is_rejected() {
        let text = "version: 1\nignores:\n  - id: CVE-1\n    version: '1.0'\n    reason: r\n    expires: 2030-01-01\n";
        let Err(error) = IgnoreFile::parse(text, "i.yaml") else {
            panic!("should be rejected");
        };
        assert!(error.to_string().starts_with("i.yaml:3:9: "), "{error}");
    }
}
