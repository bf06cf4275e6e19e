//! The compiled index: one redb file answering "which advisories touch this
//! package in this ecosystem or distro release" without loading the rest.
//!
//! Tables (schema [`SCHEMA_VERSION`]):
//! - `meta`: `manifest` → the [`Manifest`] as JSON (sources, snapshot dates, counts);
//! - `affected`: `ecosystem \0 normalised name` → postcard list of `StoredAffected`
//!   (source, advisory ID and the affected entry, so a lookup is one B-tree get);
//! - `records`: record number → the whole [`Advisory`] as JSON (read only for findings);
//! - `ids`: `SOURCE \0 ID` → record number;
//! - `aliases`: an ID or alias, uppercase → postcard list of record numbers;
//! - `cves`: CVE → postcard `StoredCveInfo` (EPSS, KEV).
//!
//! An affected entry's `versions` enumeration is left out of the `affected`
//! table when its ranges already cover every listed version (checked with the
//! ecosystem's ordering while building); the record keeps the full list.
//!
//! The affected lists use postcard (compact, fast) through private mirror
//! structs, because the public model skips empty fields in JSON, which a
//! non-self-describing format cannot read back.

use std::collections::BTreeMap;
use std::path::Path;

use portcullis_types::{
    Advisory, AdvisoryMatch, AdvisorySource, Affected, AffectedStatus, CveInfo, Epss, Kev,
    NativeRange, OsvRange, SeverityLevel, normalize_package_name,
};
use redb::{ReadOnlyTable, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// The version of the table layout; an index of another version is refused
/// with a message to run `db update` or import a matching bundle.
pub const SCHEMA_VERSION: u32 = 1;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const AFFECTED: TableDefinition<&str, &[u8]> = TableDefinition::new("affected");
const RECORDS: TableDefinition<u32, &[u8]> = TableDefinition::new("records");
const IDS: TableDefinition<&str, u32> = TableDefinition::new("ids");
const ALIASES: TableDefinition<&str, &[u8]> = TableDefinition::new("aliases");
const CVES: TableDefinition<&str, &[u8]> = TableDefinition::new("cves");

/// Errors of reading or writing an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("advisory index {path}: {source}")]
    Redb {
        path: String,
        #[source]
        source: Box<redb::Error>,
    },
    #[error(
        "advisory index {path} has schema version {found}, this portcullis reads version {expected}; run `portcullis db update` or import a bundle made by this version"
    )]
    Schema {
        path: String,
        found: u32,
        expected: u32,
    },
    #[error("advisory index {path} is corrupt: {reason}; run `portcullis db update` to rebuild it")]
    Corrupt { path: String, reason: String },
}

/// One source as recorded in the index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub name: String,
    /// Where the data came from: paths or URLs.
    pub locations: Vec<String>,
    /// The formats recognised, with the number of files of each.
    pub formats: BTreeMap<String, u64>,
    /// The newest date stated by the data itself (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// When the data was fetched or read (RFC 3339).
    pub fetched_at: String,
    /// Records read, by the format's own unit (`OSV records`, `DSA`…).
    pub records: BTreeMap<String, u64>,
    /// Advisories indexed after merging records with the same ID.
    pub advisories: u64,
    /// Affected package entries indexed.
    pub affected: u64,
    pub epss: u64,
    pub kev: u64,
    /// Records or parts skipped with a warning.
    pub skipped: u64,
    /// SHA-256 of each fetched file, so that an update whose files are all
    /// unchanged can skip rebuilding.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
}

/// What an index holds, stored in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// When the index was built (RFC 3339).
    pub built_at: String,
    /// The portcullis version that built it.
    pub built_by: String,
    pub sources: Vec<SourceInfo>,
    pub advisories: u64,
    pub affected: u64,
    pub package_keys: u64,
    pub cves_with_scores: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredAffected {
    pub source: String,
    pub advisory_id: String,
    pub package: String,
    pub status: AffectedStatus,
    pub ranges: Vec<OsvRange>,
    pub versions: Vec<String>,
    pub native: Option<(Option<String>, Vec<String>)>,
    pub severity: Option<SeverityLevel>,
    pub note: Option<String>,
    pub symbols: Vec<String>,
}

impl StoredAffected {
    pub(crate) fn new(advisory: &Advisory, a: &Affected) -> StoredAffected {
        StoredAffected {
            source: advisory.source.clone(),
            advisory_id: advisory.id.clone(),
            package: a.package.clone(),
            status: a.status,
            ranges: a.ranges.clone(),
            versions: if versions_covered_by_ranges(a) {
                Vec::new()
            } else {
                a.versions.clone()
            },
            native: a
                .native
                .as_ref()
                .map(|n| (n.vulnerable.clone(), n.unaffected.clone())),
            severity: a.severity,
            note: a.note.clone(),
            symbols: a.symbols.clone(),
        }
    }

    fn into_affected(self, ecosystem: &str) -> Affected {
        Affected {
            ecosystem: ecosystem.to_owned(),
            package: self.package,
            status: self.status,
            ranges: self.ranges,
            versions: self.versions,
            native: self.native.map(|(vulnerable, unaffected)| NativeRange {
                vulnerable,
                unaffected,
            }),
            severity: self.severity,
            note: self.note,
            symbols: self.symbols,
        }
    }
}

/// True when every listed version already lies in the entry's ranges, so the
/// list adds nothing to matching. osv.dev and PyPA enumerate every affected
/// release (29,611 strings for TensorFlow), which would dominate lookup time.
fn versions_covered_by_ranges(a: &Affected) -> bool {
    use portcullis_types::OsvRangeKind;
    if a.versions.is_empty()
        || !a
            .ranges
            .iter()
            .any(|r| matches!(r.kind, OsvRangeKind::Ecosystem | OsvRangeKind::Semver))
    {
        return false;
    }
    let Some(scheme) = portcullis_version::scheme_for_osv_ecosystem(&a.ecosystem) else {
        return false;
    };
    a.versions
        .iter()
        .all(|v| portcullis_version::osv_ranges_affected(scheme, v, &a.ranges, &[]) == Ok(true))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredCveInfo {
    pub epss: Option<(f32, f32)>,
    pub kev: Option<StoredKev>,
}

/// [`Kev`] without the JSON-only attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredKev {
    pub date_added: String,
    pub due_date: Option<String>,
    pub ransomware: Option<String>,
    pub name: Option<String>,
}

impl StoredCveInfo {
    pub(crate) fn into_info(self) -> CveInfo {
        CveInfo {
            epss: self
                .epss
                .map(|(score, percentile)| Epss { score, percentile }),
            kev: self.kev.map(|k| Kev {
                date_added: k.date_added,
                due_date: k.due_date,
                ransomware: k.ransomware,
                name: k.name,
            }),
        }
    }
}

/// The key of a package in the `affected` table.
pub(crate) fn package_key(ecosystem: &str, package: &str) -> String {
    format!(
        "{ecosystem}\0{}",
        normalize_package_name(ecosystem, package)
    )
}

/// Writes a new index file from merged advisories (sorted by source and ID).
pub(crate) struct IndexWriter {
    path: String,
    db: redb::Database,
}

fn redb_err(path: &str, e: impl Into<redb::Error>) -> IndexError {
    IndexError::Redb {
        path: path.to_owned(),
        source: Box::new(e.into()),
    }
}

impl IndexWriter {
    pub(crate) fn create(path: &Path) -> Result<IndexWriter, IndexError> {
        let name = path.display().to_string();
        let db = redb::Database::builder()
            .create(path)
            .map_err(|e| redb_err(&name, e))?;
        Ok(IndexWriter { path: name, db })
    }

    /// Writes everything in one transaction, then compacts the file.
    pub(crate) fn write(
        mut self,
        manifest: &Manifest,
        advisories: &[Advisory],
        cves: &BTreeMap<String, StoredCveInfo>,
    ) -> Result<Manifest, IndexError> {
        let p = self.path.clone();
        let e = |x: redb::Error| redb_err(&p, x);
        let txn = self.db.begin_write().map_err(|x| e(x.into()))?;
        let mut manifest = manifest.clone();
        {
            let mut affected: BTreeMap<String, Vec<StoredAffected>> = BTreeMap::new();
            let mut aliases: BTreeMap<String, Vec<u32>> = BTreeMap::new();
            let mut records = txn.open_table(RECORDS).map_err(|x| e(x.into()))?;
            let mut ids = txn.open_table(IDS).map_err(|x| e(x.into()))?;
            for (number, advisory) in advisories.iter().enumerate() {
                let number = u32::try_from(number).map_err(|_| IndexError::Corrupt {
                    path: p.clone(),
                    reason: "more than 4 billion advisories".into(),
                })?;
                let json = serde_json::to_vec(advisory).map_err(|x| IndexError::Corrupt {
                    path: p.clone(),
                    reason: x.to_string(),
                })?;
                records
                    .insert(number, json.as_slice())
                    .map_err(|x| e(x.into()))?;
                ids.insert(
                    format!("{}\0{}", advisory.source, advisory.id).as_str(),
                    number,
                )
                .map_err(|x| e(x.into()))?;
                for id in advisory.all_ids() {
                    let list = aliases.entry(id.to_ascii_uppercase()).or_default();
                    if list.last() != Some(&number) {
                        list.push(number);
                    }
                }
                for a in &advisory.affected {
                    affected
                        .entry(package_key(&a.ecosystem, &a.package))
                        .or_default()
                        .push(StoredAffected::new(advisory, a));
                }
            }
            put_postcard(&txn, AFFECTED, &affected, &p)?;
            put_postcard(&txn, ALIASES, &aliases, &p)?;
            put_postcard(&txn, CVES, cves, &p)?;
            manifest.package_keys = affected.len() as u64;
            let mut meta = txn.open_table(META).map_err(|x| e(x.into()))?;
            let json = serde_json::to_vec(&manifest).map_err(|x| IndexError::Corrupt {
                path: p.clone(),
                reason: x.to_string(),
            })?;
            meta.insert("manifest", json.as_slice())
                .map_err(|x| e(x.into()))?;
            meta.insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())
                .map_err(|x| e(x.into()))?;
        }
        txn.commit().map_err(|x| e(x.into()))?;
        self.db.compact().map_err(|x| e(x.into()))?;
        Ok(manifest)
    }
}

/// Writes every `(key, value)` of `map` into `table`, values postcard-encoded.
fn put_postcard<V: Serialize>(
    txn: &redb::WriteTransaction,
    table: TableDefinition<&str, &[u8]>,
    map: &BTreeMap<String, V>,
    path: &str,
) -> Result<(), IndexError> {
    let mut table = txn.open_table(table).map_err(|x| redb_err(path, x))?;
    for (key, value) in map {
        let bytes = postcard::to_stdvec(value).map_err(|x| IndexError::Corrupt {
            path: path.to_owned(),
            reason: x.to_string(),
        })?;
        table
            .insert(key.as_str(), bytes.as_slice())
            .map_err(|x| redb_err(path, x))?;
    }
    Ok(())
}

/// A read-only view of an index file. Several processes may hold one at once;
/// pages are read on demand through redb's cache, not loaded whole.
pub struct Index {
    path: String,
    manifest: Manifest,
    affected: ReadOnlyTable<&'static str, &'static [u8]>,
    records: ReadOnlyTable<u32, &'static [u8]>,
    ids: ReadOnlyTable<&'static str, u32>,
    aliases: ReadOnlyTable<&'static str, &'static [u8]>,
    cves: ReadOnlyTable<&'static str, &'static [u8]>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish()
    }
}

impl Index {
    /// Opens an index read-only and checks its schema version.
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        let p = path.display().to_string();
        let e = |x: redb::Error| redb_err(&p, x);
        let db = redb::Builder::new()
            // Enough for the hot B-tree pages of a scan; the rest stays on disk.
            .set_cache_size(64 << 20)
            .open_read_only(path)
            .map_err(|x| e(x.into()))?;
        let txn = db.begin_read().map_err(|x| e(x.into()))?;
        let meta = txn.open_table(META).map_err(|x| e(x.into()))?;
        let schema = meta
            .get("schema")
            .map_err(|x| e(x.into()))?
            .and_then(|v| <[u8; 4]>::try_from(v.value()).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| IndexError::Corrupt {
                path: p.clone(),
                reason: "no schema version".into(),
            })?;
        if schema != SCHEMA_VERSION {
            return Err(IndexError::Schema {
                path: p,
                found: schema,
                expected: SCHEMA_VERSION,
            });
        }
        let manifest = meta
            .get("manifest")
            .map_err(|x| e(x.into()))?
            .ok_or_else(|| IndexError::Corrupt {
                path: p.clone(),
                reason: "no manifest".into(),
            })
            .and_then(|v| {
                serde_json::from_slice::<Manifest>(v.value()).map_err(|x| IndexError::Corrupt {
                    path: p.clone(),
                    reason: format!("manifest: {x}"),
                })
            })?;
        Ok(Index {
            manifest,
            affected: txn.open_table(AFFECTED).map_err(|x| e(x.into()))?,
            records: txn.open_table(RECORDS).map_err(|x| e(x.into()))?,
            ids: txn.open_table(IDS).map_err(|x| e(x.into()))?,
            aliases: txn.open_table(ALIASES).map_err(|x| e(x.into()))?,
            cves: txn.open_table(CVES).map_err(|x| e(x.into()))?,
            path: p,
        })
    }

    /// What the index holds.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The file this index was opened from.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn err(&self, e: impl Into<redb::Error>) -> IndexError {
        redb_err(&self.path, e)
    }

    fn corrupt(&self, what: &str, e: impl std::fmt::Display) -> IndexError {
        IndexError::Corrupt {
            path: self.path.clone(),
            reason: format!("{what}: {e}"),
        }
    }

    fn record(&self, number: u32) -> Result<Advisory, IndexError> {
        let value = self
            .records
            .get(number)
            .map_err(|e| self.err(e))?
            .ok_or_else(|| self.corrupt("record", format!("{number} missing")))?;
        serde_json::from_slice(value.value()).map_err(|e| self.corrupt("record", e))
    }

    /// The ecosystems that have at least one affected package, with how many packages.
    pub fn ecosystems(&self) -> Result<BTreeMap<String, u64>, IndexError> {
        let mut out = BTreeMap::new();
        for entry in self.affected.iter().map_err(|e| self.err(e))? {
            let (key, _) = entry.map_err(|e| self.err(e))?;
            if let Some((ecosystem, _)) = key.value().split_once('\0') {
                *out.entry(ecosystem.to_owned()).or_default() += 1;
            }
        }
        Ok(out)
    }

    /// Every (ecosystem, package) whose normalised name equals `package`'s
    /// in its ecosystem, for searching by package without an ecosystem.
    pub fn find_package(&self, package: &str) -> Result<Vec<(String, String)>, IndexError> {
        let mut out = Vec::new();
        for entry in self.affected.iter().map_err(|e| self.err(e))? {
            let (key, _) = entry.map_err(|e| self.err(e))?;
            if let Some((ecosystem, name)) = key.value().split_once('\0')
                && name == normalize_package_name(ecosystem, package)
            {
                out.push((ecosystem.to_owned(), name.to_owned()));
            }
        }
        Ok(out)
    }

    /// Every package key, `(ecosystem, normalised name)`, in key order.
    pub fn package_keys(&self) -> Result<Vec<(String, String)>, IndexError> {
        let mut out = Vec::new();
        for entry in self.affected.iter().map_err(|e| self.err(e))? {
            let (key, _) = entry.map_err(|e| self.err(e))?;
            if let Some((ecosystem, name)) = key.value().split_once('\0') {
                out.push((ecosystem.to_owned(), name.to_owned()));
            }
        }
        Ok(out)
    }
}

impl AdvisorySource for Index {
    type Error = IndexError;

    fn affected(&self, ecosystem: &str, package: &str) -> Result<Vec<AdvisoryMatch>, IndexError> {
        let key = package_key(ecosystem, package);
        let Some(value) = self.affected.get(key.as_str()).map_err(|e| self.err(e))? else {
            return Ok(Vec::new());
        };
        let list: Vec<StoredAffected> =
            postcard::from_bytes(value.value()).map_err(|e| self.corrupt("affected", e))?;
        let mut out = Vec::with_capacity(list.len());
        for mut stored in list {
            out.push(AdvisoryMatch {
                advisory_id: std::mem::take(&mut stored.advisory_id),
                source: std::mem::take(&mut stored.source),
                affected: stored.into_affected(ecosystem),
            });
        }
        Ok(out)
    }

    fn advisory(&self, source: &str, id: &str) -> Result<Option<Advisory>, IndexError> {
        let key = format!("{source}\0{id}");
        let Some(number) = self.ids.get(key.as_str()).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        self.record(number.value()).map(Some)
    }

    fn by_alias(&self, id: &str) -> Result<Vec<Advisory>, IndexError> {
        let key = id.trim().to_ascii_uppercase();
        let Some(value) = self.aliases.get(key.as_str()).map_err(|e| self.err(e))? else {
            return Ok(Vec::new());
        };
        let numbers: Vec<u32> =
            postcard::from_bytes(value.value()).map_err(|e| self.corrupt("aliases", e))?;
        numbers.into_iter().map(|n| self.record(n)).collect()
    }

    fn cve_info(&self, cve: &str) -> Result<Option<CveInfo>, IndexError> {
        let key = cve.trim().to_ascii_uppercase();
        let Some(value) = self.cves.get(key.as_str()).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let info: StoredCveInfo =
            postcard::from_bytes(value.value()).map_err(|e| self.corrupt("cves", e))?;
        Ok(Some(info.into_info()))
    }
}

impl Index {
    /// Every `affected` entry as stored (key, postcard bytes), for the storage
    /// benchmark that compares engines on the same data.
    #[doc(hidden)]
    pub fn raw_affected(&self) -> Result<Vec<(String, Vec<u8>)>, IndexError> {
        let mut out = Vec::new();
        for entry in self.affected.iter().map_err(|e| self.err(e))? {
            let (key, value) = entry.map_err(|e| self.err(e))?;
            out.push((key.value().to_owned(), value.value().to_vec()));
        }
        Ok(out)
    }

    /// Decodes one stored `affected` list, as [`AdvisorySource::affected`] does.
    #[doc(hidden)]
    pub fn decode_affected(bytes: &[u8]) -> Option<usize> {
        postcard::from_bytes::<Vec<StoredAffected>>(bytes)
            .ok()
            .map(|v| v.len())
    }
}
