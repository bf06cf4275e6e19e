//! Catalogers: find the packages installed in an image's merged file tree.
//!
//! - [`Cataloger`]: one per packaging system; says which files it [wants](Cataloger::wants)
//!   kept in memory while layers stream past, then reads them from the tree.
//! - [`catalogers`]: the list of every cataloger, in one function anyone can read.
//! - [`wanted`]: the union of what every cataloger and distro detection want, to hand to
//!   `portcullis_image::read_image`.
//! - [`catalog`]: runs distro detection and every cataloger over an [`Image`] and returns
//!   a [`Catalog`] (distro and packages, each package with the layer that installed it).
//!
//! Flow: `wanted` → `read_image` → `catalog` → `Sbom`.

mod apk;
pub mod distro;
mod dpkg;
mod purl;
mod rpm;

use std::collections::BTreeMap;

use portcullis_image::{FileTree, Image, NodeKind, TreeError};
use portcullis_types::{Distro, LayerRef, Package};

pub use apk::Apk;
pub use dpkg::Dpkg;
pub use rpm::Rpm;

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
    /// True for absolute paths (as the layer tar names them) whose content this cataloger
    /// reads. Called for every file in every layer, so it must be cheap.
    fn wants(&self, path: &str) -> bool;
    /// Lists the packages found in the tree.
    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError>;
}

/// Every cataloger portcullis runs, in the order their results are listed.
pub fn catalogers() -> Vec<Box<dyn Cataloger>> {
    vec![Box::new(Dpkg), Box::new(Apk), Box::new(Rpm)]
}

/// True for every path whose content some cataloger or distro detection reads.
pub fn wanted(path: &str) -> bool {
    // Built once: `catalogers()` allocates and this runs for every tar entry.
    static CATALOGERS: std::sync::OnceLock<Vec<Box<dyn Cataloger>>> = std::sync::OnceLock::new();
    distro::RELEASE_FILES.contains(&path)
        || CATALOGERS
            .get_or_init(catalogers)
            .iter()
            .any(|c| c.wants(path))
}

/// What an image contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
}

/// Detects the distro and runs every cataloger.
pub fn catalog(image: &Image) -> Result<Catalog, CatalogError> {
    let distro = distro::detect(&image.tree);
    let cx = Context {
        tree: &image.tree,
        image,
        distro: distro.as_ref(),
    };
    let mut packages = Vec::new();
    for cataloger in catalogers() {
        packages.extend(cataloger.catalog(&cx)?);
    }
    packages.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(Catalog { distro, packages })
}

/// What a cataloger sees: the merged tree, the distro, and the layers.
#[derive(Debug)]
pub struct Context<'a> {
    pub tree: &'a FileTree,
    pub distro: Option<&'a Distro>,
    image: &'a Image,
}

impl Context<'_> {
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
