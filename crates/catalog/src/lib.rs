//! Catalogers: find the packages installed in an image's merged file tree.
//!
//! - [`Cataloger`]: one per packaging system; [selects](Cataloger::select) the files it
//!   needs kept (or summarized) while layers stream past, then reads them from the tree.
//! - [`catalogers`]: the list of every cataloger, in one function anyone can read.
//! - [`selector`]: the union of what every cataloger and distro detection select, to hand
//!   to `portcullis_image::read_image`.
//! - [`catalog`]: runs distro detection and every cataloger over an [`Image`] and returns
//!   a [`Catalog`] (distro and packages, each package with the layer that installed it).
//!
//! Flow: `selector` → `read_image` → `catalog` → `Sbom`.

mod apk;
pub mod distro;
mod dotnet;
mod dpkg;
mod golang;
mod java;
mod npm;
mod php;
mod purl;
mod python;
mod rpm;
mod ruby;
mod rust;

use std::collections::BTreeMap;

use portcullis_image::{EntryInfo, FileTree, Image, NodeKind, Selection, TreeError};
use portcullis_types::{Distro, LayerRef, Package};

pub use apk::Apk;
pub use dotnet::Dotnet;
pub use dpkg::Dpkg;
pub use golang::Golang;
pub use java::Java;
pub use npm::Npm;
pub use php::Php;
pub use python::Python;
pub use rpm::Rpm;
pub use ruby::Ruby;
pub use rust::Rust;

/// Why cataloging failed. A database that exists but cannot be read fails the whole
/// inventory: an SBOM silently missing every rpm package would be worse than no SBOM.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("failed to read `{path}` in the image")]
    Tree {
        path: String,
        #[source]
        source: TreeError,
    },
    #[error("failed to read the rpm database `{path}`; the image's rpmdb may be corrupt")]
    Rpm {
        path: String,
        #[source]
        source: portcullis_rpmdb::RpmdbError,
    },
}

/// A reader of one packaging system's database.
pub trait Cataloger: Send + Sync + std::fmt::Debug {
    /// Short lowercase name, shown to users and recorded with results.
    fn name(&self) -> &'static str;
    /// Bumped whenever output for the same input may change; part of cache keys.
    fn version(&self) -> u32;
    /// What this cataloger needs of a file (absolute path as the layer names it): its
    /// content, a summary of it, or nothing. Called for every file in every layer, so it
    /// must be cheap.
    fn select(&self, entry: &EntryInfo<'_>) -> Selection;
    /// Lists the packages found in the tree.
    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError>;
}

/// Every cataloger portcullis runs, in the order their results are listed.
pub fn catalogers() -> Vec<Box<dyn Cataloger>> {
    vec![
        // Operating system packages.
        Box::new(Dpkg),
        Box::new(Apk),
        Box::new(Rpm),
        // Language packages.
        Box::new(Python),
        Box::new(Npm),
        Box::new(Rust),
        Box::new(Golang),
        Box::new(Java),
        Box::new(Ruby),
        Box::new(Php),
        Box::new(Dotnet),
    ]
}

/// Selects what distro detection and every cataloger need.
#[derive(Debug)]
pub struct CatalogSelector {
    catalogers: Vec<Box<dyn Cataloger>>,
}

impl portcullis_image::Selector for CatalogSelector {
    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if distro::RELEASE_FILES.contains(&entry.path) {
            return Selection::Keep;
        }
        self.catalogers
            .iter()
            .fold(Selection::Skip, |acc, c| acc.or(c.select(entry)))
    }

    /// Every cataloger's name and version, and this crate's version: a
    /// cataloger whose selection or summary changes bumps its version.
    fn cache_key(&self) -> Option<String> {
        let mut key = format!(
            "catalog {} distro {}",
            env!("CARGO_PKG_VERSION"),
            distro::RELEASE_FILES.join(",")
        );
        for c in &self.catalogers {
            key.push_str(&format!(" {}:{}", c.name(), c.version()));
        }
        Some(key)
    }
}

/// The selector for `portcullis_image::read_image` that keeps what [`catalog`] reads.
pub fn selector() -> &'static CatalogSelector {
    // Built once: `catalogers()` allocates and the selector runs for every tar entry.
    static SELECTOR: std::sync::OnceLock<CatalogSelector> = std::sync::OnceLock::new();
    SELECTOR.get_or_init(|| CatalogSelector {
        catalogers: catalogers(),
    })
}

/// True for every path whose whole content some cataloger or distro detection reads: a
/// path-only view of [`selector`], for readers that cannot summarize.
pub fn wanted(path: &str) -> bool {
    use portcullis_image::Selector as _;
    let entry = EntryInfo {
        path,
        size: 0,
        mode: 0o644,
    };
    !selector().select(&entry).is_skip()
}

/// What an image contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    /// Files that could not be read (a malformed lockfile, say), each naming the file and
    /// the reason; the rest of the image was still catalogued. Sorted.
    pub warnings: Vec<String>,
}

/// Choices about what [`catalog_with`] reports.
#[derive(Debug, Clone, Default)]
pub struct CatalogOptions {
    /// Also report language packages whose files belong to an OS package (Debian's
    /// `python3-urllib3`, say). Off by default: their fixes come from the distro, so the OS
    /// package is the one to report and to match.
    pub include_os_owned: bool,
}

/// Detects the distro and runs every cataloger, with default options.
pub fn catalog(image: &Image) -> Result<Catalog, CatalogError> {
    catalog_with(image, &CatalogOptions::default())
}

/// Detects the distro and runs every cataloger.
pub fn catalog_with(image: &Image, options: &CatalogOptions) -> Result<Catalog, CatalogError> {
    let distro = distro::detect(&image.tree);
    let cx = Context {
        tree: &image.tree,
        image,
        distro: distro.as_ref(),
        warnings: std::sync::Mutex::new(Vec::new()),
    };
    let mut packages = Vec::new();
    for cataloger in catalogers() {
        packages.extend(cataloger.catalog(&cx)?);
    }
    let (os, language): (Vec<Package>, Vec<Package>) =
        packages.into_iter().partition(|p| p.ecosystem.is_os());
    let owners: std::collections::HashMap<&str, &str> = os
        .iter()
        .flat_map(|p| p.files.iter().map(move |f| (f.as_str(), p.name.as_str())))
        .collect();
    let mut kept = Vec::with_capacity(language.len());
    for mut package in language {
        let owner = package
            .found_in
            .iter()
            .find_map(|f| owners.get(f.as_str()).copied());
        match owner {
            Some(owner) if options.include_os_owned => {
                package
                    .metadata
                    .insert("os_package".to_owned(), owner.to_owned());
                kept.push(package);
            }
            Some(_) => {}
            None => kept.push(package),
        }
    }
    let mut packages = os;
    packages.extend(kept);
    packages.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let mut warnings = cx
        .warnings
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    warnings.sort();
    warnings.dedup();
    Ok(Catalog {
        distro,
        packages,
        warnings,
    })
}

/// What a cataloger sees: the merged tree, the distro, and the layers.
#[derive(Debug)]
pub struct Context<'a> {
    pub tree: &'a FileTree,
    pub distro: Option<&'a Distro>,
    image: &'a Image,
    warnings: std::sync::Mutex<Vec<String>>,
}

impl Context<'_> {
    /// Records that a file could not be read, and why; cataloging goes on. Name the file:
    /// ``skipped `/srv/app/package-lock.json`: invalid JSON at line 3``.
    pub fn warn(&self, message: impl Into<String>) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(message.into());
        }
    }

    /// The image being catalogued (its info and layers).
    pub fn image(&self) -> &Image {
        self.image
    }

    /// The retained content of a file, following symlinks inside the image.
    pub fn read(&self, path: &str) -> Result<Option<&[u8]>, CatalogError> {
        self.tree.read(path).map_err(|source| CatalogError::Tree {
            path: path.to_owned(),
            source,
        })
    }

    /// The layer that last wrote `path` (after following symlinks).
    pub fn layer_of(&self, path: &str) -> Option<LayerRef> {
        let (_, node) = self.tree.resolve(path).ok().flatten()?;
        self.image.layer_ref(node.layer?)
    }

    /// The layer that wrote most of `files` (ties go to the lower layer). A package's files
    /// are all written when it is installed or upgraded, while a later layer may edit one
    /// configuration file, so the most common layer is the one that installed it.
    pub fn layer_of_files(&self, files: &[String]) -> Option<LayerRef> {
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for file in files {
            if let Some(node) = self.tree.get(file)
                && let (NodeKind::File, Some(layer)) = (&node.kind, node.layer)
            {
                *counts.entry(layer).or_default() += 1;
            }
        }
        let (layer, _) = counts
            .into_iter()
            .max_by(|(la, ca), (lb, cb)| ca.cmp(cb).then(lb.cmp(la)))?;
        self.image.layer_ref(layer)
    }
}
