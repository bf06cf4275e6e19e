//! Ruby gems read through the real image reader, from specifications and lockfiles made
//! by RubyGems and Bundler (see `tests/fixtures/ruby-gems/`).

use portcullis_catalog::Catalog;
use portcullis_testkit::LayerBuilder;

use crate::support::catalog_layers;

fn fixture(name: &str) -> Vec<u8> {
    crate::support::fixture("ruby-gems", name)
}

fn table(catalog: &Catalog) -> Vec<String> {
    crate::support::table(
        catalog,
        "gem",
        &["source", "platform", "default_gem", "path"],
    )
}

const RUBY_HOME: &str = "usr/local/lib/ruby/gems/3.1.0";
const BUNDLE: &str = "usr/local/bundle";

#[test]
fn installed_gems_and_a_lockfile_of_the_same_project() -> anyhow::Result<()> {
    // The Ruby layer: a default gem and a bundled gem, as the official images install them.
    let ruby = LayerBuilder::new()
        .file(
            &format!("{RUBY_HOME}/specifications/default/json-2.6.1.gemspec"),
            fixture("json-2.6.1.gemspec"),
        )
        .file(
            &format!("{RUBY_HOME}/specifications/rake-13.0.6.gemspec"),
            fixture("rake-13.0.6.gemspec"),
        )
        .file(
            &format!("{RUBY_HOME}/gems/rake-13.0.6/exe/rake"),
            "#!ruby\n",
        );
    // The application layer: `bundle install` into /usr/local/bundle.
    let app = LayerBuilder::new()
        .file(
            &format!("{BUNDLE}/specifications/hello-world-0.1.0.gemspec"),
            fixture("installed/hello-world-0.1.0.gemspec"),
        )
        .file(
            &format!("{BUNDLE}/specifications/native_ext-1.2.3-x86_64-linux.gemspec"),
            fixture("installed/native_ext-1.2.3-x86_64-linux.gemspec"),
        )
        .file(
            &format!("{BUNDLE}/gems/native_ext-1.2.3-x86_64-linux/lib/native.rb"),
            "",
        )
        .file("app/Gemfile.lock", fixture("Gemfile.lock"));
    let (catalog, _) = catalog_layers(vec![ruby, app])?;
    assert_eq!(
        table(&catalog),
        [
            "gitgem 0.9.0 /app/Gemfile.lock [source=git] layer=1",
            "hello-world 0.1.0 /usr/local/bundle/specifications/hello-world-0.1.0.gemspec,/app/Gemfile.lock [] layer=1",
            "json 2.6.1 /usr/local/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec [default_gem=true] layer=0",
            "localgem 2.0.0 /app/Gemfile.lock [source=path] layer=1",
            "native_ext 1.2.3 /usr/local/bundle/specifications/native_ext-1.2.3-x86_64-linux.gemspec,/app/Gemfile.lock [platform=x86_64-linux path=/usr/local/bundle/gems/native_ext-1.2.3-x86_64-linux] layer=1",
            "rake 13.0.6 /usr/local/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec [path=/usr/local/lib/ruby/gems/3.1.0/gems/rake-13.0.6] layer=0",
        ]
    );
    assert!(catalog.warnings.is_empty(), "{:?}", catalog.warnings);
    let by_name = |name: &str| {
        catalog
            .packages
            .iter()
            .find(|p| p.name == name)
            .expect(name)
    };
    let native = by_name("native_ext");
    assert_eq!(
        native.purl,
        "pkg:gem/native_ext@1.2.3?platform=x86_64-linux"
    );
    assert_eq!(native.licenses, ["MIT", "Apache-2.0"]);
    assert_eq!(by_name("json").licenses, ["Ruby"]);
    assert_eq!(by_name("hello-world").purl, "pkg:gem/hello-world@0.1.0");
    let git = by_name("gitgem");
    assert_eq!(git.metadata["remote"], "/src/gitgem");
    assert_eq!(git.metadata["revision"].len(), 40);
    Ok(())
}

#[test]
fn a_vendored_bundle_belongs_to_its_project_only() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        // /srv/api vendors its gems; /srv/web relies on the system-wide home.
        .file(
            "srv/api/vendor/bundle/ruby/3.1.0/specifications/hello-world-0.1.0.gemspec",
            fixture("installed/hello-world-0.1.0.gemspec"),
        )
        .file("srv/api/Gemfile.lock", fixture("Gemfile.lock"))
        .file(
            &format!("{BUNDLE}/specifications/hello-world-0.1.0.gemspec"),
            fixture("installed/hello-world-0.1.0.gemspec"),
        )
        .file("srv/web/Gemfile.lock", fixture("Gemfile.lock"));
    let (catalog, _) = catalog_layers(vec![layer])?;
    let hello: Vec<_> = table(&catalog)
        .into_iter()
        .filter(|row| row.starts_with("hello-world"))
        .collect();
    assert_eq!(
        hello,
        [
            "hello-world 0.1.0 /srv/api/vendor/bundle/ruby/3.1.0/specifications/hello-world-0.1.0.gemspec,/srv/api/Gemfile.lock [] layer=0",
            "hello-world 0.1.0 /usr/local/bundle/specifications/hello-world-0.1.0.gemspec,/srv/web/Gemfile.lock [] layer=0",
        ]
    );
    Ok(())
}

#[test]
fn malformed_files_are_reported_and_the_rest_catalogued() -> anyhow::Result<()> {
    let layer = LayerBuilder::new()
        .file(
            &format!("{BUNDLE}/specifications/broken-1.0.gemspec"),
            fixture("malformed/broken-1.0.gemspec"),
        )
        .file("srv/app/Gemfile.lock", fixture("malformed/Gemfile.lock"))
        .file(
            &format!("{BUNDLE}/specifications/hello-world-0.1.0.gemspec"),
            fixture("installed/hello-world-0.1.0.gemspec"),
        );
    let (catalog, _) = catalog_layers(vec![layer])?;
    assert_eq!(
        table(&catalog),
        ["hello-world 0.1.0 /usr/local/bundle/specifications/hello-world-0.1.0.gemspec [] layer=0"]
    );
    assert_eq!(
        catalog.warnings,
        [
            "skipped `/srv/app/Gemfile.lock`: no Bundler sections (GEM, GIT, PATH, DEPENDENCIES…) found",
            "skipped `/usr/local/bundle/specifications/broken-1.0.gemspec`: no literal gem name and version in it",
        ]
    );
    Ok(())
}
