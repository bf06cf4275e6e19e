//! Limits shared by all layers of one read, counted as bytes stream past.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::options::Limits;

/// Which limit was hit, with the value that hit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    Uncompressed,
    Entries,
    PathLen(u64),
    RetainedFile(u64),
    RetainedTotal,
}

impl Limit {
    /// The limit's field name, its value and what exceeded it.
    pub(crate) fn describe(self, limits: &Limits) -> (&'static str, u64, String) {
        match self {
            Limit::Uncompressed => (
                "max_uncompressed_bytes",
                limits.max_uncompressed_bytes,
                " on the total uncompressed size of all layers".to_owned(),
            ),
            Limit::Entries => (
                "max_entries",
                limits.max_entries,
                " on the number of entries in all layers".to_owned(),
            ),
            Limit::PathLen(len) => (
                "max_path_len",
                limits.max_path_len as u64,
                format!(": an entry path is {len} bytes long"),
            ),
            Limit::RetainedFile(size) => (
                "max_retained_file_bytes",
                limits.max_retained_file_bytes,
                format!(": a wanted file is {size} bytes long"),
            ),
            Limit::RetainedTotal => (
                "max_retained_total_bytes",
                limits.max_retained_total_bytes,
                " on the total size of wanted files kept in memory".to_owned(),
            ),
        }
    }
}

/// Counters shared by the threads reading one image.
#[derive(Debug)]
pub(crate) struct Budget<'a> {
    pub limits: &'a Limits,
    uncompressed: AtomicU64,
    entries: AtomicU64,
    retained: AtomicU64,
    cancelled: AtomicBool,
}

impl<'a> Budget<'a> {
    pub(crate) fn new(limits: &'a Limits) -> Self {
        Self {
            limits,
            uncompressed: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            retained: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
        }
    }

    pub(crate) fn add_uncompressed(&self, bytes: u64) -> Result<(), Limit> {
        let total = self
            .uncompressed
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if total > self.limits.max_uncompressed_bytes {
            return Err(Limit::Uncompressed);
        }
        Ok(())
    }

    pub(crate) fn count_entry(&self) -> Result<(), Limit> {
        let total = self
            .entries
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1);
        if total > self.limits.max_entries {
            return Err(Limit::Entries);
        }
        Ok(())
    }

    pub(crate) fn reserve_retained(&self, bytes: u64) -> Result<(), Limit> {
        if bytes > self.limits.max_retained_file_bytes {
            return Err(Limit::RetainedFile(bytes));
        }
        let total = self
            .retained
            .fetch_add(bytes, Ordering::Relaxed)
            .saturating_add(bytes);
        if total > self.limits.max_retained_total_bytes {
            return Err(Limit::RetainedTotal);
        }
        Ok(())
    }

    pub(crate) fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_across_calls() {
        let limits = Limits {
            max_uncompressed_bytes: 10,
            max_entries: 2,
            ..Limits::default()
        };
        let budget = Budget::new(&limits);
        assert!(budget.add_uncompressed(6).is_ok());
        assert_eq!(budget.add_uncompressed(6), Err(Limit::Uncompressed));
        assert!(budget.count_entry().is_ok());
        assert!(budget.count_entry().is_ok());
        assert_eq!(budget.count_entry(), Err(Limit::Entries));
    }

    #[test]
    fn retained_limits_name_the_file_size() {
        let limits = Limits {
            max_retained_file_bytes: 5,
            max_retained_total_bytes: 8,
            ..Limits::default()
        };
        let budget = Budget::new(&limits);
        assert_eq!(budget.reserve_retained(6), Err(Limit::RetainedFile(6)));
        assert!(budget.reserve_retained(5).is_ok());
        assert_eq!(budget.reserve_retained(5), Err(Limit::RetainedTotal));
    }
}
