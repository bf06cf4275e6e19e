//! The distribution API's push side: `HEAD` a blob, start an upload, `PUT` the blob in
//! one streamed request, `PUT` a manifest.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};

use portcullis_types::Digest;
use sha2::{Digest as _, Sha256};
use ureq::SendBody;
use ureq::http::Response;

use super::{Blob, BlobData, Document, PushError, PushProgress};
use crate::client::Client;
use crate::error::ErrorBody;
use crate::reference::Reference;

/// Largest error body read to explain a refusal.
const MAX_ERROR_BODY: u64 = 64 * 1024;
const BUFFER: usize = 1024 * 1024;

pub(super) struct Uploader<'a> {
    client: &'a Client,
    target: &'a Reference,
    name: String,
}

/// What was read of a blob while it was sent.
#[derive(Default)]
struct Sent {
    bytes: u64,
    /// Set once all bytes were read.
    digest: Option<Digest>,
    read_error: Option<io::Error>,
}

/// Hashes and counts what is read; refuses to hand over the last bytes of a blob whose
/// digest is wrong, so that the registry never receives it whole.
struct Verifying<'a, R> {
    inner: R,
    hasher: Sha256,
    expected: &'a Digest,
    size: u64,
    sent: &'a mut Sent,
}

impl<R: Read> Read for Verifying<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let kind = e.kind();
                self.sent.read_error = Some(io::Error::new(kind, e.to_string()));
                return Err(e);
            }
        };
        self.hasher.update(buf.get(..n).unwrap_or_default());
        self.sent.bytes += n as u64;
        if n > 0 && self.sent.bytes == self.size {
            let digest = Digest::sha256_from_bytes(self.hasher.clone().finalize().into());
            let wrong = &digest != self.expected;
            self.sent.digest = Some(digest);
            if wrong {
                return Err(io::Error::other("blob content does not match its digest"));
            }
        }
        Ok(n)
    }
}

impl<'a> Uploader<'a> {
    pub(super) fn new(client: &'a Client, target: &'a Reference) -> Self {
        Self {
            client,
            target,
            name: target.name(),
        }
    }

    pub(super) fn blob(
        &self,
        blob: &Blob,
        progress: &mut dyn FnMut(PushProgress),
    ) -> Result<(), PushError> {
        let (digest, size) = (blob.digest.clone(), blob.size);
        if self.exists(&blob.digest)? {
            progress(PushProgress::BlobExists { digest, size });
            return Ok(());
        }
        progress(PushProgress::BlobUploading {
            digest: digest.clone(),
            size,
        });
        let location = self.start_upload(&blob.digest)?;
        self.put_blob(blob, &location)?;
        progress(PushProgress::BlobUploaded { digest, size });
        Ok(())
    }

    fn exists(&self, digest: &Digest) -> Result<bool, PushError> {
        let what = format!("blob `{digest}`");
        let repository = &self.target.repository;
        let response = self.client.send_for_push(self.target, &mut |base, auth| {
            let mut request = self
                .client
                .agent()
                .head(format!("{base}/v2/{repository}/blobs/{digest}"));
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            request.call().map_err(|e| self.transport(&what, e))
        })?;
        match response.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.refused(&what, response)),
        }
    }

    /// `POST /blobs/uploads/`; the upload's absolute URL.
    fn start_upload(&self, digest: &Digest) -> Result<String, PushError> {
        let what = format!("an upload of blob `{digest}`");
        let repository = &self.target.repository;
        let mut base_used = String::new();
        let response = self.client.send_for_push(self.target, &mut |base, auth| {
            base_used = base.to_owned();
            let mut request = self
                .client
                .agent()
                .post(format!("{base}/v2/{repository}/blobs/uploads/"))
                .header("Content-Length", "0");
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            request.send_empty().map_err(|e| self.transport(&what, e))
        })?;
        if response.status().as_u16() != 202 {
            return Err(self.refused(&what, response));
        }
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| PushError::NoUploadLocation {
                name: self.name.clone(),
                digest: digest.clone(),
            })?;
        Ok(absolute(&base_used, location))
    }

    fn put_blob(&self, blob: &Blob, location: &str) -> Result<(), PushError> {
        let what = format!("blob `{}`", blob.digest);
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!(
            "{location}{separator}digest={}%3A{}",
            blob.digest.algorithm(),
            blob.digest.hex()
        );
        let mut sent = Sent::default();
        let result = self.client.send_for_push(self.target, &mut |base, auth| {
            sent = Sent::default();
            let mut request = self
                .client
                .agent()
                .put(&url)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Length", blob.size.to_string());
            if let Some(auth) = auth
                && same_origin(&url, base)
            {
                request = request.header("Authorization", auth);
            }
            let mut reader = Verifying {
                inner: open(blob)?,
                hasher: Sha256::new(),
                expected: &blob.digest,
                size: blob.size,
                sent: &mut sent,
            };
            request
                .send(SendBody::from_reader(&mut reader))
                .map_err(|e| self.transport(&what, e))
        });
        let path = match &blob.data {
            BlobData::File { path, .. } => path.clone(),
            BlobData::Memory(_) => "(image config)".into(),
        };
        if let Some(actual) = &sent.digest
            && actual != &blob.digest
        {
            return Err(PushError::BlobDigestMismatch {
                digest: blob.digest.clone(),
                path,
                actual: actual.clone(),
            });
        }
        if let Some(source) = sent.read_error.take() {
            return Err(PushError::Read { path, source });
        }
        let response = result?;
        if sent.bytes != blob.size {
            return Err(PushError::BlobSizeMismatch {
                digest: blob.digest.clone(),
                path,
                expected: blob.size,
                actual: sent.bytes,
            });
        }
        if !response.status().is_success() {
            return Err(self.refused(&what, response));
        }
        Ok(())
    }

    /// `PUT /manifests/<reference>` with the document's exact bytes.
    pub(super) fn manifest(
        &self,
        document: &Document,
        reference: &str,
        progress: &mut dyn FnMut(PushProgress),
    ) -> Result<(), PushError> {
        let what = format!("manifest `{reference}`");
        let repository = &self.target.repository;
        let response = self.client.send_for_push(self.target, &mut |base, auth| {
            let mut request = self
                .client
                .agent()
                .put(format!("{base}/v2/{repository}/manifests/{reference}"))
                .header("Content-Type", &document.media_type);
            if let Some(auth) = auth {
                request = request.header("Authorization", auth);
            }
            request
                .send(&document.bytes[..])
                .map_err(|e| self.transport(&what, e))
        })?;
        if !response.status().is_success() {
            return Err(self.refused(&what, response));
        }
        if let Some(header) = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<Digest>().ok())
            && header.is_sha256()
            && header != document.digest
        {
            return Err(PushError::ManifestDigestMismatch {
                name: self.name.clone(),
                reference: reference.to_owned(),
                expected: document.digest.clone(),
                header,
            });
        }
        progress(PushProgress::ManifestPushed {
            digest: document.digest.clone(),
            media_type: document.media_type.clone(),
            reference: reference.to_owned(),
        });
        Ok(())
    }

    fn transport(&self, what: &str, source: ureq::Error) -> PushError {
        PushError::Transport {
            name: self.name.clone(),
            what: what.to_owned(),
            source: Box::new(source),
        }
    }

    fn refused(&self, what: &str, response: Response<ureq::Body>) -> PushError {
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .with_config()
            .limit(MAX_ERROR_BODY)
            .read_to_vec()
            .unwrap_or_default();
        let detail = ErrorBody::parse(&body).describe(status);
        match status {
            401 => PushError::Unauthorized {
                name: self.name.clone(),
                registry: self.target.registry.clone(),
                detail,
            },
            403 => PushError::Denied {
                name: self.name.clone(),
                detail,
            },
            _ => PushError::Rejected {
                name: self.name.clone(),
                what: what.to_owned(),
                status,
                detail,
            },
        }
    }
}

fn open(blob: &Blob) -> Result<Box<dyn Read>, PushError> {
    match &blob.data {
        BlobData::Memory(bytes) => Ok(Box::new(Cursor::new(bytes.clone()))),
        BlobData::File { path, offset } => {
            let read_error = |source| PushError::Read {
                path: path.clone(),
                source,
            };
            let mut file = File::open(path).map_err(read_error)?;
            file.seek(SeekFrom::Start(*offset)).map_err(read_error)?;
            Ok(Box::new(
                BufReader::with_capacity(BUFFER, file).take(blob.size),
            ))
        }
    }
}

/// A `Location` header made absolute against the registry's base URL.
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else if location.starts_with('/') {
        format!("{base}{location}")
    } else {
        format!("{base}/{location}")
    }
}

/// Credentials go only to the registry itself, not to storage an upload may point to.
fn same_origin(url: &str, base: &str) -> bool {
    url.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_resolved_against_the_registry() {
        let base = "http://127.0.0.1:5000";
        assert_eq!(
            absolute(base, "/v2/a/blobs/uploads/x?_state=1"),
            "http://127.0.0.1:5000/v2/a/blobs/uploads/x?_state=1"
        );
        assert_eq!(
            absolute(base, "https://s3.example/up?sig=1"),
            "https://s3.example/up?sig=1"
        );
        assert!(same_origin("http://127.0.0.1:5000/v2/x", base));
        assert!(!same_origin("http://127.0.0.1:50000/v2/x", base));
        assert!(!same_origin("https://s3.example/up", base));
    }

    #[test]
    fn verifying_reader_withholds_the_end_of_a_wrong_blob() {
        let expected = Digest::sha256_from_bytes(Sha256::digest(b"right").into());
        let mut sent = Sent::default();
        let mut reader = Verifying {
            inner: Cursor::new(b"wrong".to_vec()),
            hasher: Sha256::new(),
            expected: &expected,
            size: 5,
            sent: &mut sent,
        };
        let mut out = Vec::new();
        assert!(reader.read_to_end(&mut out).is_err());
        assert!(sent.digest.is_some_and(|d| d != expected));
    }
}
