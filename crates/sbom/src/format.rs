use std::fmt;
use std::str::FromStr;

/// An SBOM output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// portcullis's own JSON, the serde form of the model (see `FORMAT.md`).
    Json,
    /// CycloneDX 1.6 JSON.
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
}

impl Format {
    /// Every format, in the order `--help` texts list them.
    pub const ALL: [Format; 3] = [Format::Json, Format::CycloneDx, Format::Spdx];

    /// The canonical name, as accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::CycloneDx => "cyclonedx",
            Format::Spdx => "spdx",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown SBOM format `{0}`; expected one of json, cyclonedx (cyclonedx-json), spdx (spdx-json)"
)]
pub struct ParseFormatError(pub String);

impl FromStr for Format {
    type Err = ParseFormatError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(Format::Json),
            "cyclonedx" | "cyclonedx-json" => Ok(Format::CycloneDx),
            "spdx" | "spdx-json" => Ok(Format::Spdx),
            _ => Err(ParseFormatError(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.to_string().parse::<Format>(), Ok(format));
        }
    }

    #[test]
    fn accepts_aliases_in_any_case() {
        assert_eq!("cyclonedx-json".parse(), Ok(Format::CycloneDx));
        assert_eq!("SPDX-JSON".parse(), Ok(Format::Spdx));
        assert_eq!("Json".parse(), Ok(Format::Json));
    }

    #[test]
    fn refuses_unknown_names_and_names_them() {
        let err = "syft-json".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("`syft-json`"), "{err}");
    }
}
