//! Distro matching over fixture feeds in the published formats: the Debian
//! tracker JSON export, Alpine secdb JSON, and OSV records for Debian (DSA),
//! Ubuntu and AlmaLinux, all compiled into one index by `db update`.

use anyhow::Result;
use portcullis_matcher::find;
use portcullis_types::{AffectedStatus, Ecosystem, MatchDetail, SeverityKind, SeverityLevel};

use crate::support::{apk, deb, distro, distro_index, finding, matched, package, pairs, sbom};

const OPENSSL: &str = "3.0.11-1~deb12u2";

/// A Debian 12 image: two binaries of `openssl`, a binNMU, a binary whose
/// version is not its source's, an epoch, kernel headers and a kernel.
fn bookworm() -> portcullis_types::Sbom {
    sbom(
        distro("debian", Some("12"), Some("bookworm")),
        vec![
            deb("bash", "5.2.15-2+b2", "bash", "5.2.15-2"),
            deb("cpp", "4:12.2.0-3", "gcc-defaults", "1.203"),
            deb("libssl3", OPENSSL, "openssl", OPENSSL),
            deb("liblzma5", "5.4.1-0.2+b1", "xz-utils", "5.4.1-0.2"),
            deb(
                "linux-image-6.1.0-18-amd64",
                "6.1.76-1",
                "linux",
                "6.1.76-1",
            ),
            deb("linux-libc-dev", "6.1.76-1", "linux", "6.1.76-1"),
            deb("openssl", OPENSSL, "openssl", OPENSSL),
            deb("zlib1g", "1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1"),
        ],
    )
}

/// The CVEs every binary of `openssl` has on the bookworm image.
const OPENSSL_CVES: [&str; 9] = [
    "CVE-2007-6755",
    "CVE-2023-5678",
    "CVE-2023-6129",
    "CVE-2023-6237",
    "CVE-2024-0727",
    "CVE-2024-2511",
    "CVE-2024-4741",
    "CVE-2024-5535",
    "CVE-2024-9143",
];

fn tracker_detail(advisory: &str, source: &str, name: &str, version: &str) -> MatchDetail {
    MatchDetail {
        advisory: advisory.to_owned(),
        source: source.to_owned(),
        ecosystem: "Debian:12".to_owned(),
        field: "source_name".to_owned(),
        name: name.to_owned(),
        version: version.to_owned(),
        range: String::new(),
        status: AffectedStatus::Affected,
    }
}

#[test]
fn debian_image_has_exactly_the_expected_findings() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    let mut expected: Vec<(String, String)> = Vec::new();
    for binary in ["libssl3", "openssl"] {
        for cve in OPENSSL_CVES {
            expected.push((binary.to_owned(), cve.to_owned()));
        }
    }
    for (package, id) in [
        ("cpp", "CVE-2099-0001"),
        ("liblzma5", "CVE-2025-31115"),
        ("linux-image-6.1.0-18-amd64", "CVE-2024-26581"),
        ("zlib1g", "CVE-2022-37434"),
    ] {
        expected.push((package.to_owned(), id.to_owned()));
    }
    expected.sort();
    // Not there: not-affected (CVE-2023-0286, fixed `0`), fixed before the
    // installed version (CVE-2023-2650), another release only (CVE-2022-4304),
    // an epoch that makes the installed version newer (CVE-2023-45853), a
    // withdrawn DSA (CVE-2099-0002), kernel headers, and the other distros'
    // records of the same source packages.
    assert_eq!(pairs(&matches), expected);
    assert!(matches.warnings.is_empty(), "{:?}", matches.warnings);
    // Output is in the documented priority order.
    let keys: Vec<_> = matches.findings.iter().map(|f| f.priority_key()).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));
    Ok(())
}

#[test]
fn each_binary_of_a_source_package_gets_the_finding_under_its_own_name() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    for binary in ["libssl3", "openssl"] {
        let f = finding(&matches, binary, "CVE-2024-5535");
        assert_eq!(f.package.ecosystem, Ecosystem::Deb);
        assert_eq!(f.package.name, binary);
        assert_eq!(f.package.version, OPENSSL);
        assert_eq!(f.package.source_name.as_deref(), Some("openssl"));
        assert_eq!(f.package.source_version.as_deref(), Some(OPENSSL));
        assert_eq!(f.package.purl, format!("pkg:deb/{binary}@{OPENSSL}"));
        assert_eq!(f.package.found_in, ["/var/lib/dpkg/status"]);
        // Open in the tracker with a fixed version not yet in the release:
        // a fix exists.
        assert_eq!(f.status, AffectedStatus::Affected);
        assert_eq!(f.fixed_versions, ["3.0.15-1~deb12u1"]);
        assert!(f.fixable());
        assert_eq!(f.severity, SeverityLevel::Medium);
        assert!(f.aliases.is_empty());
        assert!(f.cvss.is_none());
        assert!(
            f.summary
                .as_deref()
                .is_some_and(|s| s.contains("SSL_select_next_proto"))
        );
        assert_eq!(
            f.references,
            ["https://security-tracker.debian.org/tracker/CVE-2024-5535"]
        );
        let mut detail = tracker_detail("CVE-2024-5535", "debian-tracker", "openssl", OPENSSL);
        detail.range = "introduced 0, fixed 3.0.15-1~deb12u1".to_owned();
        assert_eq!(f.matched, [detail]);
    }
    Ok(())
}

#[test]
fn tracker_statuses_and_urgencies_become_the_findings() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    // (CVE, status, fixed versions, severity, range text)
    let cases: [(&str, AffectedStatus, &[&str], SeverityLevel, &str); 6] = [
        // <ignored>, urgency unimportant.
        (
            "CVE-2007-6755",
            AffectedStatus::WillNotFix,
            &[],
            SeverityLevel::Negligible,
            "introduced 0, vendor status will_not_fix",
        ),
        // <no-dsa>.
        (
            "CVE-2024-2511",
            AffectedStatus::WillNotFix,
            &[],
            SeverityLevel::Low,
            "introduced 0, vendor status will_not_fix",
        ),
        // <postponed>.
        (
            "CVE-2024-4741",
            AffectedStatus::Postponed,
            &[],
            SeverityLevel::Low,
            "introduced 0, vendor status postponed",
        ),
        // Open, no fix, urgency not yet assigned: unfixed, unrated.
        (
            "CVE-2024-9143",
            AffectedStatus::Unfixed,
            &[],
            SeverityLevel::Unknown,
            "introduced 0, vendor status unfixed",
        ),
        // Resolved; the bookworm urgency (low), not the advisory-wide
        // highest (medium, from bullseye).
        (
            "CVE-2023-5678",
            AffectedStatus::Affected,
            &["3.0.13-1~deb12u1"],
            SeverityLevel::Low,
            "introduced 0, fixed 3.0.13-1~deb12u1",
        ),
        (
            "CVE-2024-5535",
            AffectedStatus::Affected,
            &["3.0.15-1~deb12u1"],
            SeverityLevel::Medium,
            "introduced 0, fixed 3.0.15-1~deb12u1",
        ),
    ];
    for (cve, status, fixed, severity, range) in cases {
        let f = finding(&matches, "libssl3", cve);
        assert_eq!(f.status, status, "{cve}");
        assert_eq!(f.fixed_versions, fixed, "{cve}");
        assert_eq!(f.severity, severity, "{cve}");
        let tracker: Vec<&MatchDetail> = f
            .matched
            .iter()
            .filter(|m| m.source == "debian-tracker")
            .collect();
        assert_eq!(tracker.len(), 1, "{cve}");
        assert_eq!(tracker[0].advisory, cve);
        assert_eq!(tracker[0].range, range, "{cve}");
        assert_eq!(tracker[0].status, status, "{cve}");
        assert_eq!(tracker[0].version, OPENSSL, "{cve}");
    }
    Ok(())
}

#[test]
fn a_dsa_with_several_cves_is_one_finding_per_cve_with_the_dsa_as_alias() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    for binary in ["libssl3", "openssl"] {
        // CVEs only the DSA names.
        for cve in ["CVE-2023-6129", "CVE-2023-6237"] {
            let f = finding(&matches, binary, cve);
            assert_eq!(f.aliases, ["DSA-9001-1"], "{cve}");
            assert_eq!(matched(f), ["osv-debian/DSA-9001-1"], "{cve}");
            assert_eq!(f.status, AffectedStatus::Affected);
            assert_eq!(f.fixed_versions, ["3.0.13-1~deb12u1"]);
            // The DSA carries no rating and nothing else rates the CVE.
            assert_eq!(f.severity, SeverityLevel::Unknown);
            assert_eq!(f.severity_source, None);
            assert_eq!(f.summary.as_deref(), Some("openssl - security update"));
            assert_eq!(f.published.as_deref(), Some("2024-02-20T00:00:00Z"));
            assert_eq!(
                f.references,
                ["https://www.debian.org/security/2024/dsa-9001"]
            );
            let detail = &f.matched[0];
            assert_eq!(detail.ecosystem, "Debian:12");
            assert_eq!(detail.field, "source_name");
            assert_eq!(detail.name, "openssl");
            assert_eq!(detail.version, OPENSSL);
            assert_eq!(detail.range, "introduced 0, fixed 3.0.13-1~deb12u1");
        }
        // No finding lists another CVE of the DSA among its aliases.
        for f in matches.findings.iter().filter(|f| f.package.name == binary) {
            assert!(
                f.aliases.iter().all(|a| !a.starts_with("CVE-")),
                "{} has CVE aliases {:?}",
                f.id,
                f.aliases
            );
        }
    }
    Ok(())
}

#[test]
fn a_tracker_cve_and_a_dsa_naming_it_are_one_finding() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    for cve in ["CVE-2024-0727", "CVE-2023-5678"] {
        let f = finding(&matches, "libssl3", cve);
        assert_eq!(f.aliases, ["DSA-9001-1"]);
        assert_eq!(
            matched(f),
            [
                format!("debian-tracker/{cve}"),
                "osv-debian/DSA-9001-1".to_owned()
            ]
        );
        for m in &f.matched {
            assert_eq!(m.ecosystem, "Debian:12");
            assert_eq!(m.field, "source_name");
            assert_eq!(m.name, "openssl");
            assert_eq!(m.version, OPENSSL);
            assert_eq!(m.range, "introduced 0, fixed 3.0.13-1~deb12u1");
            assert_eq!(m.status, AffectedStatus::Affected);
        }
        // Both say the same fixed version; it is listed once.
        assert_eq!(f.fixed_versions, ["3.0.13-1~deb12u1"]);
        assert_eq!(f.status, AffectedStatus::Affected);
        // The tracker's bookworm urgency rates it.
        assert_eq!(f.severity, SeverityLevel::Low);
        assert_eq!(f.published.as_deref(), Some("2024-02-20T00:00:00Z"));
        assert!(f.references.contains(&format!(
            "https://security-tracker.debian.org/tracker/{cve}"
        )));
        assert!(
            f.references
                .contains(&"https://www.debian.org/security/2024/dsa-9001".to_owned())
        );
    }
    Ok(())
}

#[test]
fn binnmu_and_foreign_binary_versions_are_compared_as_their_source_version() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    // binNMU `5.4.1-0.2+b1` of source `5.4.1-0.2`: fixed in 5.4.1-1, and
    // not affected by CVE-2022-1271 (fixed in 5.2.5-2.1).
    let f = finding(&matches, "liblzma5", "CVE-2025-31115");
    assert_eq!(f.package.version, "5.4.1-0.2+b1");
    assert_eq!(f.package.source_version.as_deref(), Some("5.4.1-0.2"));
    let mut detail = tracker_detail("CVE-2025-31115", "debian-tracker", "xz-utils", "5.4.1-0.2");
    detail.range = "introduced 0, fixed 5.4.1-1".to_owned();
    assert_eq!(f.matched, [detail]);
    assert_eq!(f.severity, SeverityLevel::High);

    // `cpp` 4:12.2.0-3 is built from gcc-defaults 1.203: the fix in 1.204
    // concerns it, though the binary's own version (epoch 4) is higher.
    let f = finding(&matches, "cpp", "CVE-2099-0001");
    assert_eq!(f.package.version, "4:12.2.0-3");
    let mut detail = tracker_detail("CVE-2099-0001", "debian-tracker", "gcc-defaults", "1.203");
    detail.range = "introduced 0, fixed 1.204".to_owned();
    assert_eq!(f.matched, [detail]);
    assert_eq!(f.fixed_versions, ["1.204"]);
    Ok(())
}

#[test]
fn epochs_decide_against_fixed_versions_with_and_without_one() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    let zlib: Vec<&str> = matches
        .findings
        .iter()
        .filter(|f| f.package.name == "zlib1g")
        .map(|f| f.id.as_str())
        .collect();
    // 1:1.2.13.dfsg-1 < 1:1.2.13.dfsg-1+deb12u1, and > 1.2.13.dfsg-2 (epoch 0).
    assert_eq!(zlib, ["CVE-2022-37434"]);
    let f = finding(&matches, "zlib1g", "CVE-2022-37434");
    assert_eq!(f.fixed_versions, ["1:1.2.13.dfsg-1+deb12u1"]);
    assert_eq!(f.matched[0].version, "1:1.2.13.dfsg-1");
    assert_eq!(f.matched[0].name, "zlib");

    // The same epoch rule when the installed version is older.
    let old = sbom(
        distro("debian", Some("12"), Some("bookworm")),
        vec![deb("zlib1g", "1.2.13.dfsg-1", "zlib", "1.2.13.dfsg-1")],
    );
    let matches = find(&old, &built.index)?;
    assert_eq!(
        pairs(&matches),
        [
            ("zlib1g".to_owned(), "CVE-2022-37434".to_owned()),
            ("zlib1g".to_owned(), "CVE-2023-45853".to_owned()),
        ]
    );
    Ok(())
}

#[test]
fn kernel_headers_built_from_linux_are_suppressed_and_counted() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    assert!(
        matches
            .findings
            .iter()
            .all(|f| f.package.name != "linux-libc-dev")
    );
    assert_eq!(matches.suppressed, 1);
    // The kernel itself keeps its finding.
    let f = finding(&matches, "linux-image-6.1.0-18-amd64", "CVE-2024-26581");
    assert_eq!(f.fixed_versions, ["6.1.82-1"]);
    assert_eq!(f.severity, SeverityLevel::High);
    assert_eq!(f.matched[0].name, "linux");
    Ok(())
}

#[test]
fn other_debian_releases_and_distros_do_not_match() -> Result<()> {
    let built = distro_index()?;
    // Bullseye: only the open bullseye entries of the tracker apply.
    let bullseye = sbom(
        distro("debian", Some("11"), Some("bullseye")),
        vec![deb(
            "libssl3",
            "1.1.1w-0+deb11u1",
            "openssl",
            "1.1.1w-0+deb11u1",
        )],
    );
    let matches = find(&bullseye, &built.index)?;
    assert_eq!(
        pairs(&matches),
        [
            ("libssl3".to_owned(), "CVE-2022-4304".to_owned()),
            ("libssl3".to_owned(), "CVE-2023-5678".to_owned()),
        ]
    );
    let f = finding(&matches, "libssl3", "CVE-2023-5678");
    assert_eq!(f.status, AffectedStatus::Unfixed);
    // Bullseye's own urgency for the same CVE.
    assert_eq!(f.severity, SeverityLevel::Medium);
    assert_eq!(f.matched[0].ecosystem, "Debian:11");

    // A codename without VERSION_ID (testing) finds nothing for bookworm data.
    let trixie = sbom(
        distro("debian", None, Some("trixie")),
        vec![deb("libssl3", OPENSSL, "openssl", OPENSSL)],
    );
    assert!(find(&trixie, &built.index)?.findings.is_empty());

    // An OS package in an image whose distro is unknown is not matched.
    let mut unknown = bookworm();
    unknown.distro = None;
    let matches = find(&unknown, &built.index)?;
    assert!(matches.findings.is_empty());
    assert_eq!(matches.suppressed, 0);
    Ok(())
}

#[test]
fn alpine_matches_by_origin_on_the_release_branch() -> Result<()> {
    let built = distro_index()?;
    let image = sbom(
        distro("alpine", Some("3.20.3"), None),
        vec![
            apk("busybox", "1.36.1-r28", "busybox"),
            apk("busybox-binsh", "1.36.1-r28", "busybox"),
            apk("libcrypto3", "3.3.1-r3", "openssl"),
            apk("libssl3", "3.3.1-r3", "openssl"),
            apk("musl", "1.2.5-r0", "musl"),
            apk("xen-libs", "4.18.1-r0", "xen"),
        ],
    );
    let matches = find(&image, &built.index)?;
    let mut expected = Vec::new();
    for binary in ["busybox", "busybox-binsh"] {
        for cve in [
            "CVE-2023-42363",
            "CVE-2023-42364",
            "CVE-2023-42365",
            "CVE-2023-42366",
        ] {
            expected.push((binary.to_owned(), cve.to_owned()));
        }
    }
    // 3.3.1-r3 is past the 3.3.1-r1 and 3.3.0-r2 fixes; CVE-2024-2511 is
    // listed under `0` (never affected); v3.19's CVE-2024-9143 is another branch.
    expected.push(("libcrypto3".to_owned(), "CVE-2024-6119".to_owned()));
    expected.push(("libssl3".to_owned(), "CVE-2024-6119".to_owned()));
    expected.push(("xen-libs".to_owned(), "CVE-2024-31143".to_owned()));
    expected.sort();
    assert_eq!(pairs(&matches), expected);

    let f = finding(&matches, "libssl3", "CVE-2024-6119");
    assert_eq!(f.package.ecosystem, Ecosystem::Apk);
    assert_eq!(f.status, AffectedStatus::Affected);
    assert_eq!(f.fixed_versions, ["3.3.2-r0"]);
    assert_eq!(
        f.matched,
        [MatchDetail {
            advisory: "CVE-2024-6119".to_owned(),
            source: "alpine-secdb".to_owned(),
            ecosystem: "Alpine:v3.20".to_owned(),
            field: "source_name".to_owned(),
            name: "openssl".to_owned(),
            version: "3.3.1-r3".to_owned(),
            range: "introduced 0, fixed 3.3.2-r0".to_owned(),
            status: AffectedStatus::Affected,
        }]
    );
    // A secfixes line naming an XSA with the CVE: the XSA is an alias.
    let f = finding(&matches, "xen-libs", "CVE-2024-31143");
    assert_eq!(f.aliases, ["XSA-458"]);
    assert_eq!(f.fixed_versions, ["4.18.2-r0"]);

    // The v3.19 branch has its own fixed versions.
    let older = sbom(
        distro("alpine", Some("3.19.4"), None),
        vec![apk("libcrypto3", "3.1.6-r0", "openssl")],
    );
    let matches = find(&older, &built.index)?;
    assert_eq!(
        pairs(&matches),
        [
            ("libcrypto3".to_owned(), "CVE-2024-6119".to_owned()),
            ("libcrypto3".to_owned(), "CVE-2024-9143".to_owned()),
        ]
    );
    assert_eq!(
        finding(&matches, "libcrypto3", "CVE-2024-6119").fixed_versions,
        ["3.1.7-r0"]
    );
    assert_eq!(
        finding(&matches, "libcrypto3", "CVE-2024-6119").matched[0].ecosystem,
        "Alpine:v3.19"
    );
    Ok(())
}

#[test]
fn ubuntu_lts_records_match_and_merge() -> Result<()> {
    let built = distro_index()?;
    let image = sbom(
        distro("ubuntu", Some("22.04"), Some("jammy")),
        vec![deb(
            "libssl3",
            "3.0.2-0ubuntu1.12",
            "openssl",
            "3.0.2-0ubuntu1.12",
        )],
    );
    let matches = find(&image, &built.index)?;
    assert_eq!(
        pairs(&matches),
        [
            ("libssl3".to_owned(), "CVE-2023-5678".to_owned()),
            ("libssl3".to_owned(), "CVE-2023-6129".to_owned()),
            ("libssl3".to_owned(), "CVE-2023-6237".to_owned()),
            ("libssl3".to_owned(), "CVE-2024-0727".to_owned()),
        ]
    );
    let f = finding(&matches, "libssl3", "CVE-2024-0727");
    assert_eq!(f.aliases, ["UBUNTU-CVE-2024-0727", "USN-6632-1"]);
    assert_eq!(
        matched(f),
        ["osv-ubuntu/UBUNTU-CVE-2024-0727", "osv-ubuntu/USN-6632-1"]
    );
    for m in &f.matched {
        assert_eq!(m.ecosystem, "Ubuntu:22.04:LTS");
        assert_eq!(m.field, "source_name");
        assert_eq!(m.name, "openssl");
        assert_eq!(m.version, "3.0.2-0ubuntu1.12");
    }
    assert_eq!(f.fixed_versions, ["3.0.2-0ubuntu1.14"]);
    // The CVSS of the record is kept apart (the distro's own priority rates
    // the finding: see `distro_ratings_are_credited_to_the_distro`).
    let cvss = f.cvss.as_ref().expect("the CVSS vector of the record");
    assert_eq!(cvss.kind, SeverityKind::CvssV3);
    assert_eq!(cvss.score, Some(5.5));
    assert_eq!(cvss.level, SeverityLevel::Medium);

    // Fixed: nothing.
    let fixed = sbom(
        distro("ubuntu", Some("22.04"), Some("jammy")),
        vec![deb(
            "libssl3",
            "3.0.2-0ubuntu1.14",
            "openssl",
            "3.0.2-0ubuntu1.14",
        )],
    );
    assert!(find(&fixed, &built.index)?.findings.is_empty());
    Ok(())
}

#[test]
fn almalinux_osv_with_epochs_matches_binary_packages() -> Result<()> {
    let built = distro_index()?;
    let rpm = |name: &str, version: &str| {
        package(Ecosystem::Rpm, name, version, Some(("openssl", version)))
    };
    let image = sbom(
        distro("almalinux", Some("9.4"), None),
        vec![
            rpm("openssl", "1:3.0.7-27.el9"),
            rpm("openssl-libs", "1:3.0.7-25.el9_3"),
        ],
    );
    let matches = find(&image, &built.index)?;
    // openssl equals the fixed EVR; the withdrawn ALSA-2099:0001 would
    // otherwise match openssl-libs too.
    assert_eq!(
        pairs(&matches),
        [("openssl-libs".to_owned(), "ALSA-2024:2447".to_owned())]
    );
    let f = finding(&matches, "openssl-libs", "ALSA-2024:2447");
    assert_eq!(f.package.ecosystem, Ecosystem::Rpm);
    assert!(f.aliases.is_empty());
    assert_eq!(f.status, AffectedStatus::Affected);
    assert_eq!(f.fixed_versions, ["1:3.0.7-27.el9"]);
    assert_eq!(f.severity, SeverityLevel::Medium);
    assert_eq!(
        f.summary.as_deref(),
        Some("Moderate: openssl security and bug fix update")
    );
    assert_eq!(
        f.matched,
        [MatchDetail {
            advisory: "ALSA-2024:2447".to_owned(),
            source: "osv-almalinux".to_owned(),
            ecosystem: "AlmaLinux:9".to_owned(),
            // rpm errata name binary packages.
            field: "name".to_owned(),
            name: "openssl-libs".to_owned(),
            version: "1:3.0.7-25.el9_3".to_owned(),
            range: "introduced 0, fixed 1:3.0.7-27.el9".to_owned(),
            status: AffectedStatus::Affected,
        }]
    );

    // Without an epoch the installed version is epoch 0, older than 1:….
    let no_epoch = sbom(
        distro("almalinux", Some("9.4"), None),
        vec![rpm("openssl-libs", "3.0.7-28.el9")],
    );
    assert_eq!(
        pairs(&find(&no_epoch, &built.index)?),
        [("openssl-libs".to_owned(), "ALSA-2024:2447".to_owned())]
    );
    // AlmaLinux 8 uses the record's AlmaLinux:8 entry.
    let eight = sbom(
        distro("almalinux", Some("8.10"), None),
        vec![rpm("openssl-libs", "1:1.1.1k-9.el8_7")],
    );
    let matches = find(&eight, &built.index)?;
    assert_eq!(
        finding(&matches, "openssl-libs", "ALSA-2024:2447").fixed_versions,
        ["1:1.1.1k-12.el8_9"]
    );
    Ok(())
}

#[test]
fn matching_is_deterministic() -> Result<()> {
    let built = distro_index()?;
    let first = find(&bookworm(), &built.index)?;
    let mut shuffled = bookworm();
    shuffled.packages.reverse();
    let second = find(&shuffled, &built.index)?;
    assert_eq!(first.findings, second.findings);
    Ok(())
}

/// A distro package is rated by its distro (Debian's urgency, Ubuntu's
/// priority, the erratum's rating), and the finding names the distro as
/// the rater, as `Finding::severities` does, whatever the configured feed
/// is called (`db update` names them `debian-tracker`, `osv-ubuntu`…).
#[test]
fn distro_ratings_are_credited_to_the_distro() -> Result<()> {
    let built = distro_index()?;
    let matches = find(&bookworm(), &built.index)?;
    for (cve, severity) in [
        ("CVE-2007-6755", SeverityLevel::Negligible),
        ("CVE-2023-5678", SeverityLevel::Low),
        ("CVE-2024-0727", SeverityLevel::Low),
        ("CVE-2024-2511", SeverityLevel::Low),
        ("CVE-2024-4741", SeverityLevel::Low),
        ("CVE-2024-5535", SeverityLevel::Medium),
    ] {
        let f = finding(&matches, "libssl3", cve);
        assert_eq!(f.severity, severity, "{cve}");
        assert_eq!(f.severity_source.as_deref(), Some("debian"), "{cve}");
    }
    // Unrated: no source.
    assert_eq!(
        finding(&matches, "libssl3", "CVE-2024-9143").severity_source,
        None
    );

    let ubuntu = sbom(
        distro("ubuntu", Some("22.04"), Some("jammy")),
        vec![deb(
            "libssl3",
            "3.0.2-0ubuntu1.12",
            "openssl",
            "3.0.2-0ubuntu1.12",
        )],
    );
    let matches = find(&ubuntu, &built.index)?;
    let f = finding(&matches, "libssl3", "CVE-2024-0727");
    // Ubuntu's priority `low`, not the record's CVSS 5.5 (medium).
    assert_eq!(f.severity, SeverityLevel::Low);
    assert_eq!(f.severity_source.as_deref(), Some("ubuntu"));

    let alma = sbom(
        distro("almalinux", Some("9.4"), None),
        vec![package(
            Ecosystem::Rpm,
            "openssl-libs",
            "1:3.0.7-25.el9_3",
            Some(("openssl", "1:3.0.7-25.el9_3")),
        )],
    );
    let matches = find(&alma, &built.index)?;
    let f = finding(&matches, "openssl-libs", "ALSA-2024:2447");
    assert_eq!(f.severity, SeverityLevel::Medium);
    assert_eq!(f.severity_source.as_deref(), Some("almalinux"));
    Ok(())
}
