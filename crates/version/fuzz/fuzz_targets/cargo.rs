#![no_main]
//! Parses, compares and range-checks arbitrary input as cargo versions: it must never panic.

use libfuzzer_sys::fuzz_target;
use portcullis_version::Scheme;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\t').unwrap_or((text, "1.0"));
    let _ = portcullis_version::compare(Scheme::Cargo, a, b);
    let _ = portcullis_version::satisfies(Scheme::Cargo, a, b);
    let _ = portcullis_version::compare_line(Scheme::Cargo, text);
});
