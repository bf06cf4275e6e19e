//! Hostile and unusual input: other byte orders and page sizes, truncation,
//! wrong magic, cycles, offsets past the end, huge counts and the limits.

use portcullis_rpmdb::{BdbError, Limits, RpmdbError, SqliteError, read_packages, read_records};

use crate::support::{centos, expect_err, sqlite_from_records};

const BDB_PAGE_HEADER: usize = 26;

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn le16(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

fn swap(bytes: &mut [u8], at: usize, width: usize) {
    bytes[at..at + width].reverse();
}

fn page_size(db: &[u8]) -> usize {
    le32(db, 20) as usize
}

/// Converts a little-endian BerkeleyDB hash file to big-endian, field by
/// field, as rpm's `bdb_swappage` reads one (keys are header numbers in the
/// writer's byte order, so they are swapped too).
fn to_big_endian(db: &[u8]) -> Vec<u8> {
    let mut out = db.to_vec();
    let size = page_size(db);
    for i in (8..224).step_by(4).filter(|i| *i != 24) {
        swap(&mut out, i, 4);
    }
    for page in 1..db.len() / size {
        let base = page * size;
        let kind = db[base + 25];
        let entries = usize::from(le16(db, base + 20));
        for (at, width) in [(8, 4), (12, 4), (16, 4), (20, 2), (22, 2)] {
            swap(&mut out, base + at, width);
        }
        if kind != 2 && kind != 13 {
            continue;
        }
        for i in 0..entries {
            let slot = base + BDB_PAGE_HEADER + 2 * i;
            let offset = base + usize::from(le16(db, slot));
            swap(&mut out, slot, 2);
            match db[offset] {
                3 => {
                    swap(&mut out, offset + 4, 4);
                    swap(&mut out, offset + 8, 4);
                }
                // An inline 4-byte key (1 type byte + 4 bytes): the header number.
                1 if i % 2 == 0 => swap(&mut out, offset + 1, 4),
                _ => {}
            }
        }
    }
    out
}

/// Pages of type `kind` (page numbers).
fn pages_of_type(db: &[u8], kind: u8) -> Vec<usize> {
    let size = page_size(db);
    (1..db.len() / size)
        .filter(|page| db[page * size + 25] == kind)
        .collect()
}

#[test]
fn big_endian_berkeleydb_reads_like_little_endian() {
    let little = centos("centos7-plain");
    let big = to_big_endian(&little);
    assert_ne!(little, big);
    let expected = read_packages(&little, &Limits::default()).unwrap();
    assert_eq!(read_packages(&big, &Limits::default()).unwrap(), expected);
    assert_eq!(expected.len(), 144);
}

#[test]
fn wrong_magic_and_truncation_are_errors() {
    let db = centos("centos5-plain");
    let mut wrong = db.clone();
    wrong[12] ^= 0xff;
    assert!(matches!(
        read_packages(&wrong, &Limits::default()),
        Err(RpmdbError::UnknownFormat)
    ));
    assert!(matches!(
        read_packages(&db[..100], &Limits::default()),
        Err(RpmdbError::Bdb(BdbError::TooShort { len: 100 }))
    ));
    for cut in [4096, db.len() / 3, db.len() / 2, db.len() - 1] {
        let result = read_packages(&db[..cut], &Limits::default());
        assert!(
            matches!(result, Err(RpmdbError::Bdb(BdbError::Truncated { .. }))),
            "cut at {cut}: {:?}",
            result.map(|p| p.len())
        );
    }
    assert!(matches!(
        read_packages(&[], &Limits::default()),
        Err(RpmdbError::UnknownFormat)
    ));
}

#[test]
fn berkeleydb_cycles_and_wild_pointers_are_errors() {
    let db = centos("centos6-plain");
    let size = page_size(&db);

    // An overflow page whose next pointer is itself.
    let page = *pages_of_type(&db, 7)
        .iter()
        .find(|p| le32(&db, *p * size + 16) != 0)
        .unwrap();
    let mut cyclic = db.clone();
    cyclic[page * size + 16..page * size + 20].copy_from_slice(&(page as u32).to_le_bytes());
    let err = expect_err(read_packages(&cyclic, &Limits::default()));
    assert!(
        matches!(err, RpmdbError::Bdb(BdbError::Cycle { page: p }) if p as usize == page),
        "{err:?}"
    );
    assert!(err.to_string().contains("berkeleydb"), "{err}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains(&format!("page {page}")), "{source}");

    // A hash page chained to itself.
    let page = pages_of_type(&db, 13)[0];
    let mut cyclic = db.clone();
    cyclic[page * size + 16..page * size + 20].copy_from_slice(&(page as u32).to_le_bytes());
    assert!(matches!(
        read_packages(&cyclic, &Limits::default()),
        Err(RpmdbError::Bdb(BdbError::Cycle { .. }))
    ));

    // An overflow reference to a page far past the end.
    let mut wild = db.clone();
    let bytes = &db;
    let value = pages_of_type(&db, 13)
        .iter()
        .flat_map(|page| {
            let base = page * size;
            let entries = usize::from(le16(&db, base + 20));
            (0..entries / 2).map(move |pair| {
                base + usize::from(le16(bytes, base + BDB_PAGE_HEADER + 4 * pair + 2))
            })
        })
        .find(|value| db[*value] == 3)
        .expect("an overflow reference");
    wild[value + 4..value + 8].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    assert!(matches!(
        read_packages(&wild, &Limits::default()),
        Err(RpmdbError::Bdb(BdbError::PageOutOfRange {
            page: 0x7fff_ffff,
            ..
        }))
    ));

    // A huge declared value length is refused before anything is allocated.
    let mut huge = db.clone();
    huge[value + 8..value + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        read_packages(&huge, &Limits::default()),
        Err(RpmdbError::Bdb(BdbError::TooLarge { .. }))
    ));

    // A bucket count beyond the file.
    let mut buckets = db.clone();
    buckets[72..76].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(read_packages(&buckets, &Limits::default()).is_err());
}

#[test]
fn limits_are_enforced() {
    let db = centos("centos5-plain");
    let few = Limits {
        max_packages: 5,
        ..Limits::default()
    };
    let err = expect_err(read_packages(&db, &few));
    assert!(
        matches!(err, RpmdbError::Bdb(BdbError::TooManyRecords { limit: 5 })),
        "{err:?}"
    );
    let small = Limits {
        max_header_bytes: 1000,
        ..Limits::default()
    };
    assert!(matches!(
        read_packages(&db, &small),
        Err(RpmdbError::Bdb(BdbError::TooLarge { .. }))
    ));
    let total = Limits {
        max_total_bytes: 100_000,
        ..Limits::default()
    };
    assert!(read_packages(&db, &total).is_err());
}

#[test]
fn sqlite_written_by_sqlite_from_real_headers_in_several_page_sizes() {
    let bdb = centos("centos7-httpd24");
    let records = read_records(&bdb, &Limits::default()).unwrap();
    let pairs: Vec<(u32, &[u8])> = records.iter().map(|r| (r.key, &r.blob[..])).collect();
    let expected = read_packages(&bdb, &Limits::default()).unwrap();
    for page_size in [512, 4096, 65536] {
        let sqlite = sqlite_from_records(&pairs, page_size);
        let got = read_packages(&sqlite, &Limits::default()).unwrap();
        assert_eq!(got, expected, "page size {page_size}");
    }
}

#[test]
fn sqlite_hostile_input_is_an_error() {
    let bdb = centos("centos7-plain");
    let records = read_records(&bdb, &Limits::default()).unwrap();
    let pairs: Vec<(u32, &[u8])> = records.iter().map(|r| (r.key, &r.blob[..])).collect();
    let db = sqlite_from_records(&pairs, 4096);

    let mut size = db.clone();
    size[16..18].copy_from_slice(&3u16.to_be_bytes());
    assert!(matches!(
        read_packages(&size, &Limits::default()),
        Err(RpmdbError::Sqlite(SqliteError::Header(_)))
    ));
    let err = expect_err(read_packages(&db[..db.len() / 2], &Limits::default()));
    assert!(
        matches!(err, RpmdbError::Sqlite(SqliteError::PageOutOfRange { .. })),
        "{err:?}"
    );
    assert!(matches!(
        read_packages(&db[..50], &Limits::default()),
        Err(RpmdbError::Sqlite(SqliteError::TooShort { len: 50 }))
    ));

    // An interior table page whose right-most child is itself.
    let page = (2..db.len() / 4096)
        .find(|p| db[(p - 1) * 4096] == 0x05)
        .expect("an interior table page");
    let mut cyclic = db.clone();
    let at = (page - 1) * 4096 + 8;
    cyclic[at..at + 4].copy_from_slice(&(page as u32).to_be_bytes());
    assert!(matches!(
        read_packages(&cyclic, &Limits::default()),
        Err(RpmdbError::Sqlite(SqliteError::Cycle { .. }))
    ));

    let few = Limits {
        max_packages: 3,
        ..Limits::default()
    };
    assert!(matches!(
        read_packages(&db, &few),
        Err(RpmdbError::Sqlite(SqliteError::TooManyRecords { limit: 3 }))
    ));
    let small = Limits {
        max_header_bytes: 1000,
        ..Limits::default()
    };
    assert!(matches!(
        read_packages(&db, &small),
        Err(RpmdbError::Sqlite(SqliteError::TooLarge { .. }))
    ));
}
