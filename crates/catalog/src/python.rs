//! Python packages (placeholder: being written).

use portcullis_image::{EntryInfo, Selection};
use portcullis_types::Package;

use crate::{CatalogError, Cataloger, Context};

/// Finds Python packages.
#[derive(Debug, Default)]
pub struct Python;

impl Cataloger for Python {
    fn name(&self) -> &'static str {
        "python"
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
