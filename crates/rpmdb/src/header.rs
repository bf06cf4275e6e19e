//! The RPM header blob as stored in every rpm database: a header with no lead
//! and no magic, i.e. `il` (index count, u32 BE), `dl` (data length, u32 BE),
//! `il` index entries of 16 bytes (tag, type, offset, count; all BE), then the
//! data store of `dl` bytes.
//!
//! [`parse`] validates every entry against the blob before anything reads it;
//! the parsed [`Header`] borrows from the blob and decodes values on demand.
//! Region tags (61–63) are checked and then dropped: an installed header is an
//! immutable region followed by "dribble" entries that rpm added at install
//! time, and, as in rpm, a dribble entry replaces a region entry with the same
//! tag.

use std::collections::BTreeMap;

/// Tag numbers used by this crate (values from rpm's `rpmtag.h`).
pub mod tag {
    pub const HEADER_IMAGE: u32 = 61;
    pub const HEADER_SIGNATURES: u32 = 62;
    pub const HEADER_IMMUTABLE: u32 = 63;
    pub const HEADER_I18NTABLE: u32 = 100;
    pub const SIGMD5: u32 = 261;
    pub const SHA1HEADER: u32 = 269;
    pub const SHA256HEADER: u32 = 273;
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const SUMMARY: u32 = 1004;
    pub const INSTALLTIME: u32 = 1008;
    pub const SIZE: u32 = 1009;
    pub const VENDOR: u32 = 1011;
    pub const LICENSE: u32 = 1014;
    pub const ARCH: u32 = 1022;
    pub const OLDFILENAMES: u32 = 1027;
    pub const FILEDIGESTS: u32 = 1035;
    pub const SOURCERPM: u32 = 1044;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const LONGSIZE: u32 = 5009;
    pub const FILEDIGESTALGO: u32 = 5011;
    pub const PAYLOADDIGEST: u32 = 5092;
    pub const PAYLOADDIGESTALGO: u32 = 5093;
    pub const MODULARITYLABEL: u32 = 5096;
}

/// Size of one index entry, and of the region trailer.
const ENTRY_SIZE: usize = 16;
/// rpm refuses headers with 65536 or more tags (`hdrchkTags`).
const MAX_TAGS: u32 = 0xffff;
/// rpm refuses data stores of 16 MiB or more (`hdrchkData`).
const MAX_DATA: u32 = 0x00ff_ffff;

/// The data type of an entry (rpm's `rpmTagType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TagType {
    Null,
    Char,
    Int8,
    Int16,
    Int32,
    Int64,
    String,
    Bin,
    StringArray,
    I18nString,
}

impl TagType {
    fn from_raw(raw: u32) -> Option<TagType> {
        Some(match raw {
            0 => TagType::Null,
            1 => TagType::Char,
            2 => TagType::Int8,
            3 => TagType::Int16,
            4 => TagType::Int32,
            5 => TagType::Int64,
            6 => TagType::String,
            7 => TagType::Bin,
            8 => TagType::StringArray,
            9 => TagType::I18nString,
            _ => return None,
        })
    }

    /// Bytes per element for fixed-size types.
    fn width(self) -> Option<usize> {
        match self {
            TagType::Null => Some(0),
            TagType::Char | TagType::Int8 | TagType::Bin => Some(1),
            TagType::Int16 => Some(2),
            TagType::Int32 => Some(4),
            TagType::Int64 => Some(8),
            TagType::String | TagType::StringArray | TagType::I18nString => None,
        }
    }
}

/// Why a header blob was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("rpm header is truncated: {len} bytes, at least {needed} needed")]
    Truncated { len: usize, needed: usize },
    #[error("rpm header declares {il} index entries; rpm accepts 1 to {MAX_TAGS}")]
    BadIndexCount { il: u32 },
    #[error("rpm header declares a data store of {dl} bytes; rpm accepts at most {MAX_DATA}")]
    BadDataLength { dl: u32 },
    #[error("rpm header entry {index} (tag {tag}) has unknown type {raw}")]
    BadType { index: usize, tag: u32, raw: u32 },
    #[error(
        "rpm header entry {index} (tag {tag}) points past the data store: offset {offset}, count {count}, data length {dl}"
    )]
    OutOfBounds {
        index: usize,
        tag: u32,
        offset: u32,
        count: u32,
        dl: u32,
    },
    #[error("rpm header entry {index} (tag {tag}) has an unterminated string at offset {offset}")]
    Unterminated { index: usize, tag: u32, offset: u32 },
    #[error("rpm header entry {index} (tag {tag}) is a string with count {count}, expected 1")]
    BadStringCount { index: usize, tag: u32, count: u32 },
    #[error("rpm header region tag {tag} is malformed: {reason}")]
    BadRegion { tag: u32, reason: &'static str },
    #[error("rpm header tag {tag} has type {found:?}, expected {expected}")]
    WrongType {
        tag: u32,
        found: TagType,
        expected: &'static str,
    },
}

/// One validated index entry: its type, element count and exact data bytes.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub tag: u32,
    pub kind: TagType,
    pub count: u32,
    /// Exactly the bytes of the value (strings include their NUL terminators).
    pub data: &'a [u8],
}

/// A parsed header: the last entry for each tag, sorted by tag.
#[derive(Debug, Clone, Default)]
pub struct Header<'a> {
    entries: BTreeMap<u32, Entry<'a>>,
}

/// Parses and validates a header blob (the "header with no lead" format).
pub fn parse(blob: &[u8]) -> Result<Header<'_>, HeaderError> {
    let il = be32(blob, 0).ok_or(HeaderError::Truncated {
        len: blob.len(),
        needed: 8,
    })?;
    let dl = be32(blob, 4).ok_or(HeaderError::Truncated {
        len: blob.len(),
        needed: 8,
    })?;
    if il == 0 || il > MAX_TAGS {
        return Err(HeaderError::BadIndexCount { il });
    }
    if dl > MAX_DATA {
        return Err(HeaderError::BadDataLength { dl });
    }
    // Both are bounded above, so this cannot overflow.
    let data_start = 8 + il as usize * ENTRY_SIZE;
    let needed = data_start + dl as usize;
    if blob.len() < needed {
        return Err(HeaderError::Truncated {
            len: blob.len(),
            needed,
        });
    }
    let index = &blob[8..data_start];
    let store = &blob[data_start..needed];

    let mut entries = BTreeMap::new();
    for (i, raw) in index.chunks_exact(ENTRY_SIZE).enumerate() {
        let field = |at: usize| be32(raw, at).unwrap_or(0);
        let (tag, raw_type, offset, count) = (field(0), field(4), field(8), field(12));
        let kind = TagType::from_raw(raw_type).ok_or(HeaderError::BadType {
            index: i,
            tag,
            raw: raw_type,
        })?;
        let oob = HeaderError::OutOfBounds {
            index: i,
            tag,
            offset,
            count,
            dl,
        };
        if matches!(
            tag,
            tag::HEADER_IMAGE | tag::HEADER_SIGNATURES | tag::HEADER_IMMUTABLE
        ) {
            check_region(i, tag, kind, offset, count, store)?;
            continue;
        }
        let rest = store.get(offset as usize..).ok_or(oob.clone())?;
        let len = match kind.width() {
            Some(width) => (count as usize)
                .checked_mul(width)
                .filter(|len| *len <= rest.len())
                .ok_or(oob)?,
            None => {
                if kind == TagType::String && count != 1 {
                    return Err(HeaderError::BadStringCount {
                        index: i,
                        tag,
                        count,
                    });
                }
                strings_len(rest, count).ok_or(HeaderError::Unterminated {
                    index: i,
                    tag,
                    offset,
                })?
            }
        };
        let data = &rest[..len];
        entries.insert(
            tag,
            Entry {
                tag,
                kind,
                count,
                data,
            },
        );
    }
    Ok(Header { entries })
}

/// A region entry points at a 16-byte trailer that repeats the region tag with
/// a negative offset (minus the region's index size).
fn check_region(
    index: usize,
    tag: u32,
    kind: TagType,
    offset: u32,
    count: u32,
    store: &[u8],
) -> Result<(), HeaderError> {
    if index != 0 {
        return Err(HeaderError::BadRegion {
            tag,
            reason: "region tag is not the first entry",
        });
    }
    if kind != TagType::Bin || count as usize != ENTRY_SIZE {
        return Err(HeaderError::BadRegion {
            tag,
            reason: "region tag is not 16 bytes of BIN",
        });
    }
    let trailer = (offset as usize)
        .checked_add(ENTRY_SIZE)
        .and_then(|end| store.get(offset as usize..end))
        .ok_or(HeaderError::BadRegion {
            tag,
            reason: "region trailer lies past the data store",
        })?;
    let trailer_tag = be32(trailer, 0).unwrap_or(0);
    // rpm accepts an old HEADERIMAGE trailer inside a signature region.
    let tag_ok =
        trailer_tag == tag || (tag == tag::HEADER_SIGNATURES && trailer_tag == tag::HEADER_IMAGE);
    if !tag_ok {
        return Err(HeaderError::BadRegion {
            tag,
            reason: "region trailer names another tag",
        });
    }
    Ok(())
}

/// Length of `count` NUL-terminated strings at the start of `bytes`, or None if
/// they do not all end inside it. Each string takes at least one byte, so a
/// huge count fails fast instead of looping.
fn strings_len(bytes: &[u8], count: u32) -> Option<usize> {
    if count as usize > bytes.len() {
        return None;
    }
    let mut at = 0;
    for _ in 0..count {
        let nul = bytes.get(at..)?.iter().position(|b| *b == 0)?;
        at += nul + 1;
    }
    Some(at)
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(raw.try_into().ok()?))
}

impl<'a> Header<'a> {
    /// The entry for `tag`, if present.
    pub fn entry(&self, tag: u32) -> Option<&Entry<'a>> {
        self.entries.get(&tag)
    }

    /// All entries, sorted by tag.
    pub fn entries(&self) -> impl Iterator<Item = &Entry<'a>> {
        self.entries.values()
    }

    /// A STRING (or the first string of an I18NSTRING or STRING_ARRAY),
    /// decoded lossily: old packages carry Latin-1 text.
    pub fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        match entry.kind {
            TagType::String | TagType::I18nString | TagType::StringArray => Ok(entry
                .data
                .split(|b| *b == 0)
                .next()
                .map(|s| String::from_utf8_lossy(s).into_owned())),
            found => Err(HeaderError::WrongType {
                tag,
                found,
                expected: "a string",
            }),
        }
    }

    /// A STRING_ARRAY (or a single STRING as a one-element array).
    pub fn string_array(&self, tag: u32) -> Result<Vec<String>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        match entry.kind {
            TagType::String | TagType::I18nString | TagType::StringArray => {
                // The data ends with a NUL, so the split yields one empty tail.
                let mut parts: Vec<String> = entry
                    .data
                    .split(|b| *b == 0)
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                parts.pop();
                Ok(parts)
            }
            found => Err(HeaderError::WrongType {
                tag,
                found,
                expected: "a string array",
            }),
        }
    }

    /// An integer array of any width, widened to u64.
    pub fn integers(&self, tag: u32) -> Result<Vec<u64>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        let width = match entry.kind {
            TagType::Char | TagType::Int8 => 1,
            TagType::Int16 => 2,
            TagType::Int32 => 4,
            TagType::Int64 => 8,
            found => {
                return Err(HeaderError::WrongType {
                    tag,
                    found,
                    expected: "an integer",
                });
            }
        };
        Ok(entry
            .data
            .chunks_exact(width)
            .map(|chunk| chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
            .collect())
    }

    /// The first integer of an integer entry.
    pub fn integer(&self, tag: u32) -> Result<Option<u64>, HeaderError> {
        Ok(self.integers(tag)?.first().copied())
    }

    /// The raw bytes of a BIN entry.
    pub fn binary(&self, tag: u32) -> Result<Option<&'a [u8]>, HeaderError> {
        match self.entry(tag) {
            None => Ok(None),
            Some(entry) if entry.kind == TagType::Bin => Ok(Some(entry.data)),
            Some(entry) => Err(HeaderError::WrongType {
                tag,
                found: entry.kind,
                expected: "binary",
            }),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a header blob from (tag, type, count, data) entries, laying the
    /// data out in order with rpm's alignment.
    pub(crate) fn build(entries: &[(u32, u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store: Vec<u8> = Vec::new();
        for (tag, kind, count, data) in entries {
            let align = match kind {
                3 => 2,
                4 => 4,
                5 => 8,
                _ => 1,
            };
            while !store.len().is_multiple_of(align) {
                store.push(0);
            }
            for field in [*tag, *kind, store.len() as u32, *count] {
                index.extend_from_slice(&field.to_be_bytes());
            }
            store.extend_from_slice(data);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(store.len() as u32).to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&store);
        blob
    }

    #[test]
    fn reads_strings_integers_and_arrays() {
        let blob = build(&[
            (tag::NAME, 6, 1, b"bash\0".to_vec()),
            (tag::EPOCH, 4, 1, 7u32.to_be_bytes().to_vec()),
            (tag::BASENAMES, 8, 2, b"a\0bc\0".to_vec()),
            (tag::SUMMARY, 9, 2, b"hello\0bonjour\0".to_vec()),
        ]);
        let header = parse(&blob).unwrap();
        assert_eq!(header.string(tag::NAME).unwrap().as_deref(), Some("bash"));
        assert_eq!(header.integer(tag::EPOCH).unwrap(), Some(7));
        assert_eq!(header.string_array(tag::BASENAMES).unwrap(), ["a", "bc"]);
        assert_eq!(
            header.string(tag::SUMMARY).unwrap().as_deref(),
            Some("hello")
        );
        assert_eq!(header.string(tag::VENDOR).unwrap(), None);
        assert!(matches!(
            header.integer(tag::NAME),
            Err(HeaderError::WrongType { tag: 1000, .. })
        ));
    }

    #[test]
    fn rejects_hostile_headers() {
        assert!(matches!(parse(&[0, 0]), Err(HeaderError::Truncated { .. })));
        let mut huge = vec![0xff; 8];
        huge.extend_from_slice(&[0; 64]);
        assert!(matches!(
            parse(&huge),
            Err(HeaderError::BadIndexCount { .. })
        ));
        // Count of a million int32s in a 4-byte store.
        let blob = build(&[(tag::EPOCH, 4, 1_000_000, vec![0, 0, 0, 1])]);
        assert!(matches!(parse(&blob), Err(HeaderError::OutOfBounds { .. })));
        // A string without its NUL.
        let blob = build(&[(tag::NAME, 6, 1, b"bash".to_vec())]);
        assert!(matches!(
            parse(&blob),
            Err(HeaderError::Unterminated { .. })
        ));
        // Unknown type.
        let blob = build(&[(tag::NAME, 42, 1, b"x\0".to_vec())]);
        assert!(matches!(parse(&blob), Err(HeaderError::BadType { .. })));
        // Region tag whose trailer is outside the store.
        let blob = build(&[(tag::HEADER_IMMUTABLE, 7, 16, vec![0; 8])]);
        assert!(matches!(parse(&blob), Err(HeaderError::BadRegion { .. })));
    }

    #[test]
    fn later_entries_replace_earlier_ones() {
        let blob = build(&[
            (tag::NAME, 6, 1, b"old\0".to_vec()),
            (tag::NAME, 6, 1, b"new\0".to_vec()),
        ]);
        let header = parse(&blob).unwrap();
        assert_eq!(header.string(tag::NAME).unwrap().as_deref(), Some("new"));
    }
}
