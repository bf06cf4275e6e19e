//! .NET: the `<app>.deps.json` the SDK writes next to every published application, which
//! lists every library the app loads.
//!
//! Flow: `libraries` entries (`"Newtonsoft.Json/13.0.1": {"type": "package", …}`) of type
//! `package` are NuGet packages; `runtimepack` entries are the .NET runtime bundled into
//! a self-contained app (reported without the SDK's `runtimepack.` prefix, as Trivy
//! does); `project` entries are the application and its own projects, named in
//! `metadata["project"]` rather than reported. A package whose entry in the runtime
//! target has no `runtime`, `runtimeTargets` or `native` assets is only used at build time
//! (analyzers, build tasks) and is not in the image, so it is left out (as Trivy does).

use std::collections::BTreeMap;

use packageurl::PackageUrl;
use portcullis_image::{EntryInfo, NodeKind, Selection};
use portcullis_types::{Ecosystem, Package};
use serde_json::{Map, Value};

use crate::{CatalogError, Cataloger, Context};

const SUFFIX: &str = ".deps.json";
/// Larger files are not dependency manifests; skipping them bounds memory.
const MAX_BYTES: u64 = 64 << 20;
const RUNTIME_PACK_PREFIX: &str = "runtimepack.";

/// Finds .NET (NuGet) packages.
#[derive(Debug, Default)]
pub struct Dotnet;

impl Cataloger for Dotnet {
    fn name(&self) -> &'static str {
        "dotnet"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if entry.path.ends_with(SUFFIX) && entry.size <= MAX_BYTES {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        let mut packages = Vec::new();
        for (path, node) in cx.tree.iter() {
            if !matches!(node.kind, NodeKind::File) || !path.ends_with(SUFFIX) {
                continue;
            }
            let Some(content) = node.content() else {
                continue;
            };
            match parse(content) {
                Ok(libraries) => {
                    let layer = cx.layer_of(path);
                    packages.extend(libraries.into_iter().map(|library| {
                        let mut package = library.into_package(path);
                        package.layer = layer.clone();
                        package
                    }));
                }
                Err(why) => cx.warn(format!("skipped `{path}`: {why}")),
            }
        }
        Ok(packages)
    }
}

/// One library an application loads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Library {
    name: String,
    version: String,
    runtime_pack: bool,
    path: Option<String>,
    sha512: Option<String>,
    project: Option<String>,
}

impl Library {
    fn into_package(self, found_in: &str) -> Package {
        let mut metadata = BTreeMap::new();
        for (key, value) in [
            ("path", self.path),
            ("sha512", self.sha512),
            ("project", self.project),
        ] {
            if let Some(value) = value {
                metadata.insert(key.to_owned(), value);
            }
        }
        if self.runtime_pack {
            metadata.insert("type".to_owned(), "runtimepack".to_owned());
        }
        Package {
            ecosystem: Ecosystem::Nuget,
            purl: purl(&self.name, &self.version),
            name: self.name,
            version: self.version,
            arch: None,
            source_name: None,
            source_version: None,
            licenses: Vec::new(),
            layer: None,
            found_in: vec![found_in.to_owned()],
            files: Vec::new(),
            metadata,
        }
    }
}

/// The packages a `.deps.json` lists, sorted by name and version.
fn parse(bytes: &[u8]) -> Result<Vec<Library>, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("invalid JSON ({e})"))?;
    let Some(libraries) = value.get("libraries").and_then(Value::as_object) else {
        return Err("no `libraries` object (not a .NET deps.json)".to_owned());
    };
    let target = runtime_target(&value);
    let project = root_project(libraries, target);
    let mut out = Vec::new();
    for (key, library) in libraries {
        let Some((raw_name, version)) = key.split_once('/') else {
            continue;
        };
        let kind = library.get("type").and_then(Value::as_str).unwrap_or("");
        let runtime_pack = kind.eq_ignore_ascii_case("runtimepack");
        if !(kind.eq_ignore_ascii_case("package") || runtime_pack)
            || raw_name.is_empty()
            || version.is_empty()
        {
            continue;
        }
        if let Some(target) = target
            && let Some(entry) = target.get(key)
            && !has_assets(entry)
        {
            continue;
        }
        let text = |field: &str| {
            library
                .get(field)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let name = raw_name
            .strip_prefix(RUNTIME_PACK_PREFIX)
            .unwrap_or(raw_name);
        out.push(Library {
            name: name.to_owned(),
            version: version.to_owned(),
            runtime_pack,
            path: text("path"),
            sha512: text("sha512"),
            project: project.clone(),
        });
    }
    out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    Ok(out)
}

/// The `targets` entry the app runs with (`runtimeTarget.name`), when present.
fn runtime_target(value: &Value) -> Option<&Map<String, Value>> {
    let name = value.get("runtimeTarget")?.get("name")?.as_str()?;
    value.get("targets")?.get(name)?.as_object()
}

/// True when a target entry ships files the app loads.
fn has_assets(entry: &Value) -> bool {
    ["runtime", "runtimeTargets", "native"].iter().any(|k| {
        entry
            .get(k)
            .and_then(Value::as_object)
            .is_some_and(|assets| !assets.is_empty())
    })
}

/// `Name/Version` of the application: the one `project` library no other library
/// depends on (several, or none, leave it unknown).
fn root_project(
    libraries: &Map<String, Value>,
    target: Option<&Map<String, Value>>,
) -> Option<String> {
    let referenced: Vec<String> = target
        .into_iter()
        .flat_map(|t| t.values())
        .filter_map(|entry| entry.get("dependencies")?.as_object())
        .flat_map(|deps| {
            deps.iter()
                .map(|(name, version)| format!("{name}/{}", version.as_str().unwrap_or("")))
        })
        .collect();
    let mut roots = libraries.iter().filter(|(key, library)| {
        library.get("type").and_then(Value::as_str) == Some("project") && !referenced.contains(key)
    });
    let (root, _) = roots.next()?;
    roots.next().is_none().then(|| root.clone())
}

/// `pkg:nuget/<name>@<version>`.
fn purl(name: &str, version: &str) -> String {
    let Ok(mut purl) = PackageUrl::new("nuget", name) else {
        return format!("pkg:nuget/{name}@{version}");
    };
    let _ = purl.with_version(version);
    purl.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPS: &str = r#"{
      "runtimeTarget": {"name": ".NETCoreApp,Version=v6.0", "signature": ""},
      "targets": {
        ".NETCoreApp,Version=v6.0": {
          "Web/1.0.0": {"dependencies": {"Newtonsoft.Json": "13.0.1", "Data": "1.0.0", "Analyzer": "3.3.4"}, "runtime": {"Web.dll": {}}},
          "Newtonsoft.Json/13.0.1": {"runtime": {"lib/netstandard2.0/Newtonsoft.Json.dll": {"assemblyVersion": "13.0.0.0"}}},
          "Analyzer/3.3.4": {},
          "Data/1.0.0": {"runtime": {"Data.dll": {}}}
        }
      },
      "libraries": {
        "Web/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
        "Newtonsoft.Json/13.0.1": {"type": "package", "serviceable": true, "sha512": "sha512-abc==", "path": "newtonsoft.json/13.0.1", "hashPath": "newtonsoft.json.13.0.1.nupkg.sha512"},
        "Analyzer/3.3.4": {"type": "package", "path": "analyzer/3.3.4"},
        "Data/1.0.0": {"type": "project"},
        "NoSlash": {"type": "package"},
        "Missing.From.Target/1.0.0": {"type": "package"}
      }
    }"#;

    #[test]
    fn packages_with_runtime_assets() {
        let libraries = parse(DEPS.as_bytes()).unwrap();
        let names: Vec<_> = libraries
            .iter()
            .map(|l| (l.name.as_str(), l.version.as_str()))
            .collect();
        // The analyzer ships nothing at run time; a library absent from the target is
        // kept rather than guessed away.
        assert_eq!(
            names,
            [
                ("Missing.From.Target", "1.0.0"),
                ("Newtonsoft.Json", "13.0.1")
            ]
        );
        let json = &libraries[1];
        assert_eq!(json.path.as_deref(), Some("newtonsoft.json/13.0.1"));
        assert_eq!(json.sha512.as_deref(), Some("sha512-abc=="));
        assert_eq!(json.project.as_deref(), Some("Web/1.0.0"));
    }

    #[test]
    fn not_deps_files() {
        assert!(parse(b"{}").unwrap_err().starts_with("no `libraries`"));
        assert!(parse(b"[1").unwrap_err().starts_with("invalid JSON"));
        assert_eq!(parse(br#"{"libraries": {}}"#).unwrap(), []);
    }

    #[test]
    fn purls() {
        assert_eq!(
            purl("Newtonsoft.Json", "13.0.1"),
            "pkg:nuget/Newtonsoft.Json@13.0.1"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse(&bytes);
        }
    }
}
