//! What a reader of each format would notice: the right counts, levels,
//! locations and links, and hostile advisory text shown as text, never as
//! markup, links or terminal escapes.

use portcullis_report::{Format, ReportError, ScanReport, write};
use serde_json::Value;

use crate::fixture;
use crate::schema::render;

fn text(report: &ScanReport, format: Format) -> String {
    String::from_utf8(write(report, format).expect("renders")).expect("UTF-8")
}

fn result_for<'a>(sarif: &'a Value, id: &str) -> &'a Value {
    sarif["runs"][0]["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["ruleId"] == id))
        .unwrap_or_else(|| panic!("no result for {id}"))
}

fn rule_for<'a>(sarif: &'a Value, id: &str) -> &'a Value {
    sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("no rule for {id}"))
}

#[test]
fn sarif_rules_results_levels_and_locations() {
    let report = fixture::report();
    let sarif = render(&report, Format::Sarif);
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(rules.len(), 4);
    assert_eq!(results.len(), 4);
    // GitHub ranks alerts by this CVSS-derived property.
    let kev = rule_for(&sarif, "CVE-2023-43804");
    assert_eq!(kev["properties"]["security-severity"], "9.8");
    assert!(
        kev["properties"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"known-exploited".into())
    );
    assert!(kev["help"]["markdown"].as_str().unwrap().contains("97.31%"));
    // No CVSS: the middle of the severity word's band.
    assert_eq!(
        rule_for(&sarif, "CVE-2024-2961")["properties"]["security-severity"],
        "2.0"
    );

    let kev = result_for(&sarif, "CVE-2023-43804");
    assert_eq!(kev["level"], "error");
    assert_eq!(
        kev["message"]["text"],
        "urllib3 1.26.5 is affected by CVE-2023-43804 (critical, known exploited); fixed in 1.26.17."
    );
    assert_eq!(
        kev["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "usr/local/lib/python3.11/site-packages/urllib3-1.26.5.dist-info/METADATA"
    );
    let go = result_for(&sarif, "CVE-2023-39325");
    assert_eq!(go["level"], "error");
    assert!(
        go["message"]["text"]
            .as_str()
            .unwrap()
            .ends_with("fixed in 1.20.10, 1.21.3.")
    );
    let deb = result_for(&sarif, "CVE-2024-2961");
    assert_eq!(deb["level"], "note");
    assert!(
        deb["message"]["text"]
            .as_str()
            .unwrap()
            .contains("no fix available (unfixed)")
    );
    assert_eq!(
        deb["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "var/lib/dpkg/status"
    );
    // Each finding its own fingerprint, stable across renders.
    let prints: std::collections::BTreeSet<String> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["portcullisFinding/v1"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(prints.len(), 4);
    assert_eq!(render(&report, Format::Sarif), sarif);
}

#[test]
fn sarif_keeps_hostile_text_out_of_links_and_paths() {
    let sarif = render(&fixture::report(), Format::Sarif);
    let rule = rule_for(&sarif, "GHSA-<script>x");
    assert_eq!(rule["helpUri"], "https://example.invalid/advisory");
    let markdown = rule["help"]["markdown"].as_str().unwrap();
    assert!(!markdown.contains("<script>"), "{markdown}");
    assert!(!markdown.contains("](javascript"), "{markdown}");
    let hostile = result_for(&sarif, "GHSA-<script>x");
    assert_eq!(
        hostile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "app/node_modules/evil%20pkg/%3Cb%3Epackage.json"
    );
}

#[test]
fn sarif_points_at_the_image_when_no_file_is_known() {
    let mut finding = fixture::language_kev();
    finding.package.found_in.clear();
    let report = ScanReport::new(
        fixture::tool(),
        fixture::image(),
        None,
        fixture::database(),
        fixture::SCANNED_AT.into(),
        1,
        vec![finding],
        vec![],
    );
    let sarif = render(&report, Format::Sarif);
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "oci%3A/images/oci%3Abookworm-vuln"
    );
}

#[test]
fn junit_has_one_suite_per_target_and_one_failure_per_finding() {
    let xml = text(&fixture::report(), Format::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("4"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    let names: Vec<&str> = suites.iter().filter_map(|s| s.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "/app/node_modules/evil pkg/<b>package.json",
            "/usr/local/bin/server",
            "/usr/local/lib/python3.11/site-packages/urllib3-1.26.5.dist-info/METADATA",
            "OS packages",
        ]
    );
    for suite in &suites {
        assert_eq!(suite.attribute("timestamp"), Some(fixture::SCANNED_AT));
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            assert!(
                case.children().any(|n| n.has_tag_name("failure")),
                "every finding fails"
            );
        }
    }
    let hostile = suites[0]
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .expect("failure");
    // The parser gets the hostile text back as text (NUL and ESC replaced).
    let body = hostile.text().unwrap_or_default();
    assert!(
        body.contains("<script>alert('pwned')</script> & \"quotes\""),
        "{body}"
    );
    assert!(!body.contains('\u{0}') && !body.contains('\u{1b}'));
    let case = suites[1]
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    assert_eq!(case.attribute("name"), Some("[HIGH] CVE-2023-39325"));
    assert_eq!(case.attribute("classname"), Some("stdlib-1.20.1"));
}

#[test]
fn junit_of_a_clean_image_has_one_passing_test() {
    let xml = text(&fixture::clean(), Format::Junit);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1);
    assert!(!doc.descendants().any(|n| n.has_tag_name("failure")));
    assert_eq!(doc.root_element().attribute("failures"), Some("0"));
}

#[test]
fn gitlab_severities_identifiers_and_times() {
    let gitlab = render(&fixture::report(), Format::Gitlab);
    assert_eq!(gitlab["scan"]["type"], "container_scanning");
    assert_eq!(gitlab["scan"]["start_time"], "2025-01-02T03:04:05");
    assert_eq!(gitlab["remediations"], Value::Array(vec![]));
    let vulns = gitlab["vulnerabilities"].as_array().unwrap();
    let find = |id: &str| {
        vulns
            .iter()
            .find(|v| v["identifiers"][0]["value"] == id)
            .unwrap_or_else(|| panic!("no vulnerability {id}"))
    };
    let kev = find("CVE-2023-43804");
    assert_eq!(kev["severity"], "Critical");
    assert_eq!(kev["solution"], "Upgrade urllib3 from 1.26.5 to 1.26.17.");
    assert_eq!(kev["location"]["operating_system"], "debian 12");
    assert_eq!(kev["location"]["image"], "oci:/images/oci:bookworm-vuln");
    let types: Vec<&str> = kev["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["cve", "ghsa", "pysec"]);
    assert_eq!(find("CVE-2024-2961")["severity"], "Low");
    assert_eq!(
        find("CVE-2024-2961")["solution"],
        "No fixed version is known (vendor status: unfixed)."
    );
    let ids: std::collections::BTreeSet<&str> =
        vulns.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 4, "vulnerability ids are unique");
}

#[test]
fn cyclonedx_components_are_the_vulnerable_packages_once_each() {
    let mut second = fixture::language_kev();
    second.id = "CVE-2024-37891".into();
    second.aliases = vec!["GHSA-34jh-p97f-mpxf".into()];
    second.kev = None;
    let mut findings = vec![fixture::language_kev(), second, fixture::distro_unfixed()];
    findings.push(fixture::aliases_several_fixes());
    let report = ScanReport::new(
        fixture::tool(),
        fixture::image(),
        Some(fixture::distro()),
        fixture::database(),
        fixture::SCANNED_AT.into(),
        10,
        findings,
        vec![],
    );
    let cdx = render(&report, Format::Cyclonedx);
    let components = cdx["components"].as_array().unwrap();
    assert_eq!(
        components.len(),
        3,
        "urllib3 once for its two vulnerabilities"
    );
    assert_eq!(cdx["vulnerabilities"].as_array().unwrap().len(), 4);
    assert_eq!(cdx["metadata"]["component"]["type"], "container");
    assert_eq!(cdx["metadata"]["timestamp"], fixture::SCANNED_AT);
    let kev = cdx["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "CVE-2023-43804")
        .unwrap();
    assert_eq!(kev["affects"][0]["ref"], "pkg:pypi/urllib3@1.26.5");
    assert_eq!(kev["ratings"][0]["method"], "CVSSv31");
    assert_eq!(
        kev["ratings"][0]["score"]
            .as_f64()
            .map(|s| (s * 10.0).round()),
        Some(98.0)
    );
    assert_eq!(kev["references"][0]["id"], "GHSA-v845-jxx5-vc9f");
    assert_eq!(kev["published"], "2023-10-02T23:15:12Z");
}

#[test]
fn html_shows_hostile_text_as_text_and_loads_nothing() {
    let html = text(&fixture::report(), Format::Html);
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(
        !html.contains("<img"),
        "markup in a package name is escaped"
    );
    assert!(!html.contains("<svg"), "markup in a version is escaped");
    assert!(html.contains("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;"));
    assert!(!html.contains("href=\"javascript"), "only http(s) links");
    assert!(!html.contains('\u{1b}') && !html.contains('\u{0}'));
    // Escaped text holds no `<`, so every `<…>` is a real tag: none loads anything.
    for tag in html.split('<').skip(1).filter_map(|t| t.split('>').next()) {
        for external in [" src=", "link ", "@import", "url("] {
            assert!(!tag.contains(external), "loads something: <{tag}>");
        }
    }
    assert!(
        html.contains("default-src 'none'"),
        "a CSP forbids loading anything"
    );
    // One row per finding, tagged with its severity for the check boxes.
    assert_eq!(html.matches("<tr data-severity=").count(), 4);
    for level in ["critical", "high", "medium", "low", "negligible", "unknown"] {
        assert!(
            html.contains(&format!("data-level=\"{level}\"")),
            "{level} check box"
        );
    }
    assert!(html.contains("id=\"filter\""));
    assert!(
        html.contains("<b>1</b>critical"),
        "summary counts at the top"
    );
    assert!(html.contains(">KEV<"));
    assert!(html.contains("97.31%"));
}

#[test]
fn the_table_prints_no_terminal_escapes() {
    let table = text(&fixture::report(), Format::Table);
    assert!(!table.contains('\u{1b}'));
    assert!(table.ends_with(
        "4 findings in 4 of 120 packages: 1 critical, 1 high, 1 medium, 1 low, 0 negligible, 0 unknown; 3 fixable, 1 known exploited\n"
    ));
}

#[test]
fn formats_that_carry_a_time_reject_a_malformed_scan_time() {
    let mut report = fixture::report();
    report.scanned_at = "now-ish".into();
    for format in [Format::Sarif, Format::Gitlab, Format::Cyclonedx] {
        match write(&report, format) {
            Err(ReportError::ScannedAt(t)) => assert_eq!(t, "now-ish"),
            other => panic!("{format:?}: {:?}", other.map(|b| b.len())),
        }
    }
    for format in [Format::Table, Format::Json, Format::Junit, Format::Html] {
        assert!(write(&report, format).is_ok(), "{format:?}");
    }
}
