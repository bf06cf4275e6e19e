//! What a newcomer sees first: `--help` screens.

use crate::harness::{portcullis, run_ok};

#[test]
fn sbom_help_shows_every_source_syntax_with_an_example() -> anyhow::Result<()> {
    let help = String::from_utf8(run_ok(portcullis().args(["sbom", "--help"]))?)?;
    for syntax in [
        "oci:DIR[:TAG]",
        "docker-archive:FILE",
        "docker://REF",
        "dir:PATH",
        "portcullis sbom oci:",
        "portcullis sbom docker-archive:",
        "portcullis sbom docker://",
        "portcullis sbom debian:12",
        "portcullis sbom dir:/",
    ] {
        assert!(
            help.contains(syntax),
            "`{syntax}` missing from sbom --help:\n{help}"
        );
    }
    insta::assert_snapshot!("sbom_help", help);
    Ok(())
}

#[test]
fn top_level_help_lists_the_commands() -> anyhow::Result<()> {
    let help = String::from_utf8(run_ok(portcullis().arg("--help"))?)?;
    insta::assert_snapshot!("top_help", help);
    Ok(())
}

#[test]
fn db_help_names_the_data_directory_and_every_subcommand() -> anyhow::Result<()> {
    let help = String::from_utf8(run_ok(portcullis().args(["db", "--help"]))?)?;
    for word in [
        "update",
        "status",
        "search",
        "export",
        "import",
        "PORTCULLIS_HOME",
    ] {
        assert!(
            help.contains(word),
            "`{word}` missing from db --help:\n{help}"
        );
    }
    insta::assert_snapshot!("db_help", help);
    let update = String::from_utf8(run_ok(portcullis().args(["db", "update", "--help"]))?)?;
    insta::assert_snapshot!("db_update_help", update);
    Ok(())
}

#[test]
fn scan_help_lists_formats_filters_and_exit_codes() -> anyhow::Result<()> {
    let help = String::from_utf8(run_ok(portcullis().args(["scan", "--help"]))?)?;
    for word in [
        "sarif",
        "junit",
        "gitlab",
        "cyclonedx",
        "html",
        "--fail-on",
        "--ignore-unfixed",
        "--vex",
        "--ignore-file",
        "--base",
        "EXIT CODES",
        "sbom:FILE",
    ] {
        assert!(
            help.contains(word),
            "`{word}` missing from scan --help:\n{help}"
        );
    }
    insta::assert_snapshot!("scan_help", help);
    Ok(())
}

#[test]
fn server_help_names_every_setting_with_its_variable() -> anyhow::Result<()> {
    let help = String::from_utf8(run_ok(portcullis().args(["server", "--help"]))?)?;
    for variable in [
        "PORTCULLIS_CONFIG",
        "PORTCULLIS_DATA_DIR",
        "PORTCULLIS_DATABASE_URL",
        "PORTCULLIS_HOME",
        "PORTCULLIS_LISTEN",
        "PORTCULLIS_TLS_CERT",
    ] {
        anyhow::ensure!(help.contains(variable), "{variable} missing from:\n{help}");
    }
    insta::assert_snapshot!("server_help", help);
    Ok(())
}

#[test]
fn gate_help_documents_the_exit_codes_and_the_environment() -> anyhow::Result<()> {
    let help = String::from_utf8(run_ok(portcullis().args(["gate", "--help"]))?)?;
    for needle in [
        "PORTCULLIS_SERVER",
        "PORTCULLIS_TOKEN",
        "PORTCULLIS_STAGE",
        "PORTCULLIS_GATE_TIMEOUT",
        "3  nudged and not approved",
        "4  blocked",
    ] {
        anyhow::ensure!(help.contains(needle), "`{needle}` missing from:\n{help}");
    }
    insta::assert_snapshot!("gate_help", help);
    let approve = String::from_utf8(run_ok(portcullis().args(["approve", "--help"]))?)?;
    insta::assert_snapshot!("approve_help", approve);
    Ok(())
}
