//! The pointer format of Go 1.13–1.17 build information. Debian ships only a current Go,
//! so these executables are made by hand, following Go's `debug/buildinfo`: an ELF with
//! no section headers and one writable `PT_LOAD` segment whose data starts with the
//! 32-byte header (`\xff Go buildinf:`, pointer size, byte order), then the two Go string
//! headers it points to, then the strings. `go version -m` reads them back identically.

/// Module information as Go 1.16 framed it (16-byte sentinels around the text).
pub fn framed_modinfo(text: &str) -> Vec<u8> {
    let mut out = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6".to_vec();
    out.extend(text.as_bytes());
    out.extend(b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2");
    out
}

/// A minimal executable: 64-bit little-endian x86-64, or 32-bit big-endian MIPS.
pub fn pointer_format_elf(wide: bool, version: &str, modinfo: &[u8]) -> Vec<u8> {
    let big_endian = !wide;
    let ptr: usize = if wide { 8 } else { 4 };
    let word = |v: u64, size: usize| -> Vec<u8> {
        let be = v.to_be_bytes()[8 - size..].to_vec();
        if big_endian {
            be
        } else {
            be.into_iter().rev().collect()
        }
    };
    const DATA_OFFSET: u64 = 0x1000;
    const VADDR: u64 = 0x0050_1000;
    // Segment data: header, two string headers, the strings.
    let headers_at = VADDR + 32;
    let version_at = headers_at + 4 * ptr as u64;
    let modinfo_at = version_at + version.len() as u64;
    let mut data = b"\xff Go buildinf:".to_vec();
    data.push(ptr as u8);
    data.push(u8::from(big_endian));
    data.extend(word(headers_at, ptr));
    data.extend(word(headers_at + 2 * ptr as u64, ptr));
    data.resize(32, 0);
    data.extend(word(version_at, ptr));
    data.extend(word(version.len() as u64, ptr));
    data.extend(word(modinfo_at, ptr));
    data.extend(word(modinfo.len() as u64, ptr));
    data.extend(version.as_bytes());
    data.extend(modinfo);

    let mut elf = vec![0x7f, b'E', b'L', b'F'];
    elf.push(if wide { 2 } else { 1 });
    elf.push(if big_endian { 2 } else { 1 });
    elf.push(1);
    elf.resize(16, 0);
    let (machine, ehsize, phentsize, shentsize) = if wide {
        (62u64, 64u64, 56u64, 64u64)
    } else {
        (8, 52, 32, 40)
    };
    elf.extend(word(2, 2)); // ET_EXEC
    elf.extend(word(machine, 2));
    elf.extend(word(1, 4)); // EV_CURRENT
    elf.extend(word(VADDR, ptr)); // entry
    elf.extend(word(ehsize, ptr)); // program headers right after this header
    elf.extend(word(0, ptr)); // no section headers
    elf.extend(word(0, 4)); // flags
    elf.extend(word(ehsize, 2));
    elf.extend(word(phentsize, 2));
    elf.extend(word(1, 2)); // one program header
    elf.extend(word(shentsize, 2));
    elf.extend(word(0, 2));
    elf.extend(word(0, 2));
    const PT_LOAD: u64 = 1;
    const PF_RW: u64 = 6;
    let size = data.len() as u64;
    if wide {
        elf.extend(word(PT_LOAD, 4));
        elf.extend(word(PF_RW, 4));
        for v in [DATA_OFFSET, VADDR, VADDR, size, size, 0x1000] {
            elf.extend(word(v, 8));
        }
    } else {
        for v in [
            PT_LOAD,
            DATA_OFFSET,
            VADDR,
            VADDR,
            size,
            size,
            PF_RW,
            0x1000,
        ] {
            elf.extend(word(v, 4));
        }
    }
    elf.resize(DATA_OFFSET as usize, 0);
    elf.extend(data);
    elf
}
