use portcullis_catalog::Catalog;
use portcullis_image::{NoProgress, ReadOptions, Source};
use portcullis_testkit::{Compression, ImageBuilder, LayerBuilder, OciLayoutBuilder};

/// Writes the layers as an OCI layout, reads it back as users do, and catalogs it.
pub fn catalog_layers(
    layers: Vec<LayerBuilder>,
) -> anyhow::Result<(Catalog, portcullis_image::Image)> {
    let dir = tempfile::tempdir()?;
    let mut image = ImageBuilder::new();
    for layer in layers {
        image = image.layer(layer.build(Compression::Gzip));
    }
    OciLayoutBuilder::write_single(dir.path(), &image, "test");
    let source = Source::parse(&format!("oci:{}:test", dir.path().display()))?;
    let image = portcullis_image::read_image(
        &source,
        &ReadOptions::default(),
        portcullis_catalog::selector(),
        &NoProgress,
    )?;
    let catalog = portcullis_catalog::catalog(&image)?;
    Ok((catalog, image))
}

pub fn rows(catalog: &Catalog) -> Vec<(String, String, Option<usize>)> {
    catalog
        .packages
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

/// The bytes of `tests/fixtures/<dir>/<name>`.
pub fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// One line per package of `ecosystem`: name, version, found_in, the metadata `facts`
/// that are set, and the layer.
pub fn table(catalog: &Catalog, ecosystem: &str, facts: &[&str]) -> Vec<String> {
    catalog
        .packages
        .iter()
        .filter(|p| p.ecosystem.as_str() == ecosystem)
        .map(|p| {
            let facts: Vec<String> = facts
                .iter()
                .filter_map(|k| p.metadata.get(*k).map(|v| format!("{k}={v}")))
                .collect();
            format!(
                "{} {} {} [{}] layer={}",
                p.name,
                p.version,
                p.found_in.join(","),
                facts.join(" "),
                p.layer.as_ref().map_or(usize::MAX, |l| l.index)
            )
        })
        .collect()
}

/// The path of `tests/fixtures/<name>`.
pub fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Adds every file under `dir` to the layer, below `prefix` (relative, no leading `/`).
pub fn add_dir(
    mut layer: LayerBuilder,
    dir: &std::path::Path,
    prefix: &str,
) -> anyhow::Result<LayerBuilder> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let target = format!("{prefix}/{name}");
        if entry.file_type()?.is_dir() {
            layer = add_dir(layer, &entry.path(), &target)?;
        } else {
            layer = layer.file(&target, std::fs::read(entry.path())?);
        }
    }
    Ok(layer)
}
