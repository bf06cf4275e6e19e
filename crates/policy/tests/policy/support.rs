//! Findings shaped like the ones `portcullis scan` reports for the bookworm-vuln image.

use portcullis_policy::ImageScope;
use portcullis_types::{AffectedStatus, Ecosystem, Finding, FindingPackage, SeverityLevel};

pub const IMAGE_DIGEST: &str =
    "sha256:90cf15a0d49d2e84c3fc5001ed0cc87ba9029d08165aac30db5745230914c690";
/// The other tag of the same layout: a different image.
pub const OTHER_DIGEST: &str =
    "sha256:6829b3e0aae3a52c039e25b036ab44476cc550216eb396d00318a5a846e09031";

pub fn image() -> ImageScope {
    ImageScope::new()
        .with_digest(IMAGE_DIGEST)
        .with_reference("registry.example.invalid/apps/bookworm-vuln:1.0")
}

pub fn other_image() -> ImageScope {
    ImageScope::new().with_digest(OTHER_DIGEST)
}

pub fn finding(
    id: &str,
    aliases: &[&str],
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    purl: &str,
) -> Finding {
    Finding {
        id: id.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        package: FindingPackage {
            ecosystem,
            name: name.to_owned(),
            version: version.to_owned(),
            purl: purl.to_owned(),
            source_name: None,
            source_version: None,
            layer: None,
            found_in: Vec::new(),
        },
        status: AffectedStatus::Affected,
        fixed_versions: Vec::new(),
        severity: SeverityLevel::High,
        severity_source: None,
        cvss: None,
        severities: Vec::new(),
        epss: None,
        kev: None,
        summary: None,
        published: None,
        references: Vec::new(),
        layer_role: None,
        annotations: Vec::new(),
        matched: Vec::new(),
    }
}

pub fn lodash(id: &str, aliases: &[&str]) -> Finding {
    finding(
        id,
        aliases,
        Ecosystem::Npm,
        "lodash",
        "4.17.4",
        "pkg:npm/lodash@4.17.4",
    )
}

pub fn urllib3(id: &str, aliases: &[&str]) -> Finding {
    finding(
        id,
        aliases,
        Ecosystem::Python,
        "urllib3",
        "1.24.1",
        "pkg:pypi/urllib3@1.24.1",
    )
}

pub fn requests(id: &str, aliases: &[&str]) -> Finding {
    finding(
        id,
        aliases,
        Ecosystem::Python,
        "requests",
        "2.19.1",
        "pkg:pypi/requests@2.19.1",
    )
}

pub fn log4j(id: &str) -> Finding {
    finding(
        id,
        &[],
        Ecosystem::Maven,
        "log4j:log4j",
        "1.2.17",
        "pkg:maven/log4j/log4j@1.2.17",
    )
}

/// A binary package built from glibc, as the dpkg cataloger reports it.
pub fn glibc_binary(id: &str, name: &str) -> Finding {
    let version = "2.36-9+deb12u14";
    let mut f = finding(
        id,
        &[],
        Ecosystem::Deb,
        name,
        version,
        &format!(
            "pkg:deb/debian/{name}@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12&upstream=glibc"
        ),
    );
    f.package.source_name = Some("glibc".to_owned());
    f.package.source_version = Some(version.to_owned());
    f
}
