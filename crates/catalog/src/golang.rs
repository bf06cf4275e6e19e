//! Golang packages (placeholder: being written).

use portcullis_image::{EntryInfo, Selection};
use portcullis_types::Package;

use crate::{CatalogError, Cataloger, Context};

/// Finds Golang packages.
#[derive(Debug, Default)]
pub struct Golang;

impl Cataloger for Golang {
    fn name(&self) -> &'static str {
        "golang"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, _entry: &EntryInfo<'_>) -> Selection {
        Selection::Skip
    }

    fn catalog(&self, _cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        Ok(Vec::new())
    }
}
