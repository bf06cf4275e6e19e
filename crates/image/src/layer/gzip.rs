//! gzip members inflated without their CRC-32.
//!
//! Every layer's stored bytes are checked against their sha256 digest and its plain bytes
//! against the diff_id, so gzip's own CRC-32 adds nothing but time (about a tenth of the
//! inflate cost, measured). This reader parses each member's header (RFC 1952), inflates
//! its deflate stream with the same inflater as everywhere else (flate2 on zlib-rs),
//! skips the 8-byte trailer, and goes on to the next member, as `MultiGzDecoder` does.

use std::io::{self, BufRead, Read};

use flate2::bufread::DeflateDecoder;

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// Inflates every gzip member of `R`, one after another.
pub(crate) struct GzipMembers<R: BufRead> {
    decoder: DeflateDecoder<R>,
    done: bool,
}

impl<R: BufRead> GzipMembers<R> {
    /// Parses the first member's header; fails if `inner` does not start with one.
    pub(crate) fn new(mut inner: R) -> io::Result<Self> {
        skip_header(&mut inner)?;
        Ok(Self {
            decoder: DeflateDecoder::new(inner),
            done: false,
        })
    }

    /// After a member's deflate stream: skips the trailer, then starts the next member if
    /// there is one. Returns false at the end of the input.
    fn next_member(&mut self) -> io::Result<bool> {
        let inner = self.decoder.get_mut();
        skip_exact(inner, 8, "gzip trailer")?;
        if inner.fill_buf()?.is_empty() {
            return Ok(false);
        }
        skip_header(inner)?;
        self.decoder.reset_data();
        Ok(true)
    }
}

impl<R: BufRead> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.done {
            let n = self.decoder.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            if !self.next_member()? {
                self.done = true;
            }
        }
        Ok(0)
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("invalid gzip {what}"))
}

fn read_byte(r: &mut impl BufRead, what: &str) -> io::Result<u8> {
    let byte = *r
        .fill_buf()?
        .first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, format!("truncated {what}")))?;
    r.consume(1);
    Ok(byte)
}

fn skip_exact(r: &mut impl BufRead, mut n: usize, what: &str) -> io::Result<()> {
    while n > 0 {
        let available = r.fill_buf()?.len();
        if available == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated {what}"),
            ));
        }
        let step = available.min(n);
        r.consume(step);
        n -= step;
    }
    Ok(())
}

fn skip_zero_terminated(r: &mut impl BufRead, what: &str) -> io::Result<()> {
    while read_byte(r, what)? != 0 {}
    Ok(())
}

/// RFC 1952 member header: magic, CM=8 (deflate), FLG, MTIME, XFL, OS, then the optional
/// fields the flags announce.
fn skip_header(r: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0u8; 10];
    for byte in &mut fixed {
        *byte = read_byte(r, "gzip header")?;
    }
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(invalid(
            "member header (bad magic; trailing data after the last member?)",
        ));
    }
    if fixed[2] != 8 {
        return Err(invalid("compression method (only deflate exists)"));
    }
    let flags = fixed[3];
    if flags & 0xe0 != 0 {
        return Err(invalid("header flags (reserved bits set)"));
    }
    if flags & FEXTRA != 0 {
        let len = u16::from(read_byte(r, "gzip extra field")?)
            | (u16::from(read_byte(r, "gzip extra field")?) << 8);
        skip_exact(r, usize::from(len), "gzip extra field")?;
    }
    if flags & FNAME != 0 {
        skip_zero_terminated(r, "gzip file name")?;
    }
    if flags & FCOMMENT != 0 {
        skip_zero_terminated(r, "gzip comment")?;
    }
    if flags & FHCRC != 0 {
        skip_exact(r, 2, "gzip header crc")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Write};

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(data: &[u8], builder: flate2::GzBuilder) -> Vec<u8> {
        let mut e = builder.write(Vec::new(), Compression::fast());
        e.write_all(data).unwrap_or_default();
        e.finish().unwrap_or_default()
    }

    fn inflate(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        GzipMembers::new(BufReader::with_capacity(7, bytes))?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn single_and_multiple_members_with_every_header_field() {
        let a = gzip(b"hello ", flate2::GzBuilder::new());
        let b = gzip(
            b"world",
            flate2::GzBuilder::new()
                .filename("f.tar")
                .comment("c")
                .extra(vec![1, 2, 3])
                .mtime(7),
        );
        assert_eq!(inflate(&a).ok().as_deref(), Some(b"hello ".as_slice()));
        let both = [a.clone(), b].concat();
        assert_eq!(
            inflate(&both).ok().as_deref(),
            Some(b"hello world".as_slice())
        );
        let empty = gzip(b"", flate2::GzBuilder::new());
        assert_eq!(inflate(&empty).ok().as_deref(), Some(b"".as_slice()));
    }

    #[test]
    fn agrees_with_multi_gz_decoder_on_a_large_stream() {
        let data: Vec<u8> = (0..3_000_000u32)
            .map(|i| (i % 251) as u8 ^ (i >> 13) as u8)
            .collect();
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(&data).unwrap_or_default();
        let gz = e.finish().unwrap_or_default();
        let mut reference = Vec::new();
        flate2::read::MultiGzDecoder::new(gz.as_slice())
            .read_to_end(&mut reference)
            .unwrap_or_default();
        assert_eq!(inflate(&gz).ok(), Some(reference));
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let good = gzip(b"some data here", flate2::GzBuilder::new());
        assert!(inflate(b"").is_err());
        assert!(inflate(b"\x1f\x8b\x09\0\0\0\0\0\0\0").is_err());
        assert!(inflate(&[good.clone(), b"garbage!!!!!".to_vec()].concat()).is_err());
        for cut in 1..good.len() {
            assert!(
                inflate(&good[..cut]).is_err(),
                "truncated at {cut} accepted"
            );
        }
        let mut flipped = good.clone();
        flipped[12] ^= 0xff;
        let _ = inflate(&flipped); // may or may not be detected without CRC: never a panic
    }
}
