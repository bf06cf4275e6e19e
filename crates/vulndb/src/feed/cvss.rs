//! CVSS vectors to scores and ratings, through the `cvss` crate (v2, v3.0,
//! v3.1 and v4.0 base scores as FIRST specifies them).

use std::str::FromStr;

use portcullis_types::{Severity, SeverityKind, SeverityLevel};

/// The base score of a CVSS vector (`CVSS:3.1/AV:N/…`, `CVSS:4.0/…`, or a bare
/// v2 vector `AV:N/AC:L/Au:N/…`); `None` if the vector does not parse.
pub fn score_vector(vector: &str) -> Option<f32> {
    cvss::Cvss::from_str(vector.trim())
        .ok()
        .map(|c| c.score() as f32)
}

/// A [`Severity`] from `source` for a vector, with its kind, score and level;
/// `None` if the vector does not parse.
pub(crate) fn severity_from_vector(source: &str, vector: &str) -> Option<Severity> {
    let vector = vector.trim();
    let parsed = cvss::Cvss::from_str(vector).ok()?;
    let kind = match parsed {
        cvss::Cvss::CvssV20(_) => SeverityKind::CvssV2,
        cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_) => SeverityKind::CvssV3,
        cvss::Cvss::CvssV40(_) => SeverityKind::CvssV4,
        _ => return None,
    };
    let score = parsed.score() as f32;
    let level = match parsed.severity() {
        cvss::Severity::None => SeverityLevel::Negligible,
        cvss::Severity::Low => SeverityLevel::Low,
        cvss::Severity::Medium => SeverityLevel::Medium,
        cvss::Severity::High => SeverityLevel::High,
        cvss::Severity::Critical => SeverityLevel::Critical,
    };
    Some(Severity {
        source: source.to_owned(),
        kind,
        vector: Some(vector.to_owned()),
        score: Some(score),
        level,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_first_calculators() {
        // Scores as FIRST's calculators give them.
        let v31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
        assert_eq!(score_vector(v31), Some(9.8));
        let s = severity_from_vector("nvd", v31).unwrap();
        assert_eq!(
            (s.kind, s.level),
            (SeverityKind::CvssV3, SeverityLevel::Critical)
        );
        assert_eq!(score_vector("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Some(7.5));
        assert_eq!(
            severity_from_vector("nvd", "AV:N/AC:L/Au:N/C:P/I:P/A:P")
                .unwrap()
                .kind,
            SeverityKind::CvssV2
        );
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(score_vector(v4), Some(9.3));
        assert_eq!(score_vector("CVSS:3.1/nonsense"), None);
    }
}
