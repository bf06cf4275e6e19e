//! rpm: the package database in any of its three formats (BerkeleyDB `Packages`, SQLite
//! `rpmdb.sqlite`, NDB `Packages.db`), read by `portcullis-rpmdb` without running rpm.

use std::collections::BTreeMap;

use portcullis_rpmdb::{Limits, RpmPackage};
use portcullis_types::{Distro, Ecosystem, Package};

use portcullis_image::{EntryInfo, Selection};

use crate::{CatalogError, Cataloger, Context, purl};

/// Where distros keep the database, newest layout first. An image has one of them; when
/// `/var/lib/rpm` is a symlink to `/usr/lib/sysimage/rpm` both names reach the same file.
const DATABASES: &[&str] = &[
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/Packages",
    "/var/lib/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages.db",
    "/var/lib/rpm/Packages",
];

/// Reads the rpm database.
#[derive(Debug, Default)]
pub struct Rpm;

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn version(&self) -> u32 {
        1
    }

    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        let path = entry.path;
        let keep = DATABASES.contains(&path)
            || path
                .strip_suffix("-wal")
                .is_some_and(|db| db.ends_with("rpmdb.sqlite") && DATABASES.contains(&db));
        if keep {
            Selection::Keep
        } else {
            Selection::Skip
        }
    }

    fn catalog(&self, cx: &Context<'_>) -> Result<Vec<Package>, CatalogError> {
        for path in DATABASES {
            let Some(bytes) = cx.read(path)? else {
                continue;
            };
            let db_layer = cx.layer_of(path);
            // rpm leaves SQLite in WAL mode; a write-ahead log that was not checkpointed
            // before the layer was committed holds the newest transactions.
            let wal = cx.read(&format!("{path}-wal"))?.filter(|w| !w.is_empty());
            let rpms = portcullis_rpmdb::read_packages_with_wal(bytes, wal, &Limits::default())
                .map_err(|source| CatalogError::Rpm {
                    path: (*path).to_owned(),
                    source,
                })?;
            return Ok(rpms
                .into_iter()
                // rpm keeps the public keys it trusts as pseudo-packages; they are not software.
                .filter(|r| r.name != "gpg-pubkey")
                .map(|r| {
                    let mut p = to_package(r, path, cx.distro);
                    p.layer = cx.layer_of_files(&p.files).or_else(|| db_layer.clone());
                    p
                })
                .collect());
        }
        Ok(Vec::new())
    }
}

fn to_package(rpm: RpmPackage, found_in: &str, distro: Option<&Distro>) -> Package {
    let version_release = format!("{}-{}", rpm.version, rpm.release);
    let version = match rpm.epoch {
        Some(epoch) if epoch != 0 => format!("{epoch}:{version_release}"),
        _ => version_release.clone(),
    };
    let (source_name, source_version) = match rpm.source_rpm.as_deref().and_then(split_source_rpm) {
        Some((name, ver)) => {
            // A source rpm file name has no epoch; the binary's epoch is the source's.
            let ver = match rpm.epoch {
                Some(epoch) if epoch != 0 => format!("{epoch}:{ver}"),
                _ => ver.to_owned(),
            };
            (Some(name.to_owned()), Some(ver))
        }
        None => (None, None),
    };
    let purl = purl::rpm(
        &rpm.name,
        &version_release,
        rpm.epoch,
        rpm.arch.as_deref(),
        rpm.source_rpm.as_deref(),
        distro,
    );
    let mut metadata = BTreeMap::new();
    if let Some(epoch) = rpm.epoch {
        metadata.insert("epoch".to_owned(), epoch.to_string());
    }
    metadata.insert("release".to_owned(), rpm.release.clone());
    if let Some(source_rpm) = &rpm.source_rpm {
        metadata.insert("source_rpm".to_owned(), source_rpm.clone());
    }
    if let Some(vendor) = &rpm.vendor {
        metadata.insert("vendor".to_owned(), vendor.clone());
    }
    if let Some(label) = &rpm.modularity_label {
        metadata.insert("modularitylabel".to_owned(), label.clone());
    }
    Package {
        ecosystem: Ecosystem::Rpm,
        name: rpm.name,
        version,
        arch: rpm.arch,
        source_name,
        source_version,
        licenses: rpm.license.into_iter().filter(|l| !l.is_empty()).collect(),
        purl,
        layer: None,
        found_in: vec![found_in.to_owned()],
        files: rpm.files,
        metadata,
    }
}

/// `bash-4.2.46-34.el7.src.rpm` → (`bash`, `4.2.46-34.el7`). Names may contain dashes
/// (`python3-libs`), versions and releases may not, so split at the last two.
pub(crate) fn split_source_rpm(file: &str) -> Option<(&str, &str)> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let release_dash = stem.rfind('-')?;
    let version_dash = stem[..release_dash].rfind('-')?;
    let name = &stem[..version_dash];
    let evr = &stem[version_dash + 1..];
    (!name.is_empty() && !evr.starts_with('-')).then_some((name, evr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_source_rpm_names() {
        assert_eq!(
            split_source_rpm("bash-4.2.46-34.el7.src.rpm"),
            Some(("bash", "4.2.46-34.el7"))
        );
        assert_eq!(
            split_source_rpm("python3-3.9.16-1.el9_2.1.src.rpm"),
            Some(("python3", "3.9.16-1.el9_2.1"))
        );
        assert_eq!(split_source_rpm("a-b.src.rpm"), None);
        assert_eq!(split_source_rpm("-1-2.src.rpm"), None);
        assert_eq!(split_source_rpm("notrpm"), None);
    }
}
