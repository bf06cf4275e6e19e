//! The native JSON is the serde form of the model: it reads back into the same `Sbom`.

use portcullis_sbom::{Format, WriteOptions, to_string};
use portcullis_types::Sbom;
use serde_json::Value;

use crate::fixture;

fn read_back(text: &str) -> (Value, Sbom) {
    let mut value: Value = serde_json::from_str(text).unwrap();
    let object = value.as_object_mut().unwrap();
    let header = Value::Object(
        ["schemaVersion", "timestamp"]
            .iter()
            .filter_map(|k| object.remove(*k).map(|v| ((*k).to_owned(), v)))
            .collect(),
    );
    (header, serde_json::from_value(value).unwrap())
}

#[test]
fn round_trips_to_the_sorted_model_with_files() {
    let options = WriteOptions {
        include_files: true,
        ..fixture::timestamped()
    };
    for original in [fixture::mixed(), fixture::empty()] {
        let text = to_string(&original, Format::Json, &options).unwrap();
        let (header, sbom) = read_back(&text);
        assert_eq!(header["schemaVersion"], "portcullis.sbom/v1");
        assert_eq!(header["timestamp"], fixture::TIMESTAMP);
        let mut expected = original.clone();
        expected.sort();
        assert_eq!(sbom, expected);
    }
}

#[test]
fn files_are_dropped_by_default_and_nothing_else() {
    let text = to_string(&fixture::mixed(), Format::Json, &WriteOptions::default()).unwrap();
    let (header, sbom) = read_back(&text);
    assert!(header.get("timestamp").is_none());
    let mut expected = fixture::mixed();
    expected.sort();
    for package in &mut expected.packages {
        package.files.clear();
    }
    assert_eq!(sbom, expected);
}
