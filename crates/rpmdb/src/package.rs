//! [`RpmPackage`]: the fields of an installed package, taken from a parsed
//! [`Header`](crate::header::Header) the way `rpm -q --qf` shows them.

use crate::header::{self, Header, HeaderError, tag};

/// One installed package as recorded in an rpm database.
///
/// Optional text fields are `None` when the tag is absent, where `rpm --qf`
/// prints `(none)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RpmPackage {
    /// The record's key in the database: the BerkeleyDB key, the SQLite
    /// `hnum`, or the NDB package index. rpm calls it the header instance.
    pub header_number: u32,
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    pub arch: Option<String>,
    pub source_rpm: Option<String>,
    pub license: Option<String>,
    pub vendor: Option<String>,
    pub modularity_label: Option<String>,
    pub summary: Option<String>,
    /// Installed size in bytes (LONGSIZE, else SIZE).
    pub size: Option<u64>,
    /// Seconds since the Unix epoch.
    pub install_time: Option<u64>,
    /// rpm's file digest algorithm number (PGPHASHALGO: 1 = MD5, 8 = SHA-256,
    /// …); rpm assumes MD5 when the tag is absent.
    pub file_digest_algorithm: Option<u32>,
    /// The header's SHA-256 (or SHA-1 on older rpm) as hex, a stable identity
    /// for the installed package.
    pub header_digest: Option<String>,
    /// Absolute paths of the package's files, in header order, built as rpm
    /// builds `%{FILENAMES}`: `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, or
    /// `OLDFILENAMES` for very old headers.
    pub files: Vec<String>,
}

/// Why a header could not be turned into a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("rpm header has no {0} tag")]
    Missing(&'static str),
    #[error("rpm header file list is inconsistent: {0}")]
    BadFileList(String),
}

impl RpmPackage {
    /// Builds a package from a raw header blob.
    pub fn from_blob(header_number: u32, blob: &[u8]) -> Result<RpmPackage, PackageError> {
        let header = header::parse(blob)?;
        RpmPackage::from_header(header_number, &header)
    }

    /// Builds a package from a parsed header.
    pub fn from_header(header_number: u32, h: &Header<'_>) -> Result<RpmPackage, PackageError> {
        let required = |t: u32, what: &'static str| -> Result<String, PackageError> {
            h.string(t)?.ok_or(PackageError::Missing(what))
        };
        let small = |t: u32| -> Result<Option<u32>, HeaderError> {
            Ok(h.integer(t)?.map(|v| u32::try_from(v).unwrap_or(u32::MAX)))
        };
        let header_digest = match h.string(tag::SHA256HEADER)? {
            Some(sha256) => Some(sha256),
            None => h.string(tag::SHA1HEADER)?,
        };
        let size = match h.integer(tag::LONGSIZE)? {
            Some(size) => Some(size),
            None => h.integer(tag::SIZE)?,
        };
        Ok(RpmPackage {
            header_number,
            name: required(tag::NAME, "NAME")?,
            epoch: small(tag::EPOCH)?,
            version: required(tag::VERSION, "VERSION")?,
            release: required(tag::RELEASE, "RELEASE")?,
            arch: h.string(tag::ARCH)?,
            source_rpm: h.string(tag::SOURCERPM)?,
            license: h.string(tag::LICENSE)?,
            vendor: h.string(tag::VENDOR)?,
            modularity_label: h.string(tag::MODULARITYLABEL)?,
            summary: h.string(tag::SUMMARY)?,
            size,
            install_time: h.integer(tag::INSTALLTIME)?,
            file_digest_algorithm: small(tag::FILEDIGESTALGO)?,
            header_digest,
            files: file_names(h)?,
        })
    }

    /// `[epoch:]version-release`, exactly as `rpm -q --qf '%{EVR}'` prints it:
    /// the epoch appears whenever the EPOCH tag is present, even when it is 0.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// `name-[epoch:]version-release.arch`, as `%{NEVRA}` prints it (no arch
    /// suffix when the package has none, e.g. `gpg-pubkey`).
    pub fn nevra(&self) -> String {
        match &self.arch {
            Some(arch) => format!("{}-{}.{arch}", self.name, self.evr()),
            None => format!("{}-{}", self.name, self.evr()),
        }
    }
}

fn file_names(h: &Header<'_>) -> Result<Vec<String>, PackageError> {
    let basenames = h.string_array(tag::BASENAMES)?;
    if basenames.is_empty() {
        return Ok(h.string_array(tag::OLDFILENAMES)?);
    }
    let dirnames = h.string_array(tag::DIRNAMES)?;
    let indexes = h.integers(tag::DIRINDEXES)?;
    if indexes.len() != basenames.len() {
        return Err(PackageError::BadFileList(format!(
            "{} BASENAMES but {} DIRINDEXES",
            basenames.len(),
            indexes.len()
        )));
    }
    basenames
        .iter()
        .zip(indexes)
        .map(|(base, index)| {
            let dir = usize::try_from(index)
                .ok()
                .and_then(|i| dirnames.get(i))
                .ok_or_else(|| {
                    PackageError::BadFileList(format!(
                        "DIRINDEXES entry {index} for `{base}` is past the {} DIRNAMES",
                        dirnames.len()
                    ))
                })?;
            Ok(format!("{dir}{base}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::tests::build;

    fn sample(epoch: Option<u32>) -> Vec<u8> {
        let mut entries = vec![
            (tag::NAME, 6, 1, b"tiny\0".to_vec()),
            (tag::VERSION, 6, 1, b"1.0\0".to_vec()),
            (tag::RELEASE, 6, 1, b"2\0".to_vec()),
            (tag::ARCH, 6, 1, b"noarch\0".to_vec()),
            (
                tag::DIRINDEXES,
                4,
                3,
                [0u32, 1, 0].map(u32::to_be_bytes).concat(),
            ),
            (tag::BASENAMES, 8, 3, b"a\0b\0c\0".to_vec()),
            (tag::DIRNAMES, 8, 2, b"/etc/\0/usr/bin/\0".to_vec()),
        ];
        if let Some(epoch) = epoch {
            entries.push((tag::EPOCH, 4, 1, epoch.to_be_bytes().to_vec()));
        }
        build(&entries)
    }

    #[test]
    fn builds_package_and_file_names() {
        let package = RpmPackage::from_blob(5, &sample(Some(0))).unwrap();
        assert_eq!(package.files, ["/etc/a", "/usr/bin/b", "/etc/c"]);
        assert_eq!(package.evr(), "0:1.0-2");
        assert_eq!(package.nevra(), "tiny-0:1.0-2.noarch");
        let package = RpmPackage::from_blob(5, &sample(None)).unwrap();
        assert_eq!(package.evr(), "1.0-2");
        assert_eq!(package.vendor, None);
    }

    #[test]
    fn rejects_dir_index_past_dirnames() {
        let blob = build(&[
            (tag::NAME, 6, 1, b"x\0".to_vec()),
            (tag::VERSION, 6, 1, b"1\0".to_vec()),
            (tag::RELEASE, 6, 1, b"1\0".to_vec()),
            (tag::DIRINDEXES, 4, 1, 9u32.to_be_bytes().to_vec()),
            (tag::BASENAMES, 8, 1, b"a\0".to_vec()),
            (tag::DIRNAMES, 8, 1, b"/\0".to_vec()),
        ]);
        let err = RpmPackage::from_blob(1, &blob).unwrap_err();
        assert!(matches!(err, PackageError::BadFileList(_)), "{err}");
    }
}
