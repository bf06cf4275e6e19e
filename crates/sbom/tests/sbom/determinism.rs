//! Same input, same bytes; and what the options change.

use portcullis_sbom::{Format, SbomError, WriteOptions, to_string, write};
use serde_json::Value;

use crate::fixture;

fn json(sbom: &portcullis_types::Sbom, format: Format, options: &WriteOptions) -> Value {
    serde_json::from_str(&to_string(sbom, format, options).unwrap()).unwrap()
}

#[test]
fn same_input_gives_same_bytes_whatever_the_package_order() {
    let sbom = fixture::mixed();
    let mut reversed = sbom.clone();
    reversed.packages.reverse();
    for format in Format::ALL {
        for options in [WriteOptions::default(), fixture::timestamped()] {
            let first = to_string(&sbom, format, &options).unwrap();
            assert_eq!(
                first,
                to_string(&sbom, format, &options).unwrap(),
                "{format}"
            );
            assert_eq!(
                first,
                to_string(&reversed, format, &options).unwrap(),
                "{format}"
            );
            let mut written = Vec::new();
            write(&sbom, format, &options, &mut written).unwrap();
            assert_eq!(
                first.as_bytes(),
                written,
                "{format}: write and to_string agree"
            );
            assert!(first.ends_with("}\n"), "{format}: one trailing newline");
        }
    }
}

#[test]
fn derived_serial_follows_the_inventory_not_the_clock() {
    let options = WriteOptions::default();
    let cdx = |sbom| json(sbom, Format::CycloneDx, &options)["serialNumber"].clone();
    let mixed = fixture::mixed();
    let serial = cdx(&mixed);
    let serial = serial.as_str().unwrap();
    assert!(serial.starts_with("urn:uuid:"), "{serial}");
    let uuid = serial.trim_start_matches("urn:uuid:");
    // Name-based, version 5.
    assert_eq!(uuid.as_bytes()[14], b'5', "{uuid}");
    let empty = fixture::empty();
    assert_ne!(cdx(&empty).as_str(), Some(serial));
    let later = json(&mixed, Format::CycloneDx, &fixture::timestamped());
    assert_eq!(later["serialNumber"].as_str(), Some(serial));
    let mut changed = mixed.clone();
    changed.packages[0].version.push_str("-rebuilt");
    assert_ne!(
        cdx(&changed).as_str(),
        Some(serial),
        "another inventory, another serial"
    );
    // The SPDX namespace carries the same UUID.
    let spdx = json(&mixed, Format::Spdx, &options);
    let namespace = spdx["documentNamespace"].as_str().unwrap();
    assert!(namespace.ends_with(uuid), "{namespace}");
}

#[test]
fn explicit_serial_and_timestamp_are_used() {
    let options = WriteOptions {
        timestamp: Some("2025-01-02T03:04:05.678+00:00".into()),
        serial: Some("urn:uuid:5B8D0C4E-4A1F-4C1B-9A43-2F4F3D2B9E11".into()),
        include_files: false,
    };
    let cdx = json(&fixture::mixed(), Format::CycloneDx, &options);
    assert_eq!(
        cdx["serialNumber"],
        "urn:uuid:5b8d0c4e-4a1f-4c1b-9a43-2f4f3d2b9e11"
    );
    assert_eq!(cdx["metadata"]["timestamp"], "2025-01-02T03:04:05Z");
    let spdx = json(&fixture::mixed(), Format::Spdx, &options);
    assert_eq!(spdx["creationInfo"]["created"], "2025-01-02T03:04:05Z");
    assert!(
        spdx["documentNamespace"]
            .as_str()
            .unwrap()
            .ends_with("-5b8d0c4e-4a1f-4c1b-9a43-2f4f3d2b9e11")
    );
    let native = json(&fixture::mixed(), Format::Json, &options);
    assert_eq!(native["timestamp"], "2025-01-02T03:04:05Z");
}

#[test]
fn without_timestamp_only_spdx_has_a_creation_time_and_it_is_fixed() {
    let options = WriteOptions::default();
    let cdx = json(&fixture::mixed(), Format::CycloneDx, &options);
    assert!(cdx["metadata"].get("timestamp").is_none());
    let native = json(&fixture::mixed(), Format::Json, &options);
    assert!(native.get("timestamp").is_none());
    let spdx = json(&fixture::mixed(), Format::Spdx, &options);
    assert_eq!(spdx["creationInfo"]["created"], "1970-01-01T00:00:00Z");
}

#[test]
fn bad_options_are_errors_that_say_what_to_pass() {
    let options = WriteOptions {
        timestamp: Some("2024-05-01T14:00:00+02:00".into()),
        ..WriteOptions::default()
    };
    let err = to_string(&fixture::mixed(), Format::Spdx, &options).unwrap_err();
    assert!(matches!(err, SbomError::InvalidTimestamp(_)));
    assert_eq!(
        err.to_string(),
        "timestamp `2024-05-01T14:00:00+02:00` is not an RFC 3339 time in UTC; \
         pass one such as `2024-05-01T12:00:00Z`"
    );
    let options = WriteOptions {
        serial: Some("42".into()),
        ..WriteOptions::default()
    };
    let err = to_string(&fixture::mixed(), Format::CycloneDx, &options).unwrap_err();
    assert!(matches!(err, SbomError::InvalidSerial(_)), "{err}");
}

#[test]
fn files_are_listed_only_when_asked() {
    let sbom = fixture::mixed();
    let file_property = "portcullis:package:file";
    for format in Format::ALL {
        let without = to_string(&sbom, format, &WriteOptions::default()).unwrap();
        assert!(!without.contains("/usr/lib64/libssl.so.3"), "{format}");
        let with = WriteOptions {
            include_files: true,
            ..WriteOptions::default()
        };
        let with = to_string(&sbom, format, &with).unwrap();
        assert!(with.contains("/usr/lib64/libssl.so.3"), "{format}");
        if format != Format::Json {
            assert!(with.contains(file_property), "{format}");
        }
    }
}

#[test]
fn io_errors_name_the_format() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let err = write(
        &fixture::empty(),
        Format::Spdx,
        &WriteOptions::default(),
        &mut Broken,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "failed to write the spdx SBOM");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "disk full"
    );
}
