//! Go's build information blob, as `debug/buildinfo` reads it.
//!
//! The linker writes a 32-byte header starting with `\xff Go buildinf:` at a 16-byte
//! aligned address near the start of the data (its own `.go.buildinfo` section on ELF,
//! `__go_buildinfo` on Mach-O). Byte 14 is the pointer size, byte 15 the flags: with bit
//! 2 (Go ≥ 1.18) the toolchain version and the module information follow the header as
//! varint-length-prefixed strings; without it (Go 1.13–1.17) two pointers at offsets 16
//! and 16+ptrsize point to Go string headers (data pointer, length) elsewhere in memory,
//! in the byte order flag bit 1 gives.

use object::{Object as _, ObjectSection as _, ObjectSegment as _, SectionFlags, SegmentFlags};

use super::executable::{GoBuild, read_at};

pub(crate) const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
const ALIGN: usize = 16;
/// How far into the data the header is looked for, as Go's own reader does.
const SEARCH_WINDOW: usize = 64 * 1024;
/// The longest string followed through a pointer, as Go's own reader limits it.
const MAX_POINTED_STRING: u64 = 1 << 20;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE: u8 = 0x2;

/// Finds and decodes the build information. `Ok(None)`: not a Go executable;
/// `Err`: the header is there but what it points to cannot be read.
pub(crate) fn read(file: &object::File<'_>) -> Result<Option<GoBuild>, String> {
    let Some(data) = data_start(file) else {
        return Ok(None);
    };
    let Some(header_at) = find_header(data) else {
        return Ok(None);
    };
    let blob = data.get(header_at..).unwrap_or_default();
    let (version, modinfo) = decode(blob, |addr, len| read_at(file, addr, len))?;
    Ok(Some(GoBuild {
        version: String::from_utf8_lossy(version).into_owned(),
        modinfo: String::from_utf8_lossy(strip_framing(modinfo)).into_owned(),
    }))
}

/// Decodes the header at the start of `blob`; `read_mem(addr, len)` resolves pointers.
pub(crate) fn decode<'a>(
    blob: &'a [u8],
    read_mem: impl Fn(u64, u64) -> Option<&'a [u8]>,
) -> Result<(&'a [u8], &'a [u8]), String> {
    if !blob.starts_with(MAGIC) || blob.len() < HEADER_SIZE {
        return Err("the build information header is truncated".to_owned());
    }
    let ptr_size = usize::from(blob[14]);
    let flags = blob[15];
    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        let rest = &blob[HEADER_SIZE..];
        let (version, rest) =
            inline_string(rest).ok_or("the inline Go version string is truncated")?;
        let (modinfo, _) =
            inline_string(rest).ok_or("the inline module information is truncated")?;
        (version, modinfo)
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(format!("the pointer size {ptr_size} is neither 4 nor 8"));
        }
        let big_endian = flags & FLAG_BIG_ENDIAN != 0;
        let read_ptr = |bytes: &[u8]| -> Option<u64> { read_word(bytes, ptr_size, big_endian) };
        let string_at = |addr: u64| -> Option<&'a [u8]> {
            let header = read_mem(addr, 2 * ptr_size as u64)?;
            let data = read_ptr(header)?;
            let len = read_ptr(header.get(ptr_size..)?)?;
            if len > MAX_POINTED_STRING {
                return None;
            }
            read_mem(data, len)
        };
        let version_ptr = read_ptr(&blob[16..]).ok_or("the header is truncated")?;
        let modinfo_ptr = read_ptr(&blob[16 + ptr_size..]).ok_or("the header is truncated")?;
        let version =
            string_at(version_ptr).ok_or("the Go version string points outside the file")?;
        // A binary built outside module mode has an empty module string, a valid case.
        let modinfo = string_at(modinfo_ptr).unwrap_or_default();
        (version, modinfo)
    };
    if version.is_empty() {
        return Err("the Go version string is empty".to_owned());
    }
    Ok((version, modinfo))
}

/// Where the header is looked for: the dedicated section, else the first writable data.
fn data_start<'data>(file: &object::File<'data>) -> Option<&'data [u8]> {
    for name in [".go.buildinfo", "__go_buildinfo"] {
        if let Some(section) = file.section_by_name(name)
            && let Ok(data) = section.data()
        {
            return Some(data);
        }
    }
    match file.format() {
        object::BinaryFormat::Elf => file.segments().find_map(|s| {
            const PF_X: u32 = 1;
            const PF_W: u32 = 2;
            let SegmentFlags::Elf { p_flags } = s.flags() else {
                return None;
            };
            (p_flags & (PF_X | PF_W) == PF_W).then(|| s.data().ok())?
        }),
        object::BinaryFormat::Pe => file.sections().find_map(|s| {
            const INITIALIZED_DATA: u32 = 0x40;
            const MEM_READ: u32 = 0x4000_0000;
            const MEM_WRITE: u32 = 0x8000_0000;
            const ALIGN_MASK: u32 = 0x00f0_0000;
            let SectionFlags::Coff { characteristics } = s.flags() else {
                return None;
            };
            (characteristics & !ALIGN_MASK == INITIALIZED_DATA | MEM_READ | MEM_WRITE)
                .then(|| s.data().ok())?
        }),
        object::BinaryFormat::MachO => file.segments().find_map(|s| {
            const RW: u32 = 3;
            let SegmentFlags::MachO {
                maxprot, initprot, ..
            } = s.flags()
            else {
                return None;
            };
            (s.address() != 0 && initprot == RW && maxprot == RW).then(|| s.data().ok())?
        }),
        _ => None,
    }
}

/// The offset of the first 16-byte aligned header within the search window.
pub(crate) fn find_header(data: &[u8]) -> Option<usize> {
    let window = &data[..data.len().min(SEARCH_WINDOW)];
    (0..window.len())
        .step_by(ALIGN)
        .find(|&at| window[at..].starts_with(MAGIC) && data.len().saturating_sub(at) >= HEADER_SIZE)
}

/// A uvarint length followed by that many bytes; the rest after it.
fn inline_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, used) = uvarint(bytes)?;
    let rest = bytes.get(used..)?;
    let len = usize::try_from(len).ok()?;
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// Go's `encoding/binary.Uvarint`: 7 bits per byte, low groups first.
fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f).checked_shl(7 * i as u32)?;
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn read_word(bytes: &[u8], size: usize, big_endian: bool) -> Option<u64> {
    let word = bytes.get(..size)?;
    let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
    Some(if big_endian {
        word.iter().fold(0, fold)
    } else {
        word.iter().rev().fold(0, fold)
    })
}

/// `cmd/go` wraps the module information in two 16-byte sentinels; a string without
/// them (GOPATH builds) carries no modules.
fn strip_framing(modinfo: &[u8]) -> &[u8] {
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        b""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header in the inline format, as Go ≥ 1.18 writes it.
    fn inline_blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut blob = MAGIC.to_vec();
        blob.extend([8, FLAG_INLINE]);
        blob.resize(HEADER_SIZE, 0);
        for s in [version, modinfo] {
            let mut len = s.len();
            while len >= 0x80 {
                blob.push((len as u8) | 0x80);
                len >>= 7;
            }
            blob.push(len as u8);
            blob.extend(s.as_bytes());
        }
        blob
    }

    #[test]
    fn decodes_the_inline_format_with_long_strings() {
        let modinfo = "path\texample.com/app\n".repeat(20);
        let blob = inline_blob("go1.21.3", &modinfo);
        let (version, got) = decode(&blob, |_, _| None).unwrap();
        assert_eq!(version, b"go1.21.3");
        assert_eq!(got, modinfo.as_bytes());
        assert!(decode(&blob[..blob.len() - 1], |_, _| None).is_err());
    }

    #[test]
    fn decodes_the_pointer_format_in_both_byte_orders() {
        for (big_endian, ptr_size) in [(false, 8usize), (true, 4), (false, 4), (true, 8)] {
            let word = |v: u64| -> Vec<u8> {
                let bytes = v.to_be_bytes()[8 - ptr_size..].to_vec();
                if big_endian {
                    bytes
                } else {
                    bytes.into_iter().rev().collect()
                }
            };
            // Memory at 0x1000: two string headers, then the string bytes.
            let base = 0x1000u64;
            let version = b"go1.16.15";
            let modinfo = b"path\tx\n";
            let ps = ptr_size as u64;
            let mut memory = Vec::new();
            memory.extend(word(base + 4 * ps));
            memory.extend(word(version.len() as u64));
            memory.extend(word(base + 4 * ps + version.len() as u64));
            memory.extend(word(modinfo.len() as u64));
            memory.extend(version);
            memory.extend(modinfo);
            let mut blob = MAGIC.to_vec();
            blob.extend([ptr_size as u8, u8::from(big_endian)]);
            blob.extend(word(base));
            blob.extend(word(base + 2 * ps));
            blob.resize(HEADER_SIZE, 0);
            let read_mem = |addr: u64, len: u64| {
                let start = usize::try_from(addr.checked_sub(base)?).ok()?;
                memory.get(start..start + usize::try_from(len).ok()?)
            };
            let (v, m) = decode(&blob, read_mem).unwrap();
            assert_eq!((v, m), (&b"go1.16.15"[..], &b"path\tx\n"[..]));
        }
    }

    #[test]
    fn pointers_outside_the_file_and_bad_sizes_are_errors() {
        let mut blob = MAGIC.to_vec();
        blob.extend([8, 0]);
        blob.resize(HEADER_SIZE, 0xff);
        assert!(decode(&blob, |_, _| None).is_err());
        blob[14] = 3;
        assert!(decode(&blob, |_, _| None).is_err());
    }

    #[test]
    fn the_header_must_be_aligned() {
        let mut data = vec![0u8; 8];
        data.extend(inline_blob("go1.22.0", ""));
        assert_eq!(find_header(&data), None);
        let mut data = vec![0u8; 16];
        data.extend(inline_blob("go1.22.0", ""));
        assert_eq!(find_header(&data), Some(16));
    }

    #[test]
    fn framing_is_stripped_only_when_present() {
        let mut raw = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
        raw.extend(b"path\tx\nmod\tx\t(devel)\t\n");
        raw.extend(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
        assert_eq!(strip_framing(&raw), b"path\tx\nmod\tx\t(devel)\t\n");
        assert_eq!(strip_framing(b"path\tx\n"), b"");
    }

    #[test]
    fn uvarint_rejects_overlong_input() {
        assert_eq!(uvarint(&[0x80; 11]), None);
        assert_eq!(uvarint(&[0xac, 0x02]), Some((300, 2)));
        assert_eq!(uvarint(&[]), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_blobs_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200), flags in 0u8..4, ptr in 0u8..10) {
            let mut blob = MAGIC.to_vec();
            blob.extend([ptr, flags]);
            blob.extend(tail);
            let memory = blob.clone();
            let _ = decode(&blob, |addr, len| {
                let start = usize::try_from(addr).ok()?;
                memory.get(start..start.checked_add(usize::try_from(len).ok()?)?)
            });
            let _ = find_header(&blob);
        }
    }
}
