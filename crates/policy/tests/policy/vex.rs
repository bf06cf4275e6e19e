use std::path::Path;

use portcullis_policy::{
    ImageScope, VexDocument, VexError, VexFormat, VexStatus, VexVerdict, evaluate_documents,
};
use portcullis_types::{Ecosystem, Finding};

use super::support::{
    IMAGE_DIGEST, finding, glibc_binary, image, lodash, log4j, other_image, requests, urllib3,
};

fn openvex() -> VexDocument {
    VexDocument::from_path(Path::new("tests/fixtures/vex/bookworm-vuln.openvex.json"))
        .unwrap_or_else(|e| panic!("the OpenVEX fixture parses: {e}"))
}

fn cyclonedx() -> VexDocument {
    VexDocument::from_path(Path::new("tests/fixtures/vex/bookworm-vuln.cdx.json"))
        .unwrap_or_else(|e| panic!("the CycloneDX fixture parses: {e}"))
}

/// A verdict in one line: status, justification, suppression and statement.
fn line(verdict: Option<VexVerdict>) -> String {
    match verdict {
        None => "none".to_owned(),
        Some(v) => format!(
            "{} {} {} {}",
            v.status.as_str(),
            v.justification.as_deref().unwrap_or("-"),
            if v.suppresses {
                "suppresses"
            } else {
                "annotates"
            },
            v.statement
        ),
    }
}

#[test]
fn openvex_statements_apply_by_scope() {
    let doc = openvex();
    assert_eq!(doc.format, VexFormat::OpenVex);
    assert_eq!(doc.statements.len(), 5);
    let lodash_4_17_5 = finding(
        "CVE-2019-10744",
        &[],
        Ecosystem::Npm,
        "lodash",
        "4.17.5",
        "pkg:npm/lodash@4.17.5",
    );
    let urllib3_newer = finding(
        "CVE-2019-11324",
        &[],
        Ecosystem::Python,
        "urllib3",
        "1.26.0",
        "pkg:pypi/urllib3@1.26.0",
    );
    let cases: Vec<(&str, Finding, ImageScope, &str)> = vec![
        // The later timestamp wins over the later position in the document.
        (
            "subcomponent with version",
            lodash("CVE-2019-10744", &[]),
            image(),
            "not_affected vulnerable_code_not_in_execute_path suppresses statements[0]",
        ),
        (
            "finding ID is the statement's alias",
            lodash("GHSA-jf85-cpcp-j695", &["CVE-2019-10744"]),
            image(),
            "not_affected vulnerable_code_not_in_execute_path suppresses statements[0]",
        ),
        (
            "another image",
            lodash("CVE-2019-10744", &[]),
            other_image(),
            "none",
        ),
        (
            "subcomponent version differs",
            lodash_4_17_5,
            image(),
            "none",
        ),
        (
            "another vulnerability",
            lodash("CVE-2020-8203", &[]),
            image(),
            "none",
        ),
        (
            "subcomponent without version",
            urllib3("CVE-2019-11324", &[]),
            image(),
            "affected - annotates statements[1]",
        ),
        (
            "subcomponent without version, other version",
            urllib3_newer,
            image(),
            "affected - annotates statements[1]",
        ),
        (
            "matched through a finding alias",
            urllib3("GHSA-mh33-7rrq-662w", &["CVE-2019-11324"]),
            image(),
            "affected - annotates statements[1]",
        ),
        (
            "subcomponent is another package",
            requests("CVE-2019-11324", &[]),
            image(),
            "none",
        ),
        (
            "product is the package",
            log4j("CVE-2019-17571"),
            image(),
            "under_investigation - annotates statements[2]",
        ),
        (
            "product is the package, any image",
            log4j("CVE-2019-17571"),
            other_image(),
            "under_investigation - annotates statements[2]",
        ),
        (
            "image by reference@digest, no subcomponents",
            glibc_binary("CVE-2023-4911", "libc6"),
            image(),
            "fixed - suppresses statements[3]",
        ),
        (
            "image-wide statement, another package",
            glibc_binary("CVE-2023-4911", "libc-bin"),
            image(),
            "fixed - suppresses statements[3]",
        ),
        (
            "image-wide statement, another image",
            glibc_binary("CVE-2023-4911", "libc6"),
            other_image(),
            "none",
        ),
        (
            "an image known only by its config digest",
            glibc_binary("CVE-2023-4911", "libc6"),
            ImageScope::new().with_digest(
                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ),
            "none",
        ),
    ];
    for (what, finding, scope, expected) in cases {
        assert_eq!(line(doc.evaluate(&finding, &scope)), expected, "{what}");
    }
}

#[test]
fn openvex_verdicts_carry_detail_and_document() {
    let doc = openvex();
    let Some(verdict) = doc.evaluate(&lodash("CVE-2019-10744", &[]), &image()) else {
        panic!("statement 0 applies");
    };
    assert_eq!(
        verdict.detail.as_deref(),
        Some("defaultsDeep is never called; the application only uses lodash.get")
    );
    assert_eq!(
        verdict.document,
        "tests/fixtures/vex/bookworm-vuln.openvex.json"
    );
    assert_eq!(verdict.timestamp.as_deref(), Some("2025-03-01T09:30:00Z"));
    let affected = doc.evaluate(&urllib3("CVE-2019-11324", &[]), &image());
    assert_eq!(
        affected.and_then(|v| v.detail),
        Some("Upgrade urllib3 to 1.24.2 or later".to_owned())
    );
    let json = serde_json::to_value(doc.evaluate(&log4j("CVE-2019-17571"), &image()));
    assert_eq!(
        json.ok().and_then(|j| j.get("status").cloned()),
        Some(serde_json::json!("under_investigation"))
    );
}

#[test]
fn cyclonedx_statements_apply_by_scope() {
    let doc = cyclonedx();
    assert_eq!(doc.format, VexFormat::CycloneDx);
    assert_eq!(
        doc.id.as_deref(),
        Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79")
    );
    // vuln-5 has no analysis and is not a statement.
    assert_eq!(doc.statements.len(), 5);
    let requests_newer = finding(
        "CVE-2018-18074",
        &[],
        Ecosystem::Python,
        "requests",
        "2.31.0",
        "pkg:pypi/requests@2.31.0",
    );
    let cases: Vec<(&str, Finding, ImageScope, &str)> = vec![
        (
            "bom-ref resolved to a purl",
            requests("CVE-2018-18074", &[]),
            other_image(),
            "not_affected code_not_reachable suppresses vulnerabilities[0]",
        ),
        (
            "through a reference id",
            requests("GHSA-x84v-xcm2-53pg", &[]),
            image(),
            "not_affected code_not_reachable suppresses vulnerabilities[0]",
        ),
        (
            "the component's version differs",
            requests_newer,
            image(),
            "none",
        ),
        (
            "ref that is a purl",
            lodash("CVE-2020-8203", &[]),
            image(),
            "exploitable - annotates vulnerabilities[1]",
        ),
        (
            "ref to the image subject",
            urllib3("CVE-2019-11236", &[]),
            image(),
            "false_positive - suppresses vulnerabilities[2]",
        ),
        (
            "ref to the image subject, another image",
            urllib3("CVE-2019-11236", &[]),
            other_image(),
            "none",
        ),
        (
            "versions given only as ranges",
            lodash("CVE-2021-23337", &[]),
            image(),
            "none",
        ),
        (
            "no analysis",
            lodash("CVE-2018-16487", &[]),
            image(),
            "none",
        ),
        (
            "BOM-Link to the image",
            glibc_binary("CVE-2023-4911", "libc6"),
            image(),
            "in_triage - annotates vulnerabilities[5]",
        ),
    ];
    for (what, finding, scope, expected) in cases {
        assert_eq!(line(doc.evaluate(&finding, &scope)), expected, "{what}");
    }
    let exploitable = doc.evaluate(&lodash("CVE-2020-8203", &[]), &image());
    assert_eq!(
        exploitable.map(|v| v.responses),
        Some(vec!["update".to_owned(), "workaround_available".to_owned()])
    );
}

#[test]
fn the_latest_statement_wins_across_documents() {
    let documents = [openvex(), cyclonedx()];
    let libc6 = glibc_binary("CVE-2023-4911", "libc6");
    // OpenVEX says fixed (2025-03-01, inherited); CycloneDX says in_triage (2025-04-03).
    let verdict = evaluate_documents(&documents, &libc6, &image());
    assert_eq!(
        line(verdict.clone()),
        "in_triage - annotates vulnerabilities[5]"
    );
    assert_eq!(
        verdict.map(|v| v.document),
        Some("tests/fixtures/vex/bookworm-vuln.cdx.json".to_owned())
    );
    let reversed = [cyclonedx(), openvex()];
    assert_eq!(
        line(evaluate_documents(&reversed, &libc6, &image())),
        "in_triage - annotates vulnerabilities[5]"
    );
    assert_eq!(line(evaluate_documents(&[], &libc6, &image())), "none");
}

fn openvex_statement(status: &str, extra: &str, product: &str, timestamp: &str) -> String {
    format!(
        r#"{{"vulnerability": {{"name": "CVE-2019-10744"}}, "products": [{product}], "status": "{status}"{extra}{timestamp}}}"#
    )
}

fn openvex_doc(statements: &[String]) -> String {
    format!(
        r#"{{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://vex.example.invalid/t", "author": "t", "timestamp": "2025-01-01T00:00:00Z", "version": 1, "statements": [{}]}}"#,
        statements.join(",")
    )
}

const LODASH_PRODUCT: &str = r#"{"@id": "pkg:npm/lodash@4.17.4"}"#;

#[test]
fn every_openvex_status_and_justification() -> anyhow::Result<()> {
    let statuses = [
        (
            "not_affected",
            r#", "justification": "component_not_present""#,
            VexStatus::NotAffected,
            true,
        ),
        ("affected", "", VexStatus::Affected, false),
        ("fixed", "", VexStatus::Fixed, true),
        (
            "under_investigation",
            "",
            VexStatus::UnderInvestigation,
            false,
        ),
    ];
    for (label, extra, status, suppresses) in statuses {
        let text = openvex_doc(&[openvex_statement(label, extra, LODASH_PRODUCT, "")]);
        let verdict = VexDocument::parse(text.as_bytes(), "t.json")?
            .evaluate(&lodash("CVE-2019-10744", &[]), &image());
        assert_eq!(
            verdict.as_ref().map(|v| (v.status, v.suppresses)),
            Some((status, suppresses)),
            "{label}"
        );
        assert_eq!(status.as_str(), label);
    }
    for justification in [
        "component_not_present",
        "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist",
    ] {
        let extra = format!(r#", "justification": "{justification}""#);
        let text = openvex_doc(&[openvex_statement(
            "not_affected",
            &extra,
            LODASH_PRODUCT,
            "",
        )]);
        let verdict = VexDocument::parse(text.as_bytes(), "t.json")?
            .evaluate(&lodash("CVE-2019-10744", &[]), &image());
        assert_eq!(
            verdict.and_then(|v| v.justification).as_deref(),
            Some(justification)
        );
    }
    Ok(())
}

fn cyclonedx_doc(analysis: &str, reference: &str) -> String {
    format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
  "vulnerabilities": [{{"id": "CVE-2019-10744", "analysis": {analysis}, "affects": [{{"ref": "{reference}"}}]}}]}}"#
    )
}

#[test]
fn every_cyclonedx_state_and_justification() -> anyhow::Result<()> {
    let states = [
        ("resolved", VexStatus::Resolved, true),
        (
            "resolved_with_pedigree",
            VexStatus::ResolvedWithPedigree,
            true,
        ),
        ("exploitable", VexStatus::Exploitable, false),
        ("in_triage", VexStatus::InTriage, false),
        ("false_positive", VexStatus::FalsePositive, true),
        ("not_affected", VexStatus::NotAffected, true),
    ];
    for (label, status, suppresses) in states {
        let text = cyclonedx_doc(
            &format!(r#"{{"state": "{label}"}}"#),
            "pkg:npm/lodash@4.17.4",
        );
        let verdict = VexDocument::parse(text.as_bytes(), "c.json")?
            .evaluate(&lodash("CVE-2019-10744", &[]), &image());
        assert_eq!(
            verdict.as_ref().map(|v| (v.status, v.suppresses)),
            Some((status, suppresses)),
            "{label}"
        );
        assert_eq!(status.as_str(), label);
    }
    for justification in [
        "code_not_present",
        "code_not_reachable",
        "requires_configuration",
        "requires_dependency",
        "requires_environment",
        "protected_by_compiler",
        "protected_at_runtime",
        "protected_at_perimeter",
        "protected_by_mitigating_control",
    ] {
        let analysis = format!(
            r#"{{"state": "not_affected", "justification": "{justification}", "detail": "d"}}"#
        );
        let text = cyclonedx_doc(&analysis, "pkg:npm/lodash@4.17.4");
        let verdict = VexDocument::parse(text.as_bytes(), "c.json")?
            .evaluate(&lodash("CVE-2019-10744", &[]), &image());
        assert_eq!(
            verdict.map(|v| (v.justification, v.detail)),
            Some((Some(justification.to_owned()), Some("d".to_owned())))
        );
    }
    Ok(())
}

#[test]
fn image_identities() {
    let scope = image();
    let hex = IMAGE_DIGEST.trim_start_matches("sha256:");
    let cases = [
        (IMAGE_DIGEST.to_owned(), true),
        (
            IMAGE_DIGEST.to_uppercase().replace("SHA256", "sha256"),
            true,
        ),
        (format!("pkg:oci/bookworm-vuln@sha256%3A{hex}"), true),
        (format!("pkg:oci/anything@sha256:{hex}?arch=amd64"), true),
        (
            format!("registry.example.invalid/apps/bookworm-vuln@sha256:{hex}"),
            true,
        ),
        (
            "registry.example.invalid/apps/bookworm-vuln:1.0".to_owned(),
            true,
        ),
        (
            "registry.example.invalid/apps/bookworm-vuln:2.0".to_owned(),
            false,
        ),
        ("pkg:oci/bookworm-vuln".to_owned(), false),
        (format!("pkg:docker/bookworm-vuln@sha256:{hex}"), false),
        (super::support::OTHER_DIGEST.to_owned(), false),
        (String::new(), false),
    ];
    for (identifier, expected) in cases {
        assert_eq!(scope.identifies(&identifier), expected, "{identifier}");
    }
}

#[test]
fn scope_rules_for_products() -> anyhow::Result<()> {
    let hex = IMAGE_DIGEST.trim_start_matches("sha256:");
    let image_id = format!(r#""@id": "pkg:oci/app@sha256%3A{hex}""#);
    let libc6 = glibc_binary("CVE-2019-10744", "libc6");
    let lodash_finding = lodash("CVE-2019-10744", &[]);
    let cases = [
        (format!("{{{image_id}}}"), &lodash_finding, true),
        (format!("{{{image_id}}}"), &libc6, true),
        (
            format!(r#"{{{image_id}, "subcomponents": [{{"@id": "pkg:npm/lodash"}}]}}"#),
            &lodash_finding,
            true,
        ),
        (
            format!(r#"{{{image_id}, "subcomponents": [{{"@id": "pkg:npm/lodash"}}]}}"#),
            &libc6,
            false,
        ),
        (
            format!(r#"{{{image_id}, "subcomponents": [{{"@id": "pkg:npm/lodash@4.17.3"}}]}}"#),
            &lodash_finding,
            false,
        ),
        (
            format!(
                r#"{{{image_id}, "subcomponents": [{{"identifiers": {{"purl": "pkg:npm/lodash@4.17.4?foo=bar"}}}}]}}"#
            ),
            &lodash_finding,
            true,
        ),
        (
            format!(r#"{{"hashes": {{"sha-256": "{hex}"}}}}"#),
            &libc6,
            true,
        ),
        (
            r#"{"@id": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=arm64"}"#.to_owned(),
            &libc6,
            true,
        ),
        (
            r#"{"@id": "pkg:deb/debian/libc6@2.36-9+deb12u13"}"#.to_owned(),
            &libc6,
            false,
        ),
        // A package product's subcomponents do not widen it to other packages.
        (
            r#"{"@id": "pkg:npm/express@4.0.0", "subcomponents": [{"@id": "pkg:npm/lodash"}]}"#
                .to_owned(),
            &lodash_finding,
            false,
        ),
    ];
    for (product, finding, expected) in cases {
        let text = openvex_doc(&[openvex_statement("fixed", "", &product, "")]);
        let doc = VexDocument::parse(text.as_bytes(), "scope.json")?;
        assert_eq!(
            doc.evaluate(finding, &image()).is_some(),
            expected,
            "{product} / {}",
            finding.package.purl
        );
    }
    Ok(())
}

#[test]
fn timestamps_then_document_order_decide() -> anyhow::Result<()> {
    let at = |t: &str| format!(r#", "timestamp": "{t}""#);
    let finding = lodash("CVE-2019-10744", &[]);
    let decide = |statements: &[String]| -> anyhow::Result<String> {
        let doc = VexDocument::parse(openvex_doc(statements).as_bytes(), "order.json")?;
        Ok(line(doc.evaluate(&finding, &image())))
    };
    let fixed_late = openvex_statement(
        "fixed",
        "",
        LODASH_PRODUCT,
        &at("2025-02-01T00:45:00+01:00"),
    );
    let affected_early =
        openvex_statement("affected", "", LODASH_PRODUCT, &at("2025-01-31T23:30:00Z"));
    assert_eq!(
        decide(&[fixed_late.clone(), affected_early.clone()])?,
        "fixed - suppresses statements[0]"
    );
    assert_eq!(
        decide(&[affected_early, fixed_late])?,
        "fixed - suppresses statements[1]"
    );
    // Equal timestamps (one inherited from the document): the last one wins.
    let inherited = openvex_statement("affected", "", LODASH_PRODUCT, "");
    let same = openvex_statement("fixed", "", LODASH_PRODUCT, &at("2025-01-01T00:00:00Z"));
    assert_eq!(
        decide(&[inherited.clone(), same.clone()])?,
        "fixed - suppresses statements[1]"
    );
    assert_eq!(
        decide(&[same, inherited])?,
        "affected - annotates statements[1]"
    );
    Ok(())
}

fn error(text: &str) -> String {
    match VexDocument::parse(text.as_bytes(), "bad.json") {
        Ok(doc) => panic!("should be rejected, got {doc:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_documents_are_rejected_with_positions() {
    let statement = openvex_statement(
        "not_affected",
        r#", "justification": "because""#,
        LODASH_PRODUCT,
        "",
    );
    let text = openvex_doc(&[statement]).replace(", \"statements\"", ",\n\"statements\"");
    assert!(
        error(&text).starts_with("bad.json:2:")
            && error(&text).contains("unknown variant `because`"),
        "{}",
        error(&text)
    );
    let bad_status = openvex_doc(&[openvex_statement("maybe", "", LODASH_PRODUCT, "")]);
    assert!(
        error(&bad_status).contains("unknown variant `maybe`"),
        "{}",
        error(&bad_status)
    );
    let bad_time = openvex_doc(&[openvex_statement(
        "fixed",
        "",
        LODASH_PRODUCT,
        r#", "timestamp": "yesterday""#,
    )]);
    assert!(
        error(&bad_time).contains("invalid timestamp `yesterday`"),
        "{}",
        error(&bad_time)
    );
    assert_eq!(
        error("{\n  \"@context\": \"https://openvex.dev/ns/v0.2.0\",\n  \"statements\": [\n"),
        "bad.json:4:0: EOF while parsing a list"
    );
    let bad_state = cyclonedx_doc(r#"{"state": "unknown"}"#, "x");
    assert!(
        error(&bad_state).starts_with("bad.json:2:"),
        "{}",
        error(&bad_state)
    );
}

#[test]
fn a_not_affected_statement_needs_a_reason() {
    let text = openvex_doc(&[openvex_statement("not_affected", "", LODASH_PRODUCT, "")]);
    assert_eq!(
        error(&text),
        "bad.json: statements[0] (`CVE-2019-10744`): `not_affected` without a `justification` or an `impact_statement`: the specification requires one"
    );
    let with_statement = openvex_doc(&[openvex_statement(
        "not_affected",
        r#", "impact_statement": "never loaded""#,
        LODASH_PRODUCT,
        "",
    )]);
    assert!(VexDocument::parse(with_statement.as_bytes(), "ok.json").is_ok());
    let no_products =
        openvex_doc(&[r#"{"vulnerability": {"name": "CVE-1"}, "status": "fixed"}"#.to_owned()]);
    assert!(
        error(&no_products).contains("no `products`"),
        "{}",
        error(&no_products)
    );
}

#[test]
fn other_documents_are_not_vex() {
    let spdx = r#"{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}"#;
    assert!(matches!(
        VexDocument::parse(spdx.as_bytes(), "sbom.spdx.json"),
        Err(VexError::UnknownFormat { .. })
    ));
    assert!(matches!(
        VexDocument::parse(b"[]", "list.json"),
        Err(VexError::UnknownFormat { .. })
    ));
    assert!(matches!(
        VexDocument::parse(b"not json", "text.json"),
        Err(VexError::Invalid {
            line: 1,
            column: 2,
            ..
        })
    ));
    let old = r#"{"@context": "https://openvex.dev/ns/v0.0.1", "statements": []}"#;
    assert_eq!(
        error(old),
        "bad.json: unsupported OpenVEX version `https://openvex.dev/ns/v0.0.1`: portcullis reads OpenVEX 0.2.0 (`https://openvex.dev/ns/v0.2.0`)"
    );
    let cdx13 = r#"{"bomFormat": "CycloneDX", "specVersion": "1.3"}"#;
    assert_eq!(
        error(cdx13),
        "bad.json: unsupported CycloneDX version `1.3`: portcullis reads CycloneDX 1.4, 1.5 and 1.6"
    );
    let other_context = r#"{"@context": "https://www.w3.org/2018/credentials/v1"}"#;
    assert!(matches!(
        VexDocument::parse(other_context.as_bytes(), "vc.json"),
        Err(VexError::UnknownFormat { .. })
    ));
}
