//! Shared helpers: where the real databases are, running `rpm -qa` as the
//! oracle, and comparing its answer with ours field for field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use portcullis_rpmdb::RpmPackage;

pub const INSTALL_HINT: &str = "apt-get install -y rpm golang-github-knqyf263-go-rpmdb-dev";

/// The ten real CentOS BerkeleyDB databases shipped by Debian's go-rpmdb.
pub fn centos_databases() -> Vec<(String, PathBuf)> {
    let root = Path::new("/usr/share/gocode/src/github.com/knqyf263/go-rpmdb/pkg/testdata");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(root)
        .unwrap_or_else(|e| {
            panic!(
                "real rpm databases missing at {} ({e}); run `{INSTALL_HINT}`",
                root.display()
            )
        })
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let path = entry.path().join("Packages");
            path.is_file()
                .then(|| (entry.file_name().to_string_lossy().into_owned(), path))
        })
        .collect();
    out.sort();
    assert_eq!(
        out.len(),
        10,
        "expected ten go-rpmdb databases under {}",
        root.display()
    );
    out
}

/// Fails with the install command when a tool is missing.
pub fn require(tool: &str) {
    let found = Command::new(tool).arg("--version").output().is_ok();
    assert!(found, "`{tool}` is not installed; run `{INSTALL_HINT}`");
}

/// What `rpm --qf` prints for one package, and what we must print alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub fields: Vec<String>,
    pub files: Vec<String>,
}

const FIELDS: &[&str] = &[
    "NAME",
    "EPOCH",
    "VERSION",
    "RELEASE",
    "ARCH",
    "SOURCERPM",
    "LICENSE",
    "VENDOR",
    "MODULARITYLABEL",
    "SUMMARY",
    "SIZE",
    "INSTALLTIME",
    "FILEDIGESTALGO",
    "SHA256HEADER",
    "SHA1HEADER",
    "EVR",
    "NEVRA",
];

/// Runs `rpm -qa` on the database in `dbpath`; keyed by header number.
pub fn rpm_query(dbpath: &Path, backend: &str) -> BTreeMap<u32, Shown> {
    require("rpm");
    let fields: Vec<String> = FIELDS.iter().map(|f| format!("%{{{f}}}")).collect();
    let qf = format!(
        "@@%{{DBINSTANCE}}\t{}\n[%{{FILENAMES}}\n]",
        fields.join("\t")
    );
    let output = Command::new("rpm")
        .arg("-qa")
        .arg("--dbpath")
        .arg(dbpath)
        .args(["--define", &format!("_db_backend {backend}")])
        .args(["--qf", &qf])
        .env("LC_ALL", "C")
        .output()
        .expect("run rpm");
    assert!(
        output.status.success(),
        "rpm -qa failed on {}: {}",
        dbpath.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut out = BTreeMap::new();
    let mut current: Option<(u32, Shown)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("@@") {
            if let Some((key, shown)) = current.take() {
                out.insert(key, shown);
            }
            let mut parts = rest.split('\t');
            let key = parts
                .next()
                .and_then(|k| k.parse().ok())
                .expect("DBINSTANCE");
            let mut fields: Vec<String> = parts.map(str::to_string).collect();
            assert_eq!(
                fields.len(),
                FIELDS.len(),
                "unexpected rpm output line {line:?}"
            );
            // Our header digest is the SHA-256 one, else the SHA-1 one.
            if fields[13] == "(none)" {
                fields[13] = fields[14].clone();
            }
            fields[14] = String::new();
            current = Some((
                key,
                Shown {
                    fields,
                    files: Vec::new(),
                },
            ));
        } else if let Some((_, shown)) = current.as_mut() {
            shown.files.push(line.to_string());
        }
    }
    if let Some((key, shown)) = current.take() {
        out.insert(key, shown);
    }
    out
}

/// Our package, printed the way `rpm --qf` prints the same tags.
pub fn shown(package: &RpmPackage) -> Shown {
    let none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
    let number = |v: Option<u64>| v.map_or_else(|| "(none)".to_string(), |n| n.to_string());
    Shown {
        fields: vec![
            package.name.clone(),
            number(package.epoch.map(u64::from)),
            package.version.clone(),
            package.release.clone(),
            none(&package.arch),
            none(&package.source_rpm),
            none(&package.license),
            none(&package.vendor),
            none(&package.modularity_label),
            none(&package.summary),
            number(package.size),
            number(package.install_time),
            number(package.file_digest_algorithm.map(u64::from)),
            none(&package.header_digest),
            String::new(),
            package.evr(),
            package.nevra(),
        ],
        files: package.files.clone(),
    }
}

/// Compares our packages with rpm's answer; returns the number of files
/// compared. Panics with the first differences.
pub fn assert_same(name: &str, ours: &[RpmPackage], rpm: &BTreeMap<u32, Shown>) -> usize {
    let ours: BTreeMap<u32, Shown> = ours.iter().map(|p| (p.header_number, shown(p))).collect();
    let mut problems = Vec::new();
    for (key, expected) in rpm {
        match ours.get(key) {
            None => problems.push(format!("record {key} ({}) missing", expected.fields[0])),
            Some(got) => {
                for (i, (g, e)) in got.fields.iter().zip(&expected.fields).enumerate() {
                    if g != e {
                        problems.push(format!(
                            "record {key} ({}): {} is {g:?}, rpm says {e:?}",
                            expected.fields[0], FIELDS[i]
                        ));
                    }
                }
                if got.files != expected.files {
                    problems.push(format!(
                        "record {key} ({}): {} files, rpm lists {}; first difference {:?}",
                        expected.fields[0],
                        got.files.len(),
                        expected.files.len(),
                        got.files.iter().zip(&expected.files).find(|(g, e)| g != e)
                    ));
                }
            }
        }
    }
    for key in ours.keys().filter(|k| !rpm.contains_key(k)) {
        problems.push(format!("record {key} is ours only"));
    }
    assert!(
        problems.is_empty(),
        "{name}: {} differences from rpm -qa, first ones:\n{}",
        problems.len(),
        problems
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    rpm.values().map(|s| s.files.len()).sum()
}

/// Writes `records` (header number, blob) into a fresh SQLite file with rpm's
/// `Packages` schema, using the real SQLite through Python's `sqlite3`.
pub fn sqlite_from_records(records: &[(u32, &[u8])], page_size: u32) -> Vec<u8> {
    require("python3");
    let dir = tempfile::tempdir().unwrap();
    let mut input = Vec::new();
    for (key, blob) in records {
        input.extend_from_slice(&key.to_le_bytes());
        input.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        input.extend_from_slice(blob);
    }
    let input_path = dir.path().join("records.bin");
    std::fs::write(&input_path, input).unwrap();
    let db = dir.path().join("rpmdb.sqlite");
    let script = r#"
import sqlite3, struct, sys
data = open(sys.argv[1], "rb").read()
c = sqlite3.connect(sys.argv[2])
c.execute("PRAGMA page_size=" + sys.argv[3])
c.execute("CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL)")
c.execute("CREATE TABLE IF NOT EXISTS 'Name' (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum))")
at = 0
while at < len(data):
    key, n = struct.unpack_from("<II", data, at)
    at += 8
    c.execute("INSERT INTO Packages VALUES (?, ?)", (key, data[at:at + n]))
    at += n
c.commit()
c.close()
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(&input_path)
        .arg(&db)
        .arg(page_size.to_string())
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python3 sqlite3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(db).unwrap()
}

/// The bytes of one of the CentOS databases.
pub fn centos(name: &str) -> Vec<u8> {
    let (_, path) = centos_databases()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no go-rpmdb database {name}"));
    std::fs::read(path).unwrap()
}

/// The error of a read that must fail; on success, says how many packages
/// were read instead of printing them all.
pub fn expect_err(
    result: Result<Vec<RpmPackage>, portcullis_rpmdb::RpmdbError>,
) -> portcullis_rpmdb::RpmdbError {
    match result {
        Ok(packages) => panic!("expected an error, read {} packages", packages.len()),
        Err(err) => err,
    }
}
