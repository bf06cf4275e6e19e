//! Java archives read through the real image reader: real Debian jars, a Spring Boot fat
//! jar, a shaded jar and a war built from them (see `tests/fixtures/java-archives/`).

use std::io::Write;
use std::path::Path;

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;

use crate::support::catalog_layers;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/java-archives")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// Debian's log4j 1.2.17 jar as far as identification goes: its real manifest (no
/// pom.properties) and a class.
fn debian_log4j() -> Vec<u8> {
    let mut jar = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    jar.start_file("META-INF/MANIFEST.MF", options).unwrap();
    jar.write_all(&fixture("log4j-1.2-1.2.17.MANIFEST.MF"))
        .unwrap();
    jar.start_file("org/apache/log4j/Logger.class", options)
        .unwrap();
    jar.write_all(b"\xca\xfe\xba\xbe").unwrap();
    jar.finish().unwrap().into_inner()
}

/// One line per Maven package: name, version, found_in, metadata path and shaded_in,
/// layer.
fn table(catalog: &Catalog) -> Vec<String> {
    catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem.as_str() == "maven")
        .map(|p| {
            let meta = |k: &str| p.metadata.get(k).map_or("-", String::as_str).to_owned();
            format!(
                "{} {} {} path={} shaded_in={} layer={}",
                p.name,
                p.version,
                p.found_in.join(","),
                meta("path"),
                meta("shaded_in"),
                p.layer.as_ref().map_or(usize::MAX, |l| l.index)
            )
        })
        .collect()
}

#[test]
fn jars_wars_fat_and_shaded_archives() -> anyhow::Result<()> {
    let libs = LayerBuilder::new()
        .file("opt/app/lib/slf4j-api.jar", fixture("slf4j-api.jar"))
        .file(
            "opt/app/lib/jsr305-0.1~+svn49.jar",
            fixture("jsr305-0.1~+svn49.jar"),
        )
        .file("opt/app/lib/log4j-1.2-1.2.17.jar", debian_log4j())
        // A symlink to a jar is the same jar, not a second package.
        .symlink("opt/app/lib/log4j.jar", "log4j-1.2-1.2.17.jar");
    let apps = LayerBuilder::new()
        .file("app/demo.jar", fixture("demo-0.0.1-SNAPSHOT.jar"))
        .file("app/shaded-app-2.0.jar", fixture("shaded-app-2.0.jar"))
        .file("usr/local/tomcat/webapps/webapp.war", fixture("webapp.war"));
    let (catalog, image) = catalog_layers(vec![libs, apps])?;
    assert_eq!(
        table(&catalog),
        [
            "com.example:demo 0.0.1-SNAPSHOT /app/demo.jar path=- shaded_in=- layer=1",
            "com.example:shaded-app 2.0 /app/shaded-app-2.0.jar path=- shaded_in=- layer=1",
            "com.example:webapp 1.4.2 /usr/local/tomcat/webapps/webapp.war path=- shaded_in=- layer=1",
            "com.fasterxml.jackson.core:jackson-annotations 2.14.0 /usr/local/tomcat/webapps/webapp.war path=/usr/local/tomcat/webapps/webapp.war!/WEB-INF/lib/jackson-annotations-2.14.0.jar shaded_in=- layer=1",
            "commons-cli:commons-cli 1.5.0 /app/demo.jar path=/app/demo.jar!/BOOT-INF/lib/commons-cli-1.5.0.jar shaded_in=- layer=1",
            "commons-cli:commons-cli 1.5.0 /app/shaded-app-2.0.jar path=- shaded_in=com.example:shaded-app layer=1",
            "jsr305:jsr305 0.1 /app/demo.jar path=/app/demo.jar!/BOOT-INF/lib/jsr305-0.1.jar shaded_in=- layer=1",
            "jsr305:jsr305 0.1~+svn49 /opt/app/lib/jsr305-0.1~+svn49.jar path=- shaded_in=- layer=0",
            "log4j:log4j 1.2.17 /opt/app/lib/log4j-1.2-1.2.17.jar path=- shaded_in=- layer=0",
            "org.slf4j:slf4j-api 1.7.32 /app/demo.jar path=/app/demo.jar!/BOOT-INF/lib/slf4j-api-1.7.32.jar shaded_in=- layer=1",
            "org.slf4j:slf4j-api 1.7.32 /app/shaded-app-2.0.jar path=- shaded_in=com.example:shaded-app layer=1",
            "org.slf4j:slf4j-api 1.7.32 /opt/app/lib/slf4j-api.jar path=- shaded_in=- layer=0",
        ]
    );
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    let log4j = catalog
        .packages
        .iter()
        .find(|p| p.name == "log4j:log4j")
        .expect("log4j");
    assert_eq!(log4j.purl, "pkg:maven/log4j/log4j@1.2.17");
    assert_eq!(log4j.licenses, ["Apache-2.0"]);
    let jsr = catalog
        .packages
        .iter()
        .find(|p| p.version == "0.1~+svn49")
        .expect("jsr305");
    assert_eq!(jsr.purl, "pkg:maven/jsr305/jsr305@0.1~%2Bsvn49");
    // The tree holds a summary of each archive, not the archive.
    let fat = fixture("demo-0.0.1-SNAPSHOT.jar");
    let kept = image.tree.read("/app/demo.jar")?.expect("summary kept");
    assert!(
        kept.len() * 20 < fat.len(),
        "{} bytes kept of {}",
        kept.len(),
        fat.len()
    );
    Ok(())
}

#[test]
fn a_broken_archive_is_reported_and_the_rest_catalogued() -> anyhow::Result<()> {
    // A fat jar whose second nested jar is cut short, and a jar with no central directory.
    let mut fat = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    fat.start_file("BOOT-INF/lib/slf4j-api-1.7.32.jar", options)?;
    fat.write_all(&fixture("slf4j-api.jar"))?;
    fat.start_file("BOOT-INF/lib/broken-1.0.jar", options)?;
    fat.write_all(&fixture("truncated.jar"))?;
    let fat = fat.finish()?.into_inner();
    let layer = LayerBuilder::new()
        .file("srv/truncated.jar", fixture("truncated.jar"))
        .file("srv/app.jar", fat)
        .file("srv/ok/slf4j-api.jar", fixture("slf4j-api.jar"));
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(
        table(&catalog),
        [
            "org.slf4j:slf4j-api 1.7.32 /srv/app.jar path=/srv/app.jar!/BOOT-INF/lib/slf4j-api-1.7.32.jar shaded_in=- layer=0",
            "org.slf4j:slf4j-api 1.7.32 /srv/ok/slf4j-api.jar path=- shaded_in=- layer=0",
        ]
    );
    assert_eq!(catalog.warnings.len(), 2, "{:?}", catalog.warnings);
    assert!(
        catalog.warnings[0]
            .starts_with("skipped `/srv/truncated.jar`: archive is not a readable zip file"),
        "{:?}",
        catalog.warnings
    );
    assert!(
        catalog.warnings[1].starts_with(
            "skipped part of `/srv/app.jar`: nested archive `BOOT-INF/lib/broken-1.0.jar` is not a readable zip file"
        ),
        "{:?}",
        catalog.warnings
    );
    Ok(())
}

#[test]
fn deleted_and_os_owned_jars_are_not_reported() -> anyhow::Result<()> {
    let base = LayerBuilder::new()
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .file(
            "var/lib/dpkg/status",
            "Package: libslf4j-java\nStatus: install ok installed\nArchitecture: all\nVersion: 1.7.32-1\n\n",
        )
        .file(
            "var/lib/dpkg/info/libslf4j-java.list",
            "/usr/share/java/slf4j-api.jar\n",
        )
        .file("usr/share/java/slf4j-api.jar", fixture("slf4j-api.jar"))
        .file("opt/old/slf4j-api.jar", fixture("slf4j-api.jar"));
    let top = LayerBuilder::new().whiteout("opt/old/slf4j-api.jar");
    let (catalog, _) = catalog_layers(vec![base, top])?;
    assert!(table(&catalog).is_empty(), "{:?}", table(&catalog));
    assert_eq!(
        catalog.packages.len(),
        1,
        "only the deb: {:?}",
        catalog.packages
    );
    Ok(())
}
