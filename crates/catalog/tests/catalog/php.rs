//! Composer packages read through the real image reader, from files Composer wrote (see
//! `tests/fixtures/php-composer/`).

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;

use crate::support::catalog_layers;

fn fixture(name: &str) -> Vec<u8> {
    crate::support::fixture("php-composer", name)
}

fn table(catalog: &Catalog) -> Vec<String> {
    crate::support::table(catalog, "composer", &["version_normalized", "dev", "path"])
}

#[test]
fn installed_and_locked_packages_of_one_project_are_reported_once() -> anyhow::Result<()> {
    let lock = LayerBuilder::new().file("var/www/composer.lock", fixture("app/composer.lock"));
    let vendor = LayerBuilder::new()
        .file(
            "var/www/vendor/composer/installed.json",
            fixture("app/vendor/composer/installed.json"),
        )
        // A second project that only has a lockfile: its dev package is not installed.
        .file("srv/other/composer.lock", fixture("app/composer.lock"));
    let (catalog, _) = catalog_layers(vec![lock, vendor])?;
    assert_eq!(
        table(&catalog),
        [
            "acme/http 2.0.1 /srv/other/composer.lock [version_normalized=2.0.1.0] layer=1",
            "acme/http 2.0.1 /var/www/vendor/composer/installed.json,/var/www/composer.lock [version_normalized=2.0.1.0 path=/var/www/vendor/acme/http] layer=1",
            "acme/log v1.2.0 /srv/other/composer.lock [version_normalized=1.2.0.0] layer=1",
            "acme/log v1.2.0 /var/www/vendor/composer/installed.json,/var/www/composer.lock [version_normalized=1.2.0.0 path=/var/www/vendor/acme/log] layer=1",
            "acme/testkit 0.3.0 /var/www/vendor/composer/installed.json,/var/www/composer.lock [version_normalized=0.3.0.0 dev=true path=/var/www/vendor/acme/testkit] layer=1",
        ]
    );
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    let http = catalog
        .packages
        .iter()
        .find(|p| p.name == "acme/http")
        .expect("acme/http");
    assert_eq!(http.purl, "pkg:composer/acme/http@2.0.1");
    assert_eq!(http.licenses, ["MIT", "Apache-2.0"]);
    Ok(())
}

#[test]
fn composer_1_installed_json() -> anyhow::Result<()> {
    let layer = LayerBuilder::new().file(
        "app/vendor/composer/installed.json",
        fixture("composer1/installed.json"),
    );
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(
        table(&catalog),
        [
            "monolog/monolog 1.25.1 /app/vendor/composer/installed.json [version_normalized=1.25.1.0] layer=0",
            "symfony/polyfill-ctype v1.17.0 /app/vendor/composer/installed.json [version_normalized=1.17.0.0] layer=0",
        ]
    );
    let ctype = &catalog.packages[1];
    assert_eq!(ctype.purl, "pkg:composer/symfony/polyfill-ctype@v1.17.0");
    assert_eq!(
        ctype.metadata["reference"],
        "e94c8b1bbe2bc77507a1056cdb06451c75b427f9"
    );
    Ok(())
}

#[test]
fn a_malformed_lockfile_is_reported_and_the_rest_catalogued() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        .file(
            "srv/broken/composer.lock",
            fixture("malformed/composer.lock"),
        )
        .file(
            "app/vendor/composer/installed.json",
            fixture("composer1/installed.json"),
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(table(&catalog).len(), 2);
    assert_eq!(catalog.warnings.len(), 1, "{:?}", catalog.warnings);
    assert!(
        catalog.warnings[0].starts_with("skipped `/srv/broken/composer.lock`: invalid JSON (EOF"),
        "{:?}",
        catalog.warnings
    );
    Ok(())
}
