//! The one error type of the crate: a version or a range that its scheme rejects.

use crate::Scheme;

/// Longest input echoed back in an error message; hostile inputs can be megabytes.
const ECHO_LIMIT: usize = 120;

/// Why a version, a range or a scheme name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The version string is not valid in its scheme.
    #[error("invalid {scheme} version `{version}`: {reason}")]
    InvalidVersion {
        /// Scheme that rejected it.
        scheme: Scheme,
        /// The input, shortened when very long.
        version: String,
        /// What is wrong, in the words of the reference implementation where it has some.
        reason: String,
    },
    /// The range or requirement string is not valid in its scheme's range syntax.
    #[error("invalid {scheme} range `{range}`: {reason}")]
    InvalidRange {
        /// Scheme whose range syntax rejected it.
        scheme: Scheme,
        /// The input, shortened when very long.
        range: String,
        /// What is wrong.
        reason: String,
    },
    /// The scheme name is not one this crate knows.
    #[error(
        "unknown version scheme `{0}`: use one of deb, rpm, apk, pep440, npm, cargo, go, maven, gem, nuget"
    )]
    UnknownScheme(String),
}

impl VersionError {
    pub(crate) fn version(scheme: Scheme, version: &str, reason: impl Into<String>) -> Self {
        VersionError::InvalidVersion {
            scheme,
            version: echo(version),
            reason: reason.into(),
        }
    }

    pub(crate) fn range(scheme: Scheme, range: &str, reason: impl Into<String>) -> Self {
        VersionError::InvalidRange {
            scheme,
            range: echo(range),
            reason: reason.into(),
        }
    }
}

/// Shortens an input for display and makes it one line, so that a message
/// stays readable and `compare_line` output stays one line per input.
fn echo(input: &str) -> String {
    let mut out = String::new();
    for (count, c) in input.chars().enumerate() {
        if count == ECHO_LIMIT {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_multiline_inputs_are_shortened_to_one_line() {
        let long = "1".repeat(500) + "\n";
        let message = VersionError::version(Scheme::Deb, &long, "too long").to_string();
        assert!(!message.contains('\n'));
        assert!(message.len() < 200, "{message}");
        assert!(message.contains('…'));
    }
}
