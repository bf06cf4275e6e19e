//! Text shared by the renderers: the target a finding belongs to, escaping
//! for XML, HTML, Markdown and terminals, the checks that keep hostile
//! strings out of URL and date fields, and content-derived identifiers.

use sha2::{Digest as _, Sha256};

use portcullis_types::{Finding, Severity, SeverityKind, SeverityLevel};

/// The block a finding is listed under: the OS packages, or the file that
/// language packages were found in.
pub fn target(f: &Finding) -> String {
    if f.package.ecosystem.is_os() {
        "OS packages".to_owned()
    } else {
        f.package
            .found_in
            .first()
            .cloned()
            .unwrap_or_else(|| f.package.ecosystem.to_string())
    }
}

/// The finding's title: the first line of its summary, if any.
pub fn title(f: &Finding) -> Option<&str> {
    f.summary
        .as_deref()
        .and_then(|s| s.lines().map(str::trim).find(|l| !l.is_empty()))
}

/// `s` cut to at most `max` characters, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text safe to print on a terminal: control characters (escape sequences
/// included) become `�`, so that advisory text cannot move the cursor or
/// recolour the screen.
pub fn terminal_safe(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\n' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for XML 1.0 content and quoted attribute values. Characters
/// XML cannot carry at all (most C0 controls, U+FFFE, U+FFFF) become `�`;
/// in attributes, newlines and tabs are kept as character references.
pub fn escape_xml(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for Markdown, so that advisory text shows as written and
/// cannot add links, HTML or table cells.
pub fn escape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '!' | '|'
            | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// True when `s` is an `http`/`https` URL made only of characters a URI may
/// contain: the only references that are linked or put in URL fields.
pub fn is_web_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && rest.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(
                        c,
                        '-' | '.'
                            | '_'
                            | '~'
                            | ':'
                            | '/'
                            | '?'
                            | '#'
                            | '@'
                            | '!'
                            | '$'
                            | '&'
                            | '\''
                            | '('
                            | ')'
                            | '*'
                            | '+'
                            | ','
                            | ';'
                            | '='
                            | '%'
                    )
            })
            && percent_escapes_are_valid(rest)
    })
}

fn percent_escapes_are_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// A relative URI reference for a path: unreserved characters and `/` kept,
/// every other byte percent-encoded.
pub fn path_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// True when `s` is an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS`, optional
/// fraction, then `Z` or `±HH:MM`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return false;
    }
    let number = |range: std::ops::Range<usize>| {
        s.get(range)
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(99)
    };
    let (month, day) = (number(5..7), number(8..10));
    let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return false;
    }
    if second > 60 {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let len = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if len == 0 {
            return false;
        }
        rest = &fraction[len..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && number_of(*h1, *h2) <= 23
                && number_of(*m1, *m2) <= 59
        }
        _ => false,
    }
}

fn number_of(tens: u8, ones: u8) -> u32 {
    u32::from(tens - b'0') * 10 + u32::from(ones - b'0')
}

/// SHA-256 over `parts`, each followed by a NUL, as lowercase hex.
pub fn content_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

/// A UUID (RFC 9562 version 8, "custom") derived from `parts`: the same
/// parts always give the same UUID.
pub fn content_uuid(parts: &[&str]) -> String {
    let hash = content_hash(parts);
    let h = hash.as_bytes();
    let text = |range: std::ops::Range<usize>| String::from_utf8_lossy(&h[range]).into_owned();
    // Version nibble 8; variant bits 10xx.
    let variant = match h[16] {
        b'0' | b'4' | b'8' | b'c' => '8',
        b'1' | b'5' | b'9' | b'd' => '9',
        b'2' | b'6' | b'a' | b'e' => 'a',
        _ => 'b',
    };
    format!(
        "{}-{}-8{}-{variant}{}-{}",
        text(0..8),
        text(8..12),
        text(13..16),
        text(17..20),
        text(20..32)
    )
}

/// The CVSS ratings of a finding, best first: [`Finding::cvss`] and then
/// every other scored rating, each once.
pub fn cvss_ratings(f: &Finding) -> Vec<&Severity> {
    let mut out: Vec<&Severity> = f.cvss.iter().collect();
    for s in &f.severities {
        if s.kind != SeverityKind::Rating && !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The best CVSS base score known for a finding.
pub fn best_score(f: &Finding) -> Option<f32> {
    cvss_ratings(f)
        .into_iter()
        .filter_map(|s| s.score)
        .filter(|s| s.is_finite() && (0.0..=10.0).contains(s))
        .reduce(f32::max)
}

/// A score standing for a severity word when no CVSS score is known (the
/// middle of the word's CVSS v3 band).
pub fn level_score(level: SeverityLevel) -> f32 {
    match level {
        SeverityLevel::Critical => 9.5,
        SeverityLevel::High => 8.0,
        SeverityLevel::Medium => 5.5,
        SeverityLevel::Low => 2.0,
        SeverityLevel::Negligible | SeverityLevel::Unknown => 0.0,
    }
}

/// The CVSS method name of a rating: `CVSS 3.1`, `CVSS 2.0`, or the source's word.
pub fn rating_method(s: &Severity) -> &'static str {
    match s.kind {
        SeverityKind::CvssV2 => "CVSS 2.0",
        SeverityKind::CvssV3
            if s.vector
                .as_deref()
                .is_some_and(|v| v.starts_with("CVSS:3.0")) =>
        {
            "CVSS 3.0"
        }
        SeverityKind::CvssV3 => "CVSS 3.1",
        SeverityKind::CvssV4 => "CVSS 4.0",
        SeverityKind::Rating => "rating",
    }
}

/// What to do about a finding, in one sentence.
pub fn solution(f: &Finding) -> String {
    if f.fixable() {
        format!(
            "Upgrade {} from {} to {}.",
            f.package.name,
            f.package.version,
            f.fixed_versions.join(" or ")
        )
    } else {
        format!(
            "No fixed version is known (vendor status: {}).",
            f.status.as_str().replace('_', " ")
        )
    }
}

/// An `f32` as a JSON number with its shortest decimal form (`9.8`, not
/// `9.800000190734863`); non-finite values become `null`.
pub fn json_number(x: f32) -> serde_json::Value {
    if !x.is_finite() {
        return serde_json::Value::Null;
    }
    x.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// The EPSS probability as a percentage with two decimals: `97.53%`.
pub fn epss_percent(score: f32) -> String {
    format!("{:.2}%", score.clamp(0.0, 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_markup_or_other_schemes_are_not_urls() {
        assert!(is_web_url("https://example.invalid/a?b=c#d"));
        assert!(is_web_url("http://example.invalid/%20x"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("https://example.invalid/<script>"));
        assert!(!is_web_url("https://example.invalid/a b"));
        assert!(!is_web_url("https://example.invalid/%zz"));
        assert!(!is_web_url("https://"));
    }

    #[test]
    fn date_times_are_checked_field_by_field() {
        assert!(is_rfc3339("2024-03-01T10:00:00Z"));
        assert!(is_rfc3339("2024-03-01T10:00:00.123+02:00"));
        assert!(!is_rfc3339("2024-03-01"));
        assert!(!is_rfc3339("2024-13-01T10:00:00Z"));
        assert!(!is_rfc3339("2024-03-01T10:00:00"));
        assert!(!is_rfc3339("2024-03-01T10:00:00.Z"));
        assert!(!is_rfc3339("yesterday at noon, roughly"));
    }

    #[test]
    fn escapes_neutralise_markup_and_controls() {
        assert_eq!(
            escape_html("<script>\"x\"&'y'</script>"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(escape_xml("a\u{0}b\nc", true), "a\u{fffd}b&#10;c");
        assert_eq!(escape_xml("a\u{1b}b\nc", false), "a\u{fffd}b\nc");
        assert_eq!(
            escape_markdown("[x](javascript:y) <b>"),
            "\\[x\\]\\(javascript:y\\) &lt;b&gt;"
        );
        assert_eq!(terminal_safe("a\u{1b}[31mb"), "a\u{fffd}[31mb");
        assert_eq!(path_uri("/usr/lib/a b/ü"), "/usr/lib/a%20b/%C3%BC");
    }

    #[test]
    fn derived_uuids_are_stable_and_well_formed() {
        let a = content_uuid(&["CVE-1", "pkg:deb/debian/x@1"]);
        assert_eq!(a, content_uuid(&["CVE-1", "pkg:deb/debian/x@1"]));
        assert_ne!(a, content_uuid(&["CVE-1", "pkg:deb/debian/x@2"]));
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'8');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    }
}
