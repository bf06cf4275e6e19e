//! What to keep of each file as layers stream past.
//!
//! Images are never extracted, so a reader must say up front which files it needs. A
//! [`Selector`] sees every regular file (path, size, mode) and answers with a
//! [`Selection`]: skip it, keep its bytes in the tree, or run a [`Summarizer`] over its
//! bytes while they are in memory and keep only the summary. Summaries let catalogers
//! look inside large files (Go and Rust binaries, Java archives) without holding them:
//! peak memory stays at the largest such file per decoding thread.

/// A regular file as a layer (or directory) presents it.
#[derive(Debug, Clone, Copy)]
pub struct EntryInfo<'a> {
    /// Absolute, normalised path in the image (`/usr/bin/app`).
    pub path: &'a str,
    /// Size in bytes, as the tar header or the file system says.
    pub size: u64,
    /// Permission bits (`0o755`).
    pub mode: u32,
}

impl EntryInfo<'_> {
    /// True when any execute bit is set.
    pub fn is_executable(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

/// Reduces a file's bytes to what a cataloger needs from it; `None` keeps nothing (the file
/// was not of the kind looked for). Must be cheap to call on files that are not.
pub type Summarizer = fn(path: &str, content: &[u8]) -> Option<Vec<u8>>;

/// The answer of a [`Selector`] for one file.
#[derive(Debug, Clone, Copy, Default)]
pub enum Selection {
    /// Keep only metadata (the default for almost every file).
    #[default]
    Skip,
    /// Keep the whole content in the tree.
    Keep,
    /// Keep only what the summarizer returns, in place of the content.
    Summarize(Summarizer),
}

impl Selection {
    /// True for [`Selection::Skip`].
    pub fn is_skip(&self) -> bool {
        matches!(self, Selection::Skip)
    }

    /// True for [`Selection::Keep`].
    pub fn is_keep(&self) -> bool {
        matches!(self, Selection::Keep)
    }

    /// Combines two answers for the same file: keeping wins over summarizing, which wins
    /// over skipping; of two summarizers the first is used.
    pub fn or(self, other: Selection) -> Selection {
        match (self, other) {
            (Selection::Keep, _) | (_, Selection::Keep) => Selection::Keep,
            (s @ Selection::Summarize(_), _) | (_, s @ Selection::Summarize(_)) => s,
            _ => Selection::Skip,
        }
    }
}

/// Decides, for every regular file of every layer, what to keep. Called for every file, on
/// several threads at once, so it must be cheap and `Sync`.
pub trait Selector: Sync {
    fn select(&self, entry: &EntryInfo<'_>) -> Selection;

    /// Names what this selector keeps and how it summarises, for the layer
    /// cache: two selectors with the same key must select and summarise
    /// alike. `None` (the default): layers read with it are not cached.
    fn cache_key(&self) -> Option<String> {
        None
    }
}

/// A plain predicate on paths keeps the files it accepts.
impl<F: Fn(&str) -> bool + Sync> Selector for F {
    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if self(entry.path) {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }
}
