//! Reading SBOM files back into an [`Sbom`] that `portcullis scan` can match.
//!
//! [`read_sbom_file`] recognises the document by content, never by file name: portcullis'
//! native JSON (`schemaVersion: portcullis.sbom/v1`, read back exactly), CycloneDX 1.4–1.6
//! JSON (`bomFormat`) and SPDX 2.2/2.3 JSON (`spdxVersion`), whoever wrote them. The
//! interchange formats go through one model: each component or SPDX package becomes a
//! [`Candidate`] (name, version, purl, licenses, name–value properties, locations), and
//! [`Candidate::into_package`] turns it into a [`Package`]:
//!
//! - the purl type decides the ecosystem; other types, and components without a purl, are
//!   skipped and counted in [`ReadSbom::warnings`];
//! - the source package of deb, apk and rpm packages comes, first found wins, from our
//!   `portcullis:package:source-*` properties, Trivy's `aquasecurity:trivy:Src*`, Syft's
//!   `syft:metadata:source`/`sourceVersion`/`originPackage`/`sourceRpm`, an SPDX
//!   `sourceInfo` of the form `built package from: NAME VERSION` (Trivy), or the purl
//!   `upstream` qualifier; a deb package with none of these is its own source, as dpkg
//!   defines it (Syft writes nothing when `Source:` is absent);
//! - the distro comes from the operating-system component or package, else from the purl
//!   `distro=` qualifier (`debian-12`) of the OS packages.
//!
//! What we wrote ourselves (`portcullis:` properties) comes back whole: image layers,
//! package layers, arch, metadata and files included.

mod cyclonedx;
mod purl;
mod spdx;

use std::collections::{BTreeMap, BTreeSet};

use portcullis_types::{Digest, Distro, Ecosystem, ImageInfo, LayerRef, Package, Sbom, ToolInfo};
use serde::Deserialize;

use crate::Format;
use crate::native::SCHEMA_VERSION;
use purl::Purl;

/// Files larger than this are refused before parsing (512 MiB; Syft's SPDX for a
/// 200-package image is 5 MB).
pub const MAX_SBOM_BYTES: usize = 512 << 20;

/// The `source_kind` of an image known only through an SBOM written by another tool.
pub const SBOM_SOURCE_KIND: &str = "sbom";

/// An SBOM read from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadSbom {
    /// The inventory, packages in canonical order.
    pub sbom: Sbom,
    /// The format the file was recognised as.
    pub format: Format,
    /// What was left out and why (components with purl types portcullis does not match,
    /// components without a purl), one sentence each, naming the file.
    pub warnings: Vec<String>,
}

/// Why a file could not be read as an SBOM. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("`{name}` is {size} bytes, more than the {limit} bytes an SBOM file may have")]
    TooLarge {
        name: String,
        size: usize,
        limit: usize,
    },
    #[error("`{name}` is not JSON; portcullis reads its own JSON, CycloneDX JSON and SPDX JSON")]
    NotJson {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "`{name}` is not an SBOM portcullis reads: expected portcullis JSON (`schemaVersion`), CycloneDX 1.4–1.6 JSON (`bomFormat`) or SPDX 2.2/2.3 JSON (`spdxVersion`)"
    )]
    UnknownFormat { name: String },
    #[error("`{name}` is {what}, which portcullis does not read; {hint}")]
    Unsupported {
        name: String,
        what: String,
        hint: &'static str,
    },
    #[error("`{name}` is not a valid {format} document")]
    Invalid {
        name: String,
        format: Format,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads an SBOM file, recognising its format by content; `name` (usually the path) is
/// used in errors, warnings and as the distro's `source_path` when the file does not say
/// which file in the image the distro came from.
pub fn read_sbom_file(bytes: &[u8], name: &str) -> Result<ReadSbom, ReadError> {
    if bytes.len() > MAX_SBOM_BYTES {
        return Err(ReadError::TooLarge {
            name: name.to_owned(),
            size: bytes.len(),
            limit: MAX_SBOM_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let first = start.and_then(|i| bytes.get(i)).copied();
    let unsupported = |what: &str, hint| ReadError::Unsupported {
        name: name.to_owned(),
        what: what.to_owned(),
        hint,
    };
    if first == Some(b'<') {
        return Err(unsupported(
            "XML",
            "ask the tool for JSON (`syft -o cyclonedx-json`, `trivy --format cyclonedx`)",
        ));
    }
    if bytes.starts_with(b"SPDXVersion:") {
        return Err(unsupported(
            "SPDX tag-value",
            "ask the tool for SPDX JSON (`syft -o spdx-json`, `trivy --format spdx-json`)",
        ));
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|source| {
        // Valid JSON that is not an object (`[]`, `42`) is JSON of the wrong shape.
        if source.classify() == serde_json::error::Category::Data {
            ReadError::UnknownFormat {
                name: name.to_owned(),
            }
        } else {
            ReadError::NotJson {
                name: name.to_owned(),
                source,
            }
        }
    })?;
    let invalid = |format| {
        move |source| ReadError::Invalid {
            name: name.to_owned(),
            format,
            source,
        }
    };
    let mut read = if let Some(schema) = probe.schema_version.as_ref().and_then(Value::text) {
        if schema != SCHEMA_VERSION {
            return Err(unsupported(
                &format!("portcullis JSON of schema `{schema}`"),
                "this portcullis reads `portcullis.sbom/v1`; read the file with the portcullis that wrote it",
            ));
        }
        let native: Native = serde_json::from_slice(bytes).map_err(invalid(Format::Json))?;
        ReadSbom {
            sbom: native.sbom,
            format: Format::Json,
            warnings: Vec::new(),
        }
    } else if let Some(format) = probe.bom_format.as_ref() {
        if format.text() != Some("CycloneDX") {
            return Err(ReadError::UnknownFormat {
                name: name.to_owned(),
            });
        }
        let version = probe.spec_version.as_ref().and_then(Value::text);
        if !matches!(version, Some("1.4" | "1.5" | "1.6")) {
            return Err(unsupported(
                &format!("CycloneDX {}", version.unwrap_or("of no specVersion")),
                "portcullis reads CycloneDX 1.4 to 1.6",
            ));
        }
        let bom = serde_json::from_slice(bytes).map_err(invalid(Format::CycloneDx))?;
        cyclonedx::read(bom, name)
    } else if let Some(version) = probe.spdx_version.as_ref() {
        let version = version.text();
        if !matches!(version, Some("SPDX-2.2" | "SPDX-2.3")) {
            return Err(unsupported(
                &format!("SPDX {}", version.unwrap_or("of no known version")),
                "portcullis reads SPDX 2.2 and 2.3 JSON",
            ));
        }
        let document = serde_json::from_slice(bytes).map_err(invalid(Format::Spdx))?;
        spdx::read(document, name)
    } else if probe.artifacts.is_some() && probe.descriptor.is_some() {
        return Err(unsupported(
            "Syft's own JSON",
            "ask Syft for `-o cyclonedx-json` or `-o spdx-json`",
        ));
    } else {
        return Err(ReadError::UnknownFormat {
            name: name.to_owned(),
        });
    };
    read.sbom.sort();
    Ok(read)
}

/// The top-level keys that tell the formats apart; everything else is skipped unparsed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<Value>,
    bom_format: Option<Value>,
    spec_version: Option<Value>,
    spdx_version: Option<Value>,
    artifacts: Option<serde::de::IgnoredAny>,
    descriptor: Option<serde::de::IgnoredAny>,
}

/// A probed value: only strings count, but any type is accepted so that the error can say
/// which format the file was meant to be.
#[derive(Deserialize)]
#[serde(untagged)]
enum Value {
    Text(String),
    Other(serde::de::IgnoredAny),
}

impl Value {
    fn text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            Value::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct Native {
    #[serde(flatten)]
    sbom: Sbom,
}

/// One component or SPDX package, before it is known to be a package we match.
#[derive(Debug, Default)]
pub(crate) struct Candidate {
    pub name: String,
    pub version: String,
    pub purl: Option<String>,
    pub licenses: Vec<String>,
    /// Name–value pairs: CycloneDX properties, SPDX annotations (ours `name=value`,
    /// Trivy's `Key: value` as `aquasecurity:trivy:Key`).
    pub properties: Vec<(String, String)>,
    /// Where the tool says it found the package, in its order.
    pub locations: Vec<String>,
    /// SPDX `sourceInfo`.
    pub source_info: Option<String>,
}

impl Candidate {
    fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn properties<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.properties
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The package, or why it was skipped.
    pub(crate) fn into_package(self) -> Result<Package, Skip> {
        let Some(purl_text) = self.purl.clone().filter(|p| !p.trim().is_empty()) else {
            return Err(Skip::NoPurl(self.name));
        };
        let Some(purl) = Purl::parse(&purl_text) else {
            return Err(Skip::BadPurl(purl_text));
        };
        let Some(ecosystem) = ecosystem(&purl.ty) else {
            return Err(Skip::Type(purl.ty));
        };
        let name = match ecosystem {
            Ecosystem::Maven => purl.joined(":"),
            Ecosystem::Npm | Ecosystem::Go | Ecosystem::Composer => purl.joined("/"),
            _ if !self.name.trim().is_empty() => self.name.clone(),
            _ => purl.name.clone(),
        };
        let mut version = if self.version.trim().is_empty() {
            purl.version.clone().unwrap_or_default()
        } else {
            self.version.clone()
        };
        if matches!(ecosystem, Ecosystem::Deb | Ecosystem::Rpm)
            && let Some(epoch) = purl.qualifier("epoch").filter(|e| *e != "0")
            && !version.starts_with(&format!("{epoch}:"))
        {
            version = format!("{epoch}:{version}");
        }
        if ecosystem == Ecosystem::Go && name == "stdlib" {
            version = go_toolchain(&version);
        }
        // Ours says exactly what it knows; others write the arch in the purl.
        let ours = self.property("portcullis:package:ecosystem").is_some();
        let arch = if ours {
            self.property("portcullis:package:arch")
        } else {
            purl.qualifier("arch")
        }
        .map(str::to_owned);
        let (source_name, source_version) = self.source(ecosystem, &purl, &name, &version);
        let layer = self.layer();
        let mut metadata: BTreeMap<String, String> = self
            .properties
            .iter()
            .filter_map(|(n, v)| {
                let key = n.strip_prefix("portcullis:package:metadata:")?;
                Some((key.to_owned(), v.clone()))
            })
            .collect();
        if layer.is_none()
            && let Some(diff_id) = self
                .property("aquasecurity:trivy:LayerDiffID")
                .or_else(|| self.property("syft:location:0:layerID"))
        {
            metadata.insert("layer_diff_id".to_owned(), diff_id.to_owned());
        }
        let mut found_in = Vec::new();
        let ours: Vec<&str> = self.properties("portcullis:package:found-in").collect();
        let places = if ours.is_empty() {
            self.locations.iter().map(String::as_str).collect()
        } else {
            ours
        };
        for place in places {
            let place = absolute(place);
            if !place.is_empty() && !found_in.contains(&place) {
                found_in.push(place);
            }
        }
        let files = self
            .properties("portcullis:package:file")
            .map(str::to_owned)
            .collect();
        Ok(Package {
            ecosystem,
            name,
            version,
            arch,
            source_name,
            source_version,
            licenses: self.licenses,
            purl: purl_text,
            layer,
            found_in,
            files,
            metadata,
        })
    }

    fn source(
        &self,
        ecosystem: Ecosystem,
        purl: &Purl,
        name: &str,
        version: &str,
    ) -> (Option<String>, Option<String>) {
        if !ecosystem.is_os() {
            return (None, None);
        }
        let owned = |s: &str| Some(s.to_owned());
        // Ours: exactly what was written, absence included.
        if self.property("portcullis:package:ecosystem").is_some() {
            return (
                self.property("portcullis:package:source-name")
                    .and_then(owned),
                self.property("portcullis:package:source-version")
                    .and_then(owned),
            );
        }
        // Trivy: name, epoch, version and release in separate properties.
        if let Some(source) = self.property("aquasecurity:trivy:SrcName") {
            let mut source_version = self
                .property("aquasecurity:trivy:SrcVersion")
                .unwrap_or_default()
                .to_owned();
            if let Some(release) = self.property("aquasecurity:trivy:SrcRelease") {
                source_version = format!("{source_version}-{release}");
            }
            if let Some(epoch) = self
                .property("aquasecurity:trivy:SrcEpoch")
                .filter(|e| *e != "0")
            {
                source_version = format!("{epoch}:{source_version}");
            }
            let source_version = if source_version.is_empty() {
                version.to_owned()
            } else {
                source_version
            };
            return (owned(source), Some(source_version));
        }
        // Syft: `Source:` as dpkg has it, apk's origin, the source rpm.
        if let Some(source) = self.property("syft:metadata:source") {
            let source_version = self
                .property("syft:metadata:sourceVersion")
                .unwrap_or(version);
            return (owned(source), owned(source_version));
        }
        if let Some(origin) = self.property("syft:metadata:originPackage") {
            return (owned(origin), owned(version));
        }
        if let Some(source_rpm) = self.property("syft:metadata:sourceRpm")
            && let Some(source) = source_rpm_parts(source_rpm, version)
        {
            return source;
        }
        // Trivy's SPDX: `built package from: shadow 1:4.13+dfsg1-1+deb12u2`.
        if let Some((source, source_version)) = self
            .source_info
            .as_deref()
            .and_then(|info| info.strip_prefix("built package from: "))
            .and_then(|rest| rest.trim().split_once(' '))
        {
            return (owned(source), owned(source_version.trim()));
        }
        if let Some(upstream) = purl.qualifier("upstream") {
            match ecosystem {
                Ecosystem::Rpm => {
                    if let Some(source) = source_rpm_parts(upstream, version) {
                        return source;
                    }
                }
                _ => {
                    return match upstream.split_once('@') {
                        Some((source, source_version)) => (owned(source), owned(source_version)),
                        None => (owned(upstream), owned(version)),
                    };
                }
            }
        }
        if ecosystem == Ecosystem::Deb {
            return (owned(name), owned(version));
        }
        (None, None)
    }

    /// Our layer properties, when all three are there.
    fn layer(&self) -> Option<LayerRef> {
        Some(LayerRef {
            index: self.property("portcullis:layer:index")?.parse().ok()?,
            digest: self.property("portcullis:layer:digest")?.parse().ok()?,
            diff_id: self.property("portcullis:layer:diff-id")?.parse().ok()?,
        })
    }
}

/// Why a component did not become a package.
#[derive(Debug)]
pub(crate) enum Skip {
    NoPurl(String),
    BadPurl(String),
    Type(String),
}

/// Counts what was skipped, for one warning per reason.
#[derive(Debug, Default)]
pub(crate) struct Skipped {
    no_purl: Vec<String>,
    bad_purl: Vec<String>,
    types: BTreeMap<String, usize>,
}

impl Skipped {
    pub(crate) fn add(&mut self, skip: Skip) {
        match skip {
            Skip::NoPurl(name) => self.no_purl.push(name),
            Skip::BadPurl(purl) => self.bad_purl.push(purl),
            Skip::Type(ty) => *self.types.entry(ty).or_default() += 1,
        }
    }

    pub(crate) fn warnings(self, file: &str) -> Vec<String> {
        let mut out = Vec::new();
        if !self.types.is_empty() {
            let total: usize = self.types.values().sum();
            let list: Vec<String> = self
                .types
                .iter()
                .map(|(ty, n)| format!("pkg:{ty} ({n})"))
                .collect();
            out.push(format!(
                "`{file}`: skipped {total} component{} with a purl type portcullis does not match: {}",
                plural(total),
                list.join(", ")
            ));
        }
        for (list, what) in [
            (self.no_purl, "without a purl"),
            (self.bad_purl, "with an unreadable purl"),
        ] {
            if list.is_empty() {
                continue;
            }
            let examples: BTreeSet<&str> = list.iter().map(String::as_str).take(3).collect();
            let examples: Vec<String> = examples.iter().map(|e| format!("`{e}`")).collect();
            out.push(format!(
                "`{file}`: skipped {} component{} {what}, such as {}",
                list.len(),
                plural(list.len()),
                examples.join(", ")
            ));
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The ecosystem of a purl type; `None` for types portcullis does not match.
fn ecosystem(ty: &str) -> Option<Ecosystem> {
    Some(match ty {
        "deb" => Ecosystem::Deb,
        "apk" => Ecosystem::Apk,
        "rpm" => Ecosystem::Rpm,
        "pypi" => Ecosystem::Python,
        "npm" => Ecosystem::Npm,
        "cargo" => Ecosystem::Cargo,
        "golang" => Ecosystem::Go,
        "maven" => Ecosystem::Maven,
        "gem" => Ecosystem::Gem,
        "composer" => Ecosystem::Composer,
        "nuget" => Ecosystem::Nuget,
        _ => return None,
    })
}

/// The Go toolchain as Go and our catalog print it: Trivy's `v1.19.8` becomes `go1.19.8`.
fn go_toolchain(version: &str) -> String {
    let bare = version.strip_prefix('v').unwrap_or(version);
    if bare.starts_with(|c: char| c.is_ascii_digit()) {
        format!("go{bare}")
    } else {
        version.to_owned()
    }
}

/// `bash-5.1.8-6.el9_1.src.rpm` → (`bash`, `[epoch:]5.1.8-6.el9_1`), the epoch taken from
/// the binary's version as a source rpm file name has none.
fn source_rpm_parts(source_rpm: &str, version: &str) -> Option<(Option<String>, Option<String>)> {
    let stem = source_rpm
        .strip_suffix(".src.rpm")
        .or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))
        .unwrap_or(source_rpm);
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, ver) = rest.rsplit_once('-')?;
    if name.is_empty() || ver.is_empty() || release.is_empty() {
        return None;
    }
    let epoch = version
        .split_once(':')
        .map(|(e, _)| e)
        .filter(|e| *e != "0");
    let source_version = match epoch {
        Some(epoch) => format!("{epoch}:{ver}-{release}"),
        None => format!("{ver}-{release}"),
    };
    Some((Some(name.to_owned()), Some(source_version)))
}

/// Paths in the image are absolute; Trivy writes them relative to the root.
fn absolute(path: &str) -> String {
    let path = path.trim();
    if path.is_empty() || path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    }
}

/// The distro most OS packages name in their purl `distro` qualifier (`debian-12`), for
/// documents without an operating-system component (Syft's SPDX).
pub(crate) fn distro_from_purls(packages: &[Package], file: &str) -> Option<Distro> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for package in packages.iter().filter(|p| p.ecosystem.is_os()) {
        if let Some(qualifier) =
            Purl::parse(&package.purl).and_then(|p| p.qualifiers.get("distro").cloned())
        {
            *counts.entry(qualifier).or_default() += 1;
        }
    }
    // The most common; on a tie the first in order, so that the result is deterministic.
    let (qualifier, _) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
    let (id, version) = match qualifier.rsplit_once('-') {
        Some((id, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => {
            (id.to_owned(), Some(version.to_owned()))
        }
        _ => (qualifier.clone(), None),
    };
    Some(Distro {
        id: os_release_id(&id),
        version_id: version,
        source_path: file.to_owned(),
        ..Distro::default()
    })
}

/// What an image's `portcullis:image:*` properties (or another tool's labels) say.
pub(crate) fn image_info(
    reference: String,
    digest: Option<&str>,
    properties: &[(String, String)],
) -> ImageInfo {
    let get = |name: &str| {
        properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let digest_of = |name: &str| get(name).and_then(|d| d.parse::<Digest>().ok());
    let mut annotations = BTreeMap::new();
    for (name, value) in properties {
        for prefix in [
            "portcullis:image:annotation:",
            "syft:image:labels:",
            "aquasecurity:trivy:Labels:",
        ] {
            if let Some(key) = name.strip_prefix(prefix) {
                annotations.insert(key.to_owned(), value.clone());
            }
        }
    }
    let Some(source_kind) = get("portcullis:image:source-kind") else {
        return ImageInfo {
            reference,
            source_kind: SBOM_SOURCE_KIND.to_owned(),
            manifest_digest: digest.and_then(|d| d.parse().ok()),
            config_digest: digest_of("aquasecurity:trivy:ImageID"),
            annotations,
            ..ImageInfo::default()
        };
    };
    let mut layers = Vec::new();
    for index in 0usize.. {
        let key = |field: &str| format!("portcullis:image:layer:{index}:{field}");
        let (Some(digest), Some(diff_id)) = (digest_of(&key("digest")), digest_of(&key("diff-id")))
        else {
            break;
        };
        layers.push(portcullis_types::LayerInfo {
            digest,
            diff_id,
            size: get(&key("size")).and_then(|s| s.parse().ok()).unwrap_or(0),
            media_type: get(&key("media-type")),
            created_by: None,
        });
    }
    ImageInfo {
        reference: get("portcullis:image:reference").unwrap_or(reference),
        source_kind,
        manifest_digest: digest_of("portcullis:image:manifest-digest"),
        config_digest: digest_of("portcullis:image:config-digest"),
        index_digest: digest_of("portcullis:image:index-digest"),
        platform: get("portcullis:image:platform"),
        tags: properties
            .iter()
            .filter(|(n, _)| n == "portcullis:image:tag")
            .map(|(_, v)| v.clone())
            .collect(),
        layers,
        annotations,
        user: get("portcullis:image:user"),
        created: get("portcullis:image:created"),
    }
}

/// A distro from an operating-system component or package and its properties.
pub(crate) fn distro(
    name: &str,
    version: Option<&str>,
    description: Option<&str>,
    properties: &[(String, String)],
    file: &str,
) -> Distro {
    let get = |names: &[&str]| {
        names.iter().find_map(|name| {
            properties
                .iter()
                .find(|(n, v)| n == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        })
    };
    let id = get(&["syft:distro:id"]).unwrap_or_else(|| os_release_id(name));
    let id_like: Vec<String> = properties
        .iter()
        .filter(|(n, _)| n == "portcullis:distro:id-like" || n == "syft:distro:idLike")
        .flat_map(|(_, v)| v.split([',', ' ']))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect();
    Distro {
        id,
        version_id: version
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .or_else(|| get(&["syft:distro:versionID"])),
        codename: get(&["portcullis:distro:codename", "syft:distro:versionCodename"]),
        id_like,
        pretty_name: description
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .or_else(|| get(&["syft:distro:prettyName"])),
        source_path: get(&["portcullis:distro:source-path"]).unwrap_or_else(|| file.to_owned()),
    }
}

/// The `os-release` `ID` for a distro name as Trivy writes it (`redhat`, `amazon`,
/// `oracle`, `alma`); other names lowercased.
fn os_release_id(name: &str) -> String {
    let id = name.trim().to_ascii_lowercase();
    match id.as_str() {
        "redhat" => "rhel".to_owned(),
        "amazon" => "amzn".to_owned(),
        "oracle" => "ol".to_owned(),
        "alma" => "almalinux".to_owned(),
        _ => id,
    }
}

/// `name` and `version` of a tool written as `name-version` (SPDX creators).
pub(crate) fn tool_from_creator(creator: &str) -> Option<ToolInfo> {
    let tool = creator.strip_prefix("Tool:")?.trim();
    Some(match tool.rsplit_once('-') {
        Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit() || c == 'v') => {
            ToolInfo {
                name: name.to_owned(),
                version: version.to_owned(),
            }
        }
        _ => ToolInfo {
            name: tool.to_owned(),
            version: String::new(),
        },
    })
}

pub(crate) fn unknown_tool() -> ToolInfo {
    ToolInfo {
        name: "unknown".to_owned(),
        version: String::new(),
    }
}
