//! Tar layers built in memory.

use std::io::Write;

use crate::sha256_digest;

/// How a layer's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// A finished layer: its stored bytes and digests.
#[derive(Clone, Debug)]
pub struct Layer {
    /// The stored (possibly compressed) bytes.
    pub bytes: Vec<u8>,
    /// `sha256:` of `bytes`.
    pub digest: String,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// The OCI media type matching the compression (override it to make it lie).
    pub media_type: String,
}

impl Layer {
    /// Wraps an uncompressed tar stream.
    pub fn from_tar(tar: Vec<u8>, compression: Compression) -> Self {
        let diff_id = sha256_digest(&tar);
        let (bytes, media_type) = match compression {
            Compression::None => (tar, "application/vnd.oci.image.layer.v1.tar"),
            Compression::Gzip => (gzip(&tar), "application/vnd.oci.image.layer.v1.tar+gzip"),
            Compression::Zstd => (
                zstd::encode_all(tar.as_slice(), 3).expect("zstd in memory"),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
        };
        Self {
            digest: sha256_digest(&bytes),
            bytes,
            diff_id,
            media_type: media_type.to_owned(),
        }
    }

    /// The same layer declared with another media type (media types lie).
    pub fn with_media_type(mut self, media_type: &str) -> Self {
        self.media_type = media_type.to_owned();
        self
    }
}

/// gzip-compresses bytes in memory.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// Builds a tar layer entry by entry, in the order given.
pub struct LayerBuilder {
    tar: tar::Builder<Vec<u8>>,
}

impl std::fmt::Debug for LayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerBuilder").finish_non_exhaustive()
    }
}

impl Default for LayerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

const MTIME: u64 = 1_700_000_000;

fn header(entry_type: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(entry_type);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// Paths are written as layer tools write them: relative, no leading `/`.
fn relative(path: &str) -> &str {
    path.trim_start_matches('/')
}

impl LayerBuilder {
    pub fn new() -> Self {
        let mut tar = tar::Builder::new(Vec::new());
        tar.mode(tar::HeaderMode::Deterministic);
        Self { tar }
    }

    pub fn dir(mut self, path: &str) -> Self {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        self.tar
            .append_data(&mut h, format!("{}/", relative(path)), std::io::empty())
            .expect("tar dir");
        self
    }

    pub fn file(self, path: &str, content: impl AsRef<[u8]>) -> Self {
        self.file_with_mode(path, content, 0o644)
    }

    pub fn file_with_mode(mut self, path: &str, content: impl AsRef<[u8]>, mode: u32) -> Self {
        let content = content.as_ref();
        let mut h = header(tar::EntryType::Regular, mode, content.len() as u64);
        self.tar
            .append_data(&mut h, relative(path), content)
            .expect("tar file");
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        self.tar
            .append_link(&mut h, relative(path), target)
            .expect("tar symlink");
        self
    }

    /// A hardlink; `target` is a path in the image, as tar writes it (relative).
    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(tar::EntryType::Link, 0o644, 0);
        self.tar
            .append_link(&mut h, relative(path), relative(target))
            .expect("tar hardlink");
        self
    }

    /// Deletes `path` from lower layers (`dir/.wh.name`).
    pub fn whiteout(self, path: &str) -> Self {
        let path = relative(path);
        let marker = match path.rsplit_once('/') {
            Some((dir, name)) => format!("{dir}/.wh.{name}"),
            None => format!(".wh.{path}"),
        };
        self.file(&marker, "")
    }

    /// Hides everything lower layers have under `dir` (`dir/.wh..wh..opq`).
    pub fn opaque(self, dir: &str) -> Self {
        let dir = relative(dir).trim_end_matches('/');
        self.file(&format!("{dir}/.wh..wh..opq"), "")
    }

    /// An entry with exactly these name and link bytes, unchecked (`../../etc/passwd`,
    /// absolute names, long names): what a hostile tool writes.
    pub fn raw(
        mut self,
        name: &[u8],
        entry_type: tar::EntryType,
        link: &[u8],
        content: &[u8],
    ) -> Self {
        if name.len() > 100 {
            let mut long = header(tar::EntryType::GNULongName, 0o644, name.len() as u64 + 1);
            set_bytes(&mut long.as_old_mut().name, b"././@LongLink");
            long.set_cksum();
            let mut data = name.to_vec();
            data.push(0);
            self.tar
                .append(&long, data.as_slice())
                .expect("tar long name");
        }
        let mut h = header(entry_type, 0o644, content.len() as u64);
        set_bytes(&mut h.as_old_mut().name, name);
        set_bytes(&mut h.as_old_mut().linkname, link);
        h.set_cksum();
        self.tar.append(&h, content).expect("tar raw entry");
        self
    }

    /// The uncompressed tar stream.
    pub fn tar(self) -> Vec<u8> {
        self.tar.into_inner().expect("tar in memory")
    }

    pub fn build(self, compression: Compression) -> Layer {
        Layer::from_tar(self.tar(), compression)
    }
}

fn set_bytes(field: &mut [u8], value: &[u8]) {
    field.fill(0);
    for (dst, src) in field.iter_mut().zip(value) {
        *dst = *src;
    }
}
