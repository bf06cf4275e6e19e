//! A fixed, hand-built report: a distro finding the vendor has not fixed, a
//! language finding with CVSS v3, EPSS and KEV, a finding with aliases and
//! several fixed versions, and a finding whose every text field is hostile.

use std::collections::BTreeMap;

use portcullis_report::{DatabaseInfo, DatabaseSource, ScanReport};
use portcullis_types::{
    AffectedStatus, Digest, Distro, Ecosystem, Epss, Finding, FindingPackage, ImageInfo, Kev,
    LayerRef, LayerRole, MatchDetail, Severity, SeverityKind, SeverityLevel, ToolInfo,
};

pub const SCANNED_AT: &str = "2025-01-02T03:04:05Z";

/// Markup, quotes, a terminal escape, a NUL, a CDATA end and a `javascript:` link.
pub const HOSTILE: &str = "<script>alert('pwned')</script> & \"quotes\" \u{1b}[31mred ]]> \u{0} [x](javascript:alert(1)) |cell|";

fn digest(byte: u8) -> Digest {
    Digest::sha256_from_bytes([byte; 32])
}

fn layer(index: usize) -> LayerRef {
    LayerRef {
        index,
        digest: digest(0x10 + index as u8),
        diff_id: digest(0x20 + index as u8),
    }
}

fn matched(
    advisory: &str,
    source: &str,
    ecosystem: &str,
    name: &str,
    version: &str,
    range: &str,
    status: AffectedStatus,
) -> MatchDetail {
    MatchDetail {
        advisory: advisory.into(),
        source: source.into(),
        ecosystem: ecosystem.into(),
        field: "name".into(),
        name: name.into(),
        version: version.into(),
        range: range.into(),
        status,
    }
}

fn cvss3(source: &str, score: f32, vector: &str) -> Severity {
    Severity {
        source: source.into(),
        kind: SeverityKind::CvssV3,
        vector: Some(vector.into()),
        score: Some(score),
        level: SeverityLevel::from_cvss_score(score),
    }
}

/// The Debian package whose CVE the vendor has not fixed.
pub fn distro_unfixed() -> Finding {
    Finding {
        id: "CVE-2024-2961".into(),
        aliases: vec![],
        package: FindingPackage {
            ecosystem: Ecosystem::Deb,
            name: "libc6".into(),
            version: "2.36-9+deb12u4".into(),
            purl: "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12".into(),
            source_name: Some("glibc".into()),
            source_version: Some("2.36-9+deb12u4".into()),
            layer: Some(layer(0)),
            found_in: vec!["/var/lib/dpkg/status".into()],
        },
        status: AffectedStatus::Unfixed,
        fixed_versions: vec![],
        severity: SeverityLevel::Low,
        severity_source: Some("debian".into()),
        cvss: None,
        severities: vec![Severity {
            source: "debian".into(),
            kind: SeverityKind::Rating,
            vector: None,
            score: None,
            level: SeverityLevel::Low,
        }],
        epss: None,
        kev: None,
        summary: Some(
            "The iconv() function in the GNU C Library may overflow the output buffer".into(),
        ),
        published: Some("2024-04-17T18:15:15Z".into()),
        references: vec!["https://security-tracker.debian.org/tracker/CVE-2024-2961".into()],
        layer_role: Some(LayerRole::Base),
        annotations: Vec::new(),
        matched: vec![matched(
            "CVE-2024-2961",
            "debian-tracker",
            "Debian:12",
            "glibc",
            "2.36-9+deb12u4",
            "unfixed",
            AffectedStatus::Unfixed,
        )],
    }
}

/// The Python package with CVSS v3, EPSS and a KEV entry.
pub fn language_kev() -> Finding {
    Finding {
        id: "CVE-2023-43804".into(),
        aliases: vec!["GHSA-v845-jxx5-vc9f".into(), "PYSEC-2023-192".into()],
        package: FindingPackage {
            ecosystem: Ecosystem::Python,
            name: "urllib3".into(),
            version: "1.26.5".into(),
            purl: "pkg:pypi/urllib3@1.26.5".into(),
            source_name: None,
            source_version: None,
            layer: Some(layer(2)),
            found_in: vec!["/usr/local/lib/python3.11/site-packages/urllib3-1.26.5.dist-info/METADATA".into()],
        },
        status: AffectedStatus::Affected,
        fixed_versions: vec!["1.26.17".into()],
        severity: SeverityLevel::Critical,
        severity_source: Some("nvd".into()),
        cvss: Some(cvss3("nvd", 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")),
        severities: vec![
            cvss3("nvd", 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            cvss3("ghsa", 8.1, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        ],
        epss: Some(Epss { score: 0.9731, percentile: 0.9987 }),
        kev: Some(Kev {
            date_added: "2024-01-10".into(),
            due_date: Some("2024-01-31".into()),
            ransomware: None,
            name: Some("urllib3 Cookie Leak".into()),
        }),
        summary: Some("Cookie HTTP header isn't stripped on cross-origin redirects\n\nurllib3 doesn't treat the Cookie header specially.".into()),
        published: Some("2023-10-02T23:15:12Z".into()),
        references: vec![
            "https://github.com/urllib3/urllib3/security/advisories/GHSA-v845-jxx5-vc9f".into(),
            "https://nvd.nist.gov/vuln/detail/CVE-2023-43804".into(),
        ],
        layer_role: Some(LayerRole::Application),
        annotations: Vec::new(),
        matched: vec![matched("PYSEC-2023-192", "pypa", "PyPI", "urllib3", "1.26.5", "introduced 0, fixed 1.26.17", AffectedStatus::Affected)],
    }
}

/// The Go standard library, with aliases and two fixed versions.
pub fn aliases_several_fixes() -> Finding {
    Finding {
        id: "CVE-2023-39325".into(),
        aliases: vec!["GHSA-4374-p667-p6c8".into(), "GO-2023-2102".into()],
        package: FindingPackage {
            ecosystem: Ecosystem::Go,
            name: "stdlib".into(),
            version: "1.20.1".into(),
            purl: "pkg:golang/stdlib@1.20.1".into(),
            source_name: None,
            source_version: None,
            layer: Some(layer(1)),
            found_in: vec!["/usr/local/bin/server".into()],
        },
        status: AffectedStatus::Affected,
        fixed_versions: vec!["1.20.10".into(), "1.21.3".into()],
        severity: SeverityLevel::High,
        severity_source: Some("nvd".into()),
        cvss: Some(cvss3(
            "nvd",
            7.5,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        )),
        severities: vec![cvss3(
            "nvd",
            7.5,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        )],
        epss: Some(Epss {
            score: 0.7712,
            percentile: 0.9801,
        }),
        kev: None,
        summary: Some("HTTP/2 rapid reset can cause excessive work in net/http".into()),
        published: Some("2023-10-11T22:15:09Z".into()),
        references: vec!["https://go.dev/issue/63417".into()],
        layer_role: Some(LayerRole::Application),
        annotations: Vec::new(),
        matched: vec![matched(
            "GO-2023-2102",
            "go-vulndb",
            "Go",
            "stdlib",
            "1.20.1",
            "introduced 1.20.0, fixed 1.20.10",
            AffectedStatus::Affected,
        )],
    }
}

/// Every text field hostile.
pub fn hostile() -> Finding {
    Finding {
        id: "GHSA-<script>x".into(),
        aliases: vec!["CVE-</td><td>".into()],
        package: FindingPackage {
            ecosystem: Ecosystem::Npm,
            name: "<img src=x onerror=alert(1)>".into(),
            version: "1.0.0\"><svg onload=alert(1)>".into(),
            purl: "pkg:npm/evil@1.0.0".into(),
            source_name: None,
            source_version: None,
            layer: Some(layer(2)),
            found_in: vec!["/app/node_modules/evil pkg/<b>package.json".into()],
        },
        status: AffectedStatus::Affected,
        fixed_versions: vec!["<2.0.0>".into()],
        severity: SeverityLevel::Medium,
        severity_source: Some("ghsa".into()),
        cvss: None,
        severities: vec![Severity {
            source: "ghsa".into(),
            kind: SeverityKind::Rating,
            vector: None,
            score: None,
            level: SeverityLevel::Medium,
        }],
        epss: None,
        kev: None,
        summary: Some(HOSTILE.into()),
        published: Some("last tuesday".into()),
        references: vec![
            "javascript:alert(1)".into(),
            "https://example.invalid/a?<script>".into(),
            "https://example.invalid/advisory".into(),
        ],
        layer_role: Some(LayerRole::Application),
        annotations: Vec::new(),
        matched: vec![matched(
            "GHSA-<script>x",
            "github",
            "npm",
            "evil",
            "1.0.0",
            HOSTILE,
            AffectedStatus::Affected,
        )],
    }
}

pub fn tool() -> ToolInfo {
    ToolInfo {
        name: "portcullis".into(),
        version: "0.1.0".into(),
    }
}

pub fn image() -> ImageInfo {
    ImageInfo {
        reference: "oci:/images/oci:bookworm-vuln".into(),
        source_kind: "oci".into(),
        manifest_digest: Some(digest(0xab)),
        config_digest: Some(digest(0xcd)),
        index_digest: None,
        platform: Some("linux/amd64".into()),
        tags: vec!["bookworm-vuln".into()],
        layers: vec![],
        annotations: BTreeMap::new(),
        user: None,
        created: None,
    }
}

pub fn database() -> DatabaseInfo {
    DatabaseInfo {
        built_at: "2025-01-01T00:00:00Z".into(),
        schema_version: 1,
        sources: vec![DatabaseSource {
            name: "pypa".into(),
            snapshot: Some("2024-12-31T00:00:00Z".into()),
            fetched_at: "2025-01-01T00:00:00Z".into(),
        }],
    }
}

pub fn distro() -> Distro {
    Distro {
        id: "debian".into(),
        version_id: Some("12".into()),
        codename: Some("bookworm".into()),
        id_like: vec![],
        pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        source_path: "/etc/os-release".into(),
    }
}

/// The report with all four findings.
pub fn report() -> ScanReport {
    ScanReport::new(
        tool(),
        image(),
        Some(distro()),
        database(),
        SCANNED_AT.into(),
        120,
        vec![
            hostile(),
            distro_unfixed(),
            aliases_several_fixes(),
            language_kev(),
        ],
        vec!["could not order version `1.0.0~weird` of `weird`".into()],
    )
}

/// A report with no findings.
pub fn clean() -> ScanReport {
    ScanReport::new(
        tool(),
        image(),
        Some(distro()),
        database(),
        SCANNED_AT.into(),
        120,
        vec![],
        vec![],
    )
}
