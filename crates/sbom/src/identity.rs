//! What names a document: its UUID, the image's display name and the creation time.

use portcullis_types::{ImageInfo, Sbom};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::{SbomError, WriteOptions};

/// SPDX requires a creation time; without one from the caller this fixed value keeps
/// output reproducible (the same convention as `SOURCE_DATE_EPOCH=0`).
pub(crate) const EPOCH: &str = "1970-01-01T00:00:00Z";

/// The identity of one rendered document, derived once and shared by every writer.
#[derive(Debug)]
pub(crate) struct Identity {
    /// The document UUID: given, or name-based (v5) over the inventory.
    pub uuid: Uuid,
    /// How people name the image: its first tag, else the reference, else `image`.
    pub image_name: String,
    /// The caller's timestamp, normalised to `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: Option<String>,
}

impl Identity {
    pub fn new(sbom: &Sbom, options: &WriteOptions) -> Result<Self, SbomError> {
        let timestamp = options
            .timestamp
            .as_deref()
            .map(normalise_timestamp)
            .transpose()?;
        let uuid = match &options.serial {
            Some(serial) => parse_serial(serial)?,
            None => derived_uuid(sbom),
        };
        Ok(Self {
            uuid,
            image_name: image_name(&sbom.image),
            timestamp,
        })
    }

    /// The creation time for formats that require one.
    pub fn created(&self) -> &str {
        self.timestamp.as_deref().unwrap_or(EPOCH)
    }
}

fn image_name(image: &ImageInfo) -> String {
    let name = image
        .tags
        .first()
        .map(String::as_str)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or(image.reference.trim());
    if name.is_empty() {
        "image".to_owned()
    } else {
        name.to_owned()
    }
}

fn parse_serial(serial: &str) -> Result<Uuid, SbomError> {
    let bare = serial.strip_prefix("urn:uuid:").unwrap_or(serial);
    Uuid::try_parse(bare).map_err(|_| SbomError::InvalidSerial(serial.to_owned()))
}

/// A v5 UUID over the image digest and a hash of the whole inventory: two runs on the same
/// image give the same UUID, while a different inventory (another image, a newer cataloger)
/// never reuses one, as CycloneDX requires of serial numbers.
fn derived_uuid(sbom: &Sbom) -> Uuid {
    let image = sbom
        .image
        .manifest_digest
        .as_ref()
        .or(sbom.image.config_digest.as_ref())
        .map(ToString::to_string)
        .unwrap_or_default();
    // The model has only string-keyed maps, so serialisation cannot fail; an empty hash
    // input would still give a valid (if less unique) UUID.
    let content = serde_json::to_vec(sbom).unwrap_or_default();
    let hash = hex::encode(Sha256::digest(&content));
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("portcullis:sbom:{image}:{hash}").as_bytes(),
    )
}

/// Accepts RFC 3339 in UTC (`Z`, `+00:00` or `-00:00`, optional fractional seconds) and
/// returns `YYYY-MM-DDTHH:MM:SSZ`, the only form SPDX 2.3 allows. Other offsets are refused
/// rather than converted, so that the library needs no calendar arithmetic.
fn normalise_timestamp(value: &str) -> Result<String, SbomError> {
    let invalid = || SbomError::InvalidTimestamp(value.to_owned());
    let bytes = value.as_bytes();
    if bytes.len() < 20 || !value.is_ascii() {
        return Err(invalid());
    }
    let (head, tail) = value.split_at(19);
    let head = head.as_bytes();
    let digit_at = |i: usize| head.get(i).is_some_and(u8::is_ascii_digit);
    let digits_ok = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
        .iter()
        .all(|&i| digit_at(i));
    let separators_ok = head.get(4) == Some(&b'-')
        && head.get(7) == Some(&b'-')
        && matches!(head.get(10), Some(b'T' | b't'))
        && head.get(13) == Some(&b':')
        && head.get(16) == Some(&b':');
    if !digits_ok || !separators_ok {
        return Err(invalid());
    }
    let number = |from: usize| {
        let tens = head.get(from).map_or(0, |d| u32::from(d - b'0'));
        let ones = head.get(from + 1).map_or(0, |d| u32::from(d - b'0'));
        tens * 10 + ones
    };
    let (month, day, hour, minute, second) =
        (number(5), number(8), number(11), number(14), number(17));
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(invalid());
    }
    let zone = match tail.strip_prefix('.') {
        Some(rest) => {
            let fraction = rest.bytes().take_while(u8::is_ascii_digit).count();
            if fraction == 0 {
                return Err(invalid());
            }
            &rest[fraction..]
        }
        None => tail,
    };
    if !matches!(zone, "Z" | "z" | "+00:00" | "-00:00") {
        return Err(invalid());
    }
    let mut normalised = String::from_utf8_lossy(head).into_owned();
    normalised.replace_range(10..11, "T");
    normalised.push('Z');
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_normalise_to_spdx_form() {
        for (given, expected) in [
            ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
            ("2024-05-01t12:00:00z", "2024-05-01T12:00:00Z"),
            ("2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00Z"),
            ("2024-05-01T12:00:00+00:00", "2024-05-01T12:00:00Z"),
            ("2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z"),
        ] {
            assert_eq!(normalise_timestamp(given).unwrap(), expected, "{given}");
        }
    }

    #[test]
    fn timestamps_outside_utc_or_malformed_are_refused() {
        for bad in [
            "",
            "2024-05-01",
            "2024-05-01 12:00:00Z",
            "2024-05-01T12:00:00+02:00",
            "2024-13-01T12:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00Zjunk",
            "２０２４-05-01T12:00:00Z",
        ] {
            let err = normalise_timestamp(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn serials_accept_urn_and_bare_forms() {
        let bare = "5b8d0c4e-4a1f-4c1b-9a43-2f4f3d2b9e11";
        assert_eq!(parse_serial(bare).unwrap().to_string(), bare);
        assert_eq!(
            parse_serial(&format!("urn:uuid:{bare}"))
                .unwrap()
                .to_string(),
            bare
        );
        assert!(matches!(
            parse_serial("urn:uuid:nope"),
            Err(SbomError::InvalidSerial(_))
        ));
    }

    #[test]
    fn image_name_prefers_tag_then_reference() {
        let mut image = ImageInfo::default();
        assert_eq!(image_name(&image), "image");
        image.reference = "oci:layout:latest".into();
        assert_eq!(image_name(&image), "oci:layout:latest");
        image.tags = vec!["debian:12".into()];
        assert_eq!(image_name(&image), "debian:12");
    }
}
