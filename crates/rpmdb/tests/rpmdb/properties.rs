//! Property tests: no input, however mangled, makes a reader panic, and the
//! header parser returns exactly what a header holds.

use std::sync::OnceLock;

use portcullis_rpmdb::header::{self, tag};
use portcullis_rpmdb::{Limits, RpmPackage, read_packages, read_records};
use proptest::prelude::*;

use crate::ndb::write_ndb;
use crate::support::{centos, sqlite_from_records};

/// The real databases to mutate: a CentOS 5 BerkeleyDB file, and the same
/// headers in an SQLite file (written by SQLite) and an NDB file.
fn databases() -> &'static [Vec<u8>; 3] {
    static DATABASES: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    DATABASES.get_or_init(|| {
        let bdb = centos("centos5-plain");
        let records = read_records(&bdb, &Limits::default()).unwrap();
        let pairs: Vec<(u32, &[u8])> = records.iter().map(|r| (r.key, &r.blob[..])).collect();
        let sqlite = sqlite_from_records(&pairs, 4096);
        let ndb = write_ndb(&pairs, Some(3));
        [bdb.clone(), sqlite, ndb]
    })
}

fn real_headers() -> &'static Vec<Vec<u8>> {
    static HEADERS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    HEADERS.get_or_init(|| {
        read_records(&centos("centos5-plain"), &Limits::default())
            .unwrap()
            .into_iter()
            .map(|r| r.blob.into_owned())
            .collect()
    })
}

/// A mutation: byte flips (half of them in the first 64 KiB, where the
/// metadata, slot pages and first b-tree pages are) and maybe a truncation.
fn mutation() -> impl Strategy<Value = (Vec<(bool, u64, u8)>, Option<u64>)> {
    (
        prop::collection::vec((any::<bool>(), any::<u64>(), 1u8..=255), 1..12),
        prop::option::weighted(0.2, any::<u64>()),
    )
}

fn mutate(original: &[u8], flips: &[(bool, u64, u8)], cut: Option<u64>) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for (early, at, xor) in flips {
        let span = if *early {
            bytes.len().min(65536)
        } else {
            bytes.len()
        };
        let at = (*at % span as u64) as usize;
        bytes[at] ^= xor;
    }
    if let Some(cut) = cut {
        bytes.truncate((cut % original.len() as u64) as usize);
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_real_databases_never_panic(which in 0usize..3, (flips, cut) in mutation()) {
        let bytes = mutate(&databases()[which], &flips, cut);
        let limits = Limits { verify_checksums: which != 2 || flips.len() % 2 == 0, ..Limits::default() };
        // Either answer is fine; a panic or a hang is not.
        let _ = read_packages(&bytes, &limits);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn header_parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(header) = header::parse(&bytes) {
            let _ = RpmPackage::from_header(1, &header);
        }
    }

    #[test]
    fn mutated_real_headers_never_panic(
        index in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8),
        front in any::<bool>(),
    ) {
        let original = index.get(real_headers());
        let mut blob = original.clone();
        for (at, xor) in &flips {
            // Bias towards the index entries, where offsets and counts live.
            let span = if front { blob.len().min(8 + 16 * 64) } else { blob.len() };
            blob[at.index(span)] ^= xor;
        }
        if let Ok(header) = header::parse(&blob) {
            let _ = RpmPackage::from_header(1, &header);
        }
    }

    #[test]
    fn headers_round_trip(
        name in "[a-z][a-z0-9+._-]{0,30}",
        epoch in any::<u32>(),
        sizes in prop::collection::vec(any::<u32>(), 0..20),
        dirs in prop::collection::vec("/[a-z/]{0,20}/", 1..5),
        bases in prop::collection::vec("[a-zA-Z0-9 ._é-]{1,20}", 0..30),
    ) {
        let mut store = Vec::new();
        let mut index = Vec::new();
        let mut add = |tag: u32, kind: u32, count: usize, data: &[u8], align: usize| {
            while !store.len().is_multiple_of(align) {
                store.push(0);
            }
            for field in [tag, kind, store.len() as u32, count as u32] {
                index.extend_from_slice(&field.to_be_bytes());
            }
            store.extend_from_slice(data);
        };
        let strings = |items: &[String]| -> Vec<u8> {
            items.iter().flat_map(|s| s.bytes().chain([0])).collect()
        };
        add(tag::NAME, 6, 1, &strings(std::slice::from_ref(&name)), 1);
        add(tag::VERSION, 6, 1, b"1\0", 1);
        add(tag::RELEASE, 6, 1, b"1\0", 1);
        add(tag::EPOCH, 4, 1, &epoch.to_be_bytes(), 4);
        if !sizes.is_empty() {
            add(tag::FILEDIGESTS + 1, 4, sizes.len(), &sizes.iter().flat_map(|s| s.to_be_bytes()).collect::<Vec<_>>(), 4);
        }
        let dir_indexes: Vec<u32> = (0..bases.len()).map(|i| (i % dirs.len()) as u32).collect();
        if !bases.is_empty() {
            add(tag::DIRINDEXES, 4, bases.len(), &dir_indexes.iter().flat_map(|i| i.to_be_bytes()).collect::<Vec<_>>(), 4);
            add(tag::BASENAMES, 8, bases.len(), &strings(&bases), 1);
            add(tag::DIRNAMES, 8, dirs.len(), &strings(&dirs), 1);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&((index.len() / 16) as u32).to_be_bytes());
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&store);

        let header = header::parse(&blob).unwrap();
        prop_assert_eq!(header.integers(tag::FILEDIGESTS + 1).unwrap(), sizes.iter().map(|s| u64::from(*s)).collect::<Vec<_>>());
        let package = RpmPackage::from_header(9, &header).unwrap();
        prop_assert_eq!(&package.name, &name);
        prop_assert_eq!(package.epoch, Some(epoch));
        let files: Vec<String> = bases.iter().zip(&dir_indexes).map(|(b, i)| format!("{}{b}", dirs[*i as usize])).collect();
        prop_assert_eq!(package.files, files);
        // Any truncation of a valid header is an error, never a panic.
        for cut in [0, 7, 8, blob.len() / 2, blob.len() - 1] {
            prop_assert!(header::parse(&blob[..cut]).is_err());
        }
    }
}
