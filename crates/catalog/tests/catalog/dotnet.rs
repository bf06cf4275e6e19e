//! .NET `deps.json` files read through the real image reader (see
//! `tests/fixtures/dotnet-deps/`).

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;

use crate::support::catalog_layers;

fn fixture(name: &str) -> Vec<u8> {
    crate::support::fixture("dotnet-deps", name)
}

fn table(catalog: &Catalog) -> Vec<String> {
    crate::support::table(catalog, "nuget", &["path", "project", "type"])
}

#[test]
fn framework_dependent_and_self_contained_apps() -> anyhow::Result<()> {
    let runtime = LayerBuilder::new().file("etc/hostname", "x\n");
    let apps = LayerBuilder::new()
        .file("app/Web.deps.json", fixture("Web.deps.json"))
        .file("app/Web.dll", "MZ")
        .file(
            "opt/tool/selfcontained.deps.json",
            fixture("selfcontained.deps.json"),
        );
    let (catalog, _) = catalog_layers(vec![runtime, apps])?;
    assert_eq!(
        table(&catalog),
        [
            "Microsoft.NETCore.App.Runtime.linux-x64 8.0.1 /opt/tool/selfcontained.deps.json [project=selfcontained/1.0.0 type=runtimepack] layer=1",
            "Newtonsoft.Json 13.0.1 /app/Web.deps.json [path=newtonsoft.json/13.0.1 project=Web/1.0.0] layer=1",
            "Serilog 2.10.0 /app/Web.deps.json [path=serilog/2.10.0 project=Web/1.0.0] layer=1",
            "System.Data.SqlClient 4.8.5 /app/Web.deps.json [path=system.data.sqlclient/4.8.5 project=Web/1.0.0] layer=1",
            "YamlDotNet 13.7.1 /opt/tool/selfcontained.deps.json [path=yamldotnet/13.7.1 project=selfcontained/1.0.0] layer=1",
        ]
    );
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    let json = catalog
        .packages
        .iter()
        .find(|p| p.name == "Newtonsoft.Json")
        .expect("Newtonsoft.Json");
    assert_eq!(json.purl, "pkg:nuget/Newtonsoft.Json@13.0.1");
    assert_eq!(
        json.metadata["sha512"],
        "sha512-ppPFpBcvxdsfUonNcvITKqLl3bqxWbDCZIzDWHzjpdAHRFfZe0Dw9HmA0+za13IdyrgJwpkDTDA9fHaxOrt20A=="
    );
    Ok(())
}

#[test]
fn a_truncated_deps_file_is_reported_and_the_rest_catalogued() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        .file("app/Broken.deps.json", fixture("truncated.deps.json"))
        .file(
            "opt/tool/selfcontained.deps.json",
            fixture("selfcontained.deps.json"),
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(table(&catalog).len(), 2);
    assert_eq!(catalog.warnings.len(), 1, "{:?}", catalog.warnings);
    assert!(
        catalog.warnings[0].starts_with("skipped `/app/Broken.deps.json`: invalid JSON (EOF"),
        "{:?}",
        catalog.warnings
    );
    Ok(())
}
