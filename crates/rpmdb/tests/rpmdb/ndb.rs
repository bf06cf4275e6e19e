//! NDB: no real SUSE `Packages.db` can be had here and Debian's rpm has no
//! ndb backend, so this writer lays out the real CentOS headers exactly as
//! rpm's `lib/backend/ndb/rpmpkg.c` does, and the reader must return the same
//! packages as from the original BerkeleyDB file.

use portcullis_rpmdb::{
    DbFormat, Limits, NdbError, RpmdbError, detect, read_packages, read_records,
};

use crate::support::expect_err;

const PAGE: usize = 4096;
const SLOT: usize = 16;
const BLOCK: usize = 16;
const SLOTS_PER_PAGE: usize = PAGE / SLOT;

fn le(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Adler-32 written out plainly (RFC 1950), independent of the crate's.
fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for byte in bytes {
        a = (a + u32::from(*byte)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// Writes an NDB file holding `blobs` (package index, header blob). Slot
/// `free_slot` (if any) is left free and a gap of free blocks is left after
/// the first blob, as deletions leave them.
pub fn write_ndb(blobs: &[(u32, &[u8])], free_slot: Option<usize>) -> Vec<u8> {
    // Two slots of page 0 hold the file header.
    let slots_needed = blobs.len() + 2 + usize::from(free_slot.is_some());
    let slot_pages = slots_needed.div_ceil(SLOTS_PER_PAGE);
    let mut slots = Vec::new();
    let mut area = Vec::new();
    let mut block = slot_pages * PAGE / BLOCK;
    for (i, (index, blob)) in blobs.iter().enumerate() {
        if Some(slots.len()) == free_slot {
            slots.push((0, 0, 0));
        }
        let blocks = (16 + blob.len() + 12).div_ceil(BLOCK);
        let mut head = Vec::new();
        for word in [
            u32::from_le_bytes(*b"BlbS"),
            *index,
            1_700_000_000,
            blob.len() as u32,
        ] {
            le(&mut head, word);
        }
        let mut body = head;
        body.extend_from_slice(blob);
        body.resize(blocks * BLOCK - 12, 0);
        let sum = adler32(&body);
        le(&mut body, sum);
        le(&mut body, blob.len() as u32);
        le(&mut body, u32::from_le_bytes(*b"BlbE"));
        area.extend_from_slice(&body);
        slots.push((*index, block as u32, blocks as u32));
        block += blocks;
        if i == 0 {
            // Four zeroed blocks, as a deleted blob leaves them.
            area.extend_from_slice(&[0; 4 * BLOCK]);
            block += 4;
        }
    }
    let mut out = Vec::new();
    let next = blobs.iter().map(|(i, _)| *i).max().unwrap_or(0) + 1;
    for word in [
        u32::from_le_bytes(*b"RpmP"),
        0,
        42,
        slot_pages as u32,
        next,
        0,
        0,
        0,
    ] {
        le(&mut out, word);
    }
    for slot in 0..slot_pages * SLOTS_PER_PAGE - 2 {
        let (index, offset, count) = slots.get(slot).copied().unwrap_or((0, 0, 0));
        for word in [u32::from_le_bytes(*b"Slot"), index, offset, count] {
            le(&mut out, word);
        }
    }
    assert_eq!(out.len(), slot_pages * PAGE);
    out.extend_from_slice(&area);
    out
}

fn centos8() -> Vec<u8> {
    let (_, path) = crate::support::centos_databases()
        .into_iter()
        .find(|(name, _)| name == "centos8-modularitylabel")
        .expect("centos8 database");
    std::fs::read(path).unwrap()
}

/// An NDB file with the real headers of the CentOS 8 database.
pub fn centos8_ndb() -> (Vec<u8>, Vec<u8>) {
    let bdb = centos8();
    let records = read_records(&bdb, &Limits::default()).unwrap();
    let blobs: Vec<(u32, &[u8])> = records.iter().map(|r| (r.key, &r.blob[..])).collect();
    let ndb = write_ndb(&blobs, Some(7));
    (bdb, ndb)
}

#[test]
fn ndb_of_real_headers_reads_like_the_original() {
    let (bdb, ndb) = centos8_ndb();
    assert_eq!(detect(&ndb), Some(DbFormat::Ndb));
    let expected = read_packages(&bdb, &Limits::default()).unwrap();
    let got = read_packages(&ndb, &Limits::default()).unwrap();
    assert_eq!(got.len(), 518);
    assert_eq!(got, expected);
    // 518 slots + 2 header slots need three slot pages.
    assert_eq!(u32::from_le_bytes(ndb[12..16].try_into().unwrap()), 3);
}

#[test]
fn ndb_checksum_and_structure_errors() {
    let (_, ndb) = centos8_ndb();
    let blob_area = 3 * PAGE;

    // One flipped byte inside the first blob's header data.
    let mut flipped = ndb.clone();
    flipped[blob_area + 100] ^= 0x40;
    let err = expect_err(read_packages(&flipped, &Limits::default()));
    assert!(
        matches!(err, RpmdbError::Ndb(NdbError::Checksum { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("ndb"), "{err}");
    // Without checksum verification the same file still never panics.
    let lenient = Limits {
        verify_checksums: false,
        ..Limits::default()
    };
    let _ = read_packages(&flipped, &lenient);

    // A slot pointing past the end of the file.
    let mut past = ndb.clone();
    past[32 + 8..32 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = expect_err(read_packages(&past, &Limits::default()));
    assert!(
        matches!(err, RpmdbError::Ndb(NdbError::SlotRange { slot: 0, .. })),
        "{err:?}"
    );

    // A huge slot page count.
    let mut pages = ndb.clone();
    pages[12..16].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
    let err = expect_err(read_packages(&pages, &Limits::default()));
    assert!(
        matches!(err, RpmdbError::Ndb(NdbError::SlotPages { .. })),
        "{err:?}"
    );

    // Broken slot magic, and a truncated file.
    let mut magic = ndb.clone();
    magic[32 + 16] = b'X';
    assert!(matches!(
        read_packages(&magic, &Limits::default()),
        Err(RpmdbError::Ndb(NdbError::SlotMagic { slot: 1, .. }))
    ));
    let err = expect_err(read_packages(&ndb[..ndb.len() - 5], &Limits::default()));
    assert!(
        matches!(err, RpmdbError::Ndb(NdbError::SlotRange { .. })),
        "{err:?}"
    );
}
