//! The dependency list `cargo auditable` embeds in the `.dep-v0` section (the summary
//! holds it decompressed): `{"packages": [{"name", "version", "source", "kind",
//! "dependencies", "root"}], "format": 1}`.

use serde::Deserialize;

/// One crate compiled into (or used to build) the binary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct AuditedPackage {
    pub(crate) name: String,
    pub(crate) version: String,
    /// `crates.io`, `git`, `local`, `registry`, or another string from newer writers.
    #[serde(default = "unknown_source")]
    pub(crate) source: String,
    /// `runtime` (linked) or `build` (build scripts, proc macros); absent means runtime.
    #[serde(default)]
    pub(crate) kind: Kind,
    /// True for the crate the binary is.
    #[serde(default)]
    pub(crate) root: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    #[default]
    Runtime,
    Build,
}

fn unknown_source() -> String {
    "unknown".to_owned()
}

#[derive(Debug, Deserialize)]
struct VersionInfo {
    packages: Vec<AuditedPackage>,
}

/// The packages of the list; an error names what is wrong.
pub(crate) fn parse(json: &str) -> Result<Vec<AuditedPackage>, String> {
    serde_json::from_str::<VersionInfo>(json)
        .map(|info| info.packages)
        .map_err(|e| format!("the `cargo auditable` dependency list is not valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kinds_roots_and_defaults() {
        let json = r#"{"packages":[
            {"name":"app","version":"0.1.0","source":"local","dependencies":[1],"root":true},
            {"name":"serde","version":"1.0.0","source":"crates.io"},
            {"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}
        ],"format":1}"#;
        let packages = parse(json).unwrap();
        assert!(packages[0].root);
        assert_eq!(packages[1].kind, Kind::Runtime);
        assert_eq!(packages[2].kind, Kind::Build);
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"packages":[{"name":"x"}]}"#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in ".*") {
            let _ = parse(&text);
        }
    }
}
