#![no_main]
//! Evaluates arbitrary OSV `affected` JSON against arbitrary versions in every scheme.

use libfuzzer_sys::fuzz_target;
use portcullis_version::{OsvAffected, Scheme};

fuzz_target!(|data: &[u8]| {
    let Some((version, json)) = data.split_first() else {
        return;
    };
    let Ok(affected) = serde_json::from_slice::<OsvAffected>(json) else {
        return;
    };
    let version = format!("1.{version}.0");
    for scheme in Scheme::all() {
        let _ = portcullis_version::osv_affected(scheme, &version, &affected);
    }
});
