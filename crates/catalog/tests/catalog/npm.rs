//! npm cataloger: real lockfiles of one project made by npm (v1, v2, v3), yarn (classic,
//! berry) and pnpm (v5, v6, v9), and a real `npm install` tree, read through the image
//! reader.

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;
use portcullis_types::{Ecosystem, Package};

use crate::support::catalog_layers;

const FORMATS: [&str; 8] = [
    "v1",
    "v2",
    "v3",
    "yarn-v1",
    "yarn-berry",
    "pnpm-v5",
    "pnpm-v6",
    "pnpm-v9",
];

use crate::support::{add_dir, fixture_path as fixture};

fn npm(catalog: &Catalog) -> Vec<&Package> {
    catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Npm)
        .collect()
}

fn is_dev(p: &Package) -> bool {
    p.metadata.get("dev").is_some_and(|d| d == "true")
}

/// What the fixture project locks, by construction: its `package.json` asks for lodash
/// 4.17.4, `@sindresorhus/is` 0.7.0, debug 2.6.9 (which needs ms 2.0.0), is-number
/// 7.0.0, lodash 4.17.20 under the alias `lodash-old`, and ms 2.1.3 as a dev dependency; the
/// workspace member `ws-a` (the project's own code) needs is-number ^7.0.0.
fn expected(dev_known: bool) -> Vec<(String, String, bool)> {
    [
        ("@sindresorhus/is", "0.7.0", false),
        ("debug", "2.6.9", false),
        ("is-number", "7.0.0", false),
        ("lodash", "4.17.20", false),
        ("lodash", "4.17.4", false),
        ("ms", "2.0.0", false),
        ("ms", "2.1.3", dev_known),
    ]
    .into_iter()
    .map(|(n, v, d)| (n.to_owned(), v.to_owned(), d))
    .collect()
}

#[test]
fn lockfiles_of_every_format() -> anyhow::Result<()> {
    let mut layer = LayerBuilder::new();
    for format in FORMATS {
        layer = add_dir(
            layer,
            &fixture("npm-lockfiles").join(format),
            &format!("srv/{format}"),
        )?;
    }
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    for format in FORMATS {
        let mut got: Vec<_> = npm(&catalog)
            .into_iter()
            .filter(|p| p.found_in[0].starts_with(&format!("/srv/{format}/")))
            .map(|p| (p.name.clone(), p.version.clone(), is_dev(p)))
            .collect();
        got.sort();
        // yarn classic neither marks dev dependencies nor lists workspace members, so with
        // workspaces which packages are dev-only cannot be told.
        assert_eq!(got, expected(format != "yarn-v1"), "{format}");
    }
    let scoped = npm(&catalog)
        .into_iter()
        .find(|p| p.name == "@sindresorhus/is")
        .map(|p| p.purl.as_str());
    assert_eq!(scoped, Some("pkg:npm/%40sindresorhus/is@0.7.0"));
    // Aliases keep the real name (what advisories name) and record the alias.
    for format in ["v1", "v2", "v3", "yarn-v1", "yarn-berry"] {
        let aliased = npm(&catalog)
            .into_iter()
            .find(|p| {
                p.version == "4.17.20" && p.found_in[0].starts_with(&format!("/srv/{format}/"))
            })
            .map(|p| p.metadata.get("alias").map(String::as_str));
        assert_eq!(aliased, Some(Some("lodash-old")), "{format}");
    }
    // package-lock says where each package is installed.
    let nested = npm(&catalog)
        .into_iter()
        .find(|p| {
            p.name == "ms" && p.version == "2.0.0" && p.found_in[0] == "/srv/v3/package-lock.json"
        })
        .map(|p| p.metadata["path"].as_str());
    assert_eq!(nested, Some("/srv/v3/node_modules/debug/node_modules/ms"));
    Ok(())
}

#[test]
fn installed_and_locked_is_one_package() -> anyhow::Result<()> {
    let layer = add_dir(LayerBuilder::new(), &fixture("npm-installed"), "srv/app")?;
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    let mut got: Vec<_> = npm(&catalog)
        .into_iter()
        .map(|p| (p.name.clone(), p.version.clone(), is_dev(p)))
        .collect();
    got.sort();
    assert_eq!(got, expected(true));
    for p in npm(&catalog) {
        let dir = &p.metadata["path"];
        assert_eq!(
            p.found_in,
            vec![
                format!("{dir}/package.json"),
                "/srv/app/node_modules/.package-lock.json".to_owned(),
                "/srv/app/package-lock.json".to_owned(),
            ],
            "{}",
            p.name
        );
        assert_eq!(p.layer.as_ref().map(|l| l.index), Some(0));
    }
    let old = npm(&catalog)
        .into_iter()
        .find(|p| p.version == "4.17.20")
        .map(|p| {
            (
                p.metadata["path"].as_str(),
                p.metadata["alias"].as_str(),
                p.licenses.clone(),
            )
        });
    assert_eq!(
        old,
        Some((
            "/srv/app/node_modules/lodash-old",
            "lodash-old",
            vec!["MIT".to_owned()]
        ))
    );
    Ok(())
}

#[test]
fn deleted_packages_and_malformed_files() -> anyhow::Result<()> {
    let base = add_dir(LayerBuilder::new(), &fixture("npm-installed"), "srv/app")?
        // Inside a package, a test fixture without name or version: not a package.
        .file(
            "srv/app/node_modules/debug/test/node_modules/fake/package.json",
            "{\"private\": true}",
        )
        .file("srv/app/node_modules/broken/package.json", "{\"name\": \"broken\",")
        .file("srv/other/yarn.lock", "this is not\n  a lockfile\n")
        .file(
            "srv/other/package-lock.json",
            "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/left-pad\": {\"version\": \"1.3.0\"}}}",
        );
    // The upper layer deletes lodash; the lockfiles still list it.
    let strip = LayerBuilder::new().whiteout("srv/app/node_modules/lodash");
    let (catalog, _) = catalog_layers(vec![base, strip])?;
    let mut got: Vec<_> = npm(&catalog)
        .into_iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("@sindresorhus/is", "0.7.0"),
            ("debug", "2.6.9"),
            ("is-number", "7.0.0"),
            ("left-pad", "1.3.0"),
            ("lodash", "4.17.20"),
            ("ms", "2.0.0"),
            ("ms", "2.1.3"),
        ]
    );
    assert_eq!(catalog.warnings.len(), 2, "{:?}", catalog.warnings);
    assert!(
        catalog.warnings[0]
            .starts_with("skipped `/srv/app/node_modules/broken/package.json`: invalid JSON")
    );
    assert!(catalog.warnings[1].starts_with("skipped `/srv/other/yarn.lock`: line 1"));
    // A project without node_modules is reported from its lockfile.
    let left_pad = npm(&catalog).into_iter().find(|p| p.name == "left-pad");
    assert_eq!(
        left_pad.map(|p| (p.found_in.clone(), p.metadata["path"].as_str())),
        Some((
            vec!["/srv/other/package-lock.json".to_owned()],
            "/srv/other/node_modules/left-pad"
        ))
    );
    Ok(())
}
