//! python cataloger: real installed metadata (pip, Debian, distutils, setuptools eggs) and
//! real lockfiles (poetry, uv, pipenv, uv pip compile) read through the image reader.

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;
use portcullis_types::{Ecosystem, Package};

use crate::support::catalog_layers;

const SITE: &str = "usr/local/lib/python3.11/site-packages";
const DIST: &str = "usr/lib/python3/dist-packages";

use crate::support::{add_dir, fixture_path as fixture};

fn python(catalog: &Catalog) -> Vec<&Package> {
    catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Python)
        .collect()
}

fn rows(catalog: &Catalog) -> Vec<(String, String, Option<usize>)> {
    python(catalog)
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.layer.as_ref().map(|l| l.index),
            )
        })
        .collect()
}

fn find<'a>(catalog: &'a Catalog, name: &str, version: &str) -> &'a Package {
    python(catalog)
        .into_iter()
        .find(|p| p.name == name && p.version == version)
        .unwrap_or_else(|| panic!("{name} {version} not catalogued: {:?}", rows(catalog)))
}

fn row(name: &str, version: &str, layer: usize) -> (String, String, Option<usize>) {
    (name.into(), version.into(), Some(layer))
}

#[test]
fn installed_distributions_of_every_form() -> anyhow::Result<()> {
    let installed = fixture("python-installed");
    let base = add_dir(LayerBuilder::new(), &installed.join("site-packages"), SITE)?;
    let base = add_dir(base, &installed.join("dist-packages"), DIST)?;
    // An unzipped egg in a virtual environment, and a broken METADATA beside it.
    let app = LayerBuilder::new()
        .file(
            "opt/venv/lib/python3.9/site-packages/Unzipped_Egg-2.0-py3.9.egg/EGG-INFO/PKG-INFO",
            "Metadata-Version: 1.1\nName: Unzipped_Egg\nVersion: 2.0\nLicense: BSD-3-Clause\n",
        )
        .file(
            "opt/venv/lib/python3.9/site-packages/broken-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nSummary: no name here\n",
        );
    let (catalog, _) = catalog_layers(vec![base, app])?;
    assert_eq!(
        rows(&catalog),
        vec![
            row("Legacy_Thing", "1.2.3", 0),
            row("PyYAML", "6.0", 0),
            row("Unzipped_Egg", "2.0", 1),
            row("python-apt", "2.6.0", 0),
            row("requests", "2.19.1", 0),
            row("six", "1.16.0", 0),
            row("typing_extensions", "4.12.2", 0),
            row("zipped.egg-thing", "0.4.0", 0),
            row("zope.interface", "6.4", 0),
        ]
    );
    assert_eq!(
        catalog.warnings,
        vec![
            "skipped `/opt/venv/lib/python3.9/site-packages/broken-1.0.dist-info/METADATA`: no `Name` header"
        ]
    );

    let requests = find(&catalog, "requests", "2.19.1");
    let site = format!("/{SITE}");
    assert_eq!(requests.purl, "pkg:pypi/requests@2.19.1");
    assert_eq!(requests.licenses, vec!["Apache 2.0"]);
    assert_eq!(
        requests.found_in,
        vec![format!("{site}/requests-2.19.1.dist-info/METADATA")]
    );
    assert_eq!(
        requests.metadata["path"],
        format!("{site}/requests-2.19.1.dist-info")
    );
    assert_eq!(requests.metadata["site_packages"], site);
    // RECORD lists 27 files, relative to site-packages.
    assert_eq!(requests.files.len(), 27, "{:?}", requests.files);
    assert!(
        requests
            .files
            .contains(&format!("{site}/requests/sessions.py"))
    );

    // Names keep their spelling; the purl and `normalized_name` follow the rules.
    let zope = find(&catalog, "zope.interface", "6.4");
    assert_eq!(zope.purl, "pkg:pypi/zope.interface@6.4");
    assert_eq!(zope.metadata["normalized_name"], "zope-interface");
    let te = find(&catalog, "typing_extensions", "4.12.2");
    assert_eq!(te.purl, "pkg:pypi/typing-extensions@4.12.2");
    assert_eq!(te.metadata["normalized_name"], "typing-extensions");

    // distutils' plain `.egg-info` file and a zipped egg (summarised while streaming).
    let legacy = find(&catalog, "Legacy_Thing", "1.2.3");
    let legacy_file = format!("{site}/Legacy_Thing-1.2.3-py3.11.egg-info");
    assert_eq!(legacy.found_in, vec![legacy_file.clone()]);
    assert_eq!(legacy.metadata["path"], legacy_file);
    assert_eq!(legacy.licenses, vec!["MIT"]);
    let egg = find(&catalog, "zipped.egg-thing", "0.4.0");
    assert_eq!(
        egg.found_in,
        vec![format!("{site}/zipped.egg_thing-0.4.0-py3.11.egg")]
    );
    assert_eq!(egg.licenses, vec!["Apache-2.0"]);
    assert_eq!(egg.metadata["normalized_name"], "zipped-egg-thing");

    // Debian's egg-info directories and dist-info in dist-packages.
    let six = find(&catalog, "six", "1.16.0");
    assert_eq!(
        six.metadata["path"],
        "/usr/lib/python3/dist-packages/six-1.16.0.egg-info"
    );
    assert_eq!(six.licenses, vec!["MIT"]);
    let unzipped = find(&catalog, "Unzipped_Egg", "2.0");
    assert_eq!(
        unzipped.metadata["path"],
        "/opt/venv/lib/python3.9/site-packages/Unzipped_Egg-2.0-py3.9.egg"
    );
    Ok(())
}

#[test]
fn lockfiles_of_every_kind() -> anyhow::Result<()> {
    let locks = fixture("python-locks");
    let layer = add_dir(LayerBuilder::new(), &locks, "app")?;
    let (catalog, _) = catalog_layers(vec![layer])?;
    let of = |file: &str| -> Vec<(String, String, bool)> {
        let mut rows: Vec<_> = python(&catalog)
            .into_iter()
            .filter(|p| p.found_in == vec![format!("/app/{file}")])
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.metadata.get("dev").is_some_and(|d| d == "true"),
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let r = |name: &str, version: &str, dev: bool| (name.to_owned(), version.to_owned(), dev);
    assert_eq!(
        of("poetry/poetry.lock"),
        vec![
            r("certifi", "2026.10.18", false),
            r("chardet", "3.0.4", false),
            r("idna", "2.7", false),
            r("requests", "2.19.1", false),
            r("setuptools", "82.0.1", false),
            r("typing-extensions", "4.12.2", true),
            r("urllib3", "1.23", false),
            r("zope-interface", "6.4", false),
        ]
    );
    // The project itself (`fixture-app`, a virtual source) is the application.
    assert_eq!(
        of("uv/uv.lock"),
        vec![
            r("certifi", "2026.10.18", false),
            r("chardet", "3.0.4", false),
            r("idna", "2.7", false),
            r("requests", "2.19.1", false),
            r("setuptools", "82.0.1", false),
            r("setuptools", "84.2.1", false),
            r("typing-extensions", "4.12.2", true),
            r("urllib3", "1.23", false),
            r("zope-interface", "6.4", false),
        ]
    );
    assert_eq!(
        of("pipenv/Pipfile.lock"),
        vec![
            r("certifi", "2026.10.18", false),
            r("chardet", "3.0.4", false),
            r("idna", "2.7", false),
            r("requests", "2.19.1", false),
            r("setuptools", "84.2.1", false),
            r("typing-extensions", "4.12.2", true),
            r("urllib3", "1.23", false),
            r("zope.interface", "6.4", false),
        ]
    );
    assert_eq!(
        of("requirements/requirements.txt"),
        vec![
            r("certifi", "2026.10.18", false),
            r("cffi", "2.1.1", false),
            r("chardet", "3.0.4", false),
            r("cryptography", "50.0.2", false),
            r("idna", "2.7", false),
            r("pycparser", "3.12", false),
            r("pyopenssl", "26.4.0", false),
            r("requests", "2.19.1", false),
            r("setuptools", "84.2.1", false),
            r("typing-extensions", "4.16.0", false),
            r("urllib3", "1.23", false),
            r("zope-interface", "6.4", false),
        ]
    );
    let requests = find(&catalog, "requests", "2.19.1");
    assert_eq!(requests.layer.as_ref().map(|l| l.index), Some(0));
    assert!(requests.metadata.contains_key("lockfile"));
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    Ok(())
}

#[test]
fn requirements_includes_and_malformed_lockfiles() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        .file(
            "srv/api/requirements-dev.txt",
            "# development tools\n-r requirements.txt\n-r requirements/test.txt\n-r notes.txt\n-r missing-requirements.txt\npytest==8.2.0  # pinned\nblack>=24\n",
        )
        .file("srv/api/requirements.txt", "Flask[async]==0.12.2 ; python_version >= \"3.8\"\n")
        .file("srv/api/requirements/test.txt", "-r ../requirements-dev.txt\ncoverage===7.5.1 \\\n    --hash=sha256:abc\n")
        .file("srv/api/notes.txt", "not read\n")
        .file("srv/api/poetry.lock", "[[package]\nname = broken\n")
        .file("srv/web/Pipfile.lock", "{\"default\": {\"django\": {\"version\": \"==2.2\"}}}");
    let (catalog, _) = catalog_layers(vec![layer])?;
    let got: Vec<_> = python(&catalog)
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.found_in[0].as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Flask", "0.12.2", "/srv/api/requirements.txt"),
            ("coverage", "7.5.1", "/srv/api/requirements/test.txt"),
            ("django", "2.2", "/srv/web/Pipfile.lock"),
            ("pytest", "8.2.0", "/srv/api/requirements-dev.txt"),
        ]
    );
    assert_eq!(catalog.warnings.len(), 3, "{:?}", catalog.warnings);
    assert!(catalog.warnings[0].starts_with("skipped `/srv/api/missing-requirements.txt` (included by `/srv/api/requirements-dev.txt`): not in the image"));
    assert!(catalog.warnings[1].starts_with("skipped `/srv/api/notes.txt` (included by `/srv/api/requirements-dev.txt`): only files named"));
    assert!(catalog.warnings[2].starts_with("skipped `/srv/api/poetry.lock`: invalid TOML"));
    Ok(())
}

#[test]
fn installed_and_locked_is_one_package() -> anyhow::Result<()> {
    let installed = fixture("python-installed/site-packages/requests-2.19.1.dist-info");
    let venv = "app/.venv/lib/python3.11/site-packages/requests-2.19.1.dist-info";
    let base = add_dir(LayerBuilder::new(), &installed, venv)?;
    let app = LayerBuilder::new()
        .file("app/requirements.txt", "requests==2.19.1\nurllib3==1.23\n")
        .file(
            "app/poetry.lock",
            "[[package]]\nname = \"requests\"\nversion = \"2.19.1\"\ngroups = [\"main\"]\n",
        );
    let (catalog, _) = catalog_layers(vec![base, app])?;
    assert_eq!(
        rows(&catalog),
        vec![row("requests", "2.19.1", 0), row("urllib3", "1.23", 1)]
    );
    let requests = find(&catalog, "requests", "2.19.1");
    assert_eq!(
        requests.found_in,
        vec![
            format!("/{venv}/METADATA"),
            "/app/poetry.lock".to_owned(),
            "/app/requirements.txt".to_owned(),
        ]
    );
    assert!(!requests.metadata.contains_key("lockfile"));
    Ok(())
}

#[test]
fn a_whited_out_distribution_is_gone() -> anyhow::Result<()> {
    let installed = fixture("python-installed/site-packages");
    let base = add_dir(LayerBuilder::new(), &installed, SITE)?;
    let strip = LayerBuilder::new()
        .whiteout(&format!("{SITE}/requests-2.19.1.dist-info"))
        .whiteout(&format!("{SITE}/zipped.egg_thing-0.4.0-py3.11.egg"));
    let (catalog, _) = catalog_layers(vec![base, strip])?;
    assert_eq!(
        rows(&catalog),
        vec![
            row("Legacy_Thing", "1.2.3", 0),
            row("typing_extensions", "4.12.2", 0),
            row("zope.interface", "6.4", 0),
        ]
    );
    Ok(())
}
