//! The download layer of `db update`: a [`Fetcher`] GETs a feed URL into the
//! feed cache.
//!
//! Beside each cached file `F` live `F.meta.json` (URL, validators, SHA-256,
//! size, time of the fetch) and, while a download is under way or after it was
//! interrupted, `F.partial` with `F.partial.meta.json`. A fetch sends the
//! cached validators (`If-None-Match`, `If-Modified-Since`) and stops at a
//! `304`; otherwise it streams the body into `F.partial`, hashing as it
//! writes, then renames it over `F` and writes the meta last. An interrupted
//! body is resumed with `Range` + `If-Range` when the server allows it, in this
//! process or in a later one. URLs are redacted (`https://***@host/…`) in
//! errors, progress reports and metadata, and their credentials are sent as
//! HTTP Basic authentication.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use ureq::http::{Response, StatusCode};

/// The longest wait before a retry, whatever `Retry-After` or the backoff say.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Read buffer and write buffer size.
const CHUNK: usize = 256 * 1024;

/// How a [`Fetcher`] downloads.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Connect timeout, and the longest wait for a response or for any read of
    /// its body (not the whole transfer, which may take long).
    pub timeout: Duration,
    /// Retries after the first attempt for interruptions, `408`, `429` and `5xx`.
    pub retries: u32,
    /// Wait before the first retry, doubled for each further one (at most 60 s).
    pub retry_backoff: Duration,
    /// A body larger than this is an error.
    pub max_bytes: u64,
    pub user_agent: String,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(30),
            retries: 3,
            retry_backoff: Duration::from_secs(1),
            max_bytes: 4 << 30,
            user_agent: format!("portcullis/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The server said the cached copy is current; nothing was transferred.
    NotModified { bytes: u64, sha256: String },
    /// A new copy is in place; `resumed` when it was completed with a range request.
    Downloaded {
        bytes: u64,
        sha256: String,
        resumed: bool,
    },
}

/// Reports a fetch as it goes. URLs given to it are redacted.
pub trait FetchProgress: Sync {
    /// A body starts: `total` is the full size when known (also for a resumed body).
    fn started(&self, url: &str, total: Option<u64>);
    /// `bytes` more of the body are on disk (a resumed body first reports what was there).
    fn advanced(&self, bytes: u64);
    /// Attempt number `attempt` (2 for the first retry) is about to start after `reason`.
    fn retrying(&self, url: &str, attempt: u32, reason: &str);
}

/// A [`FetchProgress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl FetchProgress for NoProgress {
    fn started(&self, _url: &str, _total: Option<u64>) {}
    fn advanced(&self, _bytes: u64) {}
    fn retrying(&self, _url: &str, _attempt: u32, _reason: &str) {}
}

/// Errors of fetching a feed. URLs in them are redacted.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("invalid download option: {0}")]
    InvalidOption(String),
    #[error("`{url}` is not an http:// or https:// URL; give local feeds as paths")]
    UnsupportedUrl { url: String },
    #[error("`{url}` answered HTTP {status}{}: {}", reason_phrase(*status), status_advice(*status))]
    Status { url: String, status: u16 },
    #[error(
        "failed to download `{url}` after {attempts} attempt(s): {reason}; check the network connection and the mirror, or try again later"
    )]
    GaveUp {
        url: String,
        attempts: u32,
        reason: String,
    },
    #[error("cannot download `{url}`: {reason}; check the URL and the server's TLS certificate")]
    Request { url: String, reason: String },
    #[error(
        "`{url}` is larger than the download limit of {limit} bytes; raise the limit if this feed really is that large"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("failed to {action} `{path}` in the feed cache; check free space and permissions")]
    Cache {
        action: &'static str,
        path: String,
        #[source]
        source: io::Error,
    },
}

fn reason_phrase(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map(|r| format!(" {r}"))
        .unwrap_or_default()
}

fn status_advice(status: u16) -> &'static str {
    match status {
        401 | 403 => "check the credentials for this server or mirror",
        404 | 410 => "check the URL (or the mirror's layout)",
        408 | 429 | 500..=599 => "the server is overloaded or failing; try again later",
        _ => "the server refused the download; check the URL",
    }
}

/// Downloads feeds into the feed cache. Cheap to share between threads.
pub struct Fetcher {
    agent: ureq::Agent,
    options: FetchOptions,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        if options.timeout.is_zero() {
            return Err(FetchError::InvalidOption(
                "the timeout must be above zero".into(),
            ));
        }
        if options.max_bytes == 0 {
            return Err(FetchError::InvalidOption(
                "the download size limit must be above zero".into(),
            ));
        }
        if options.user_agent.is_empty()
            || !options
                .user_agent
                .bytes()
                .all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(FetchError::InvalidOption(
                "the user agent must be non-empty printable ASCII".into(),
            ));
        }
        let agent =
            portcullis_registry_client::http_agent(&options.user_agent, options.timeout, false);
        Ok(Fetcher { agent, options })
    }

    /// Downloads `url` into `dest` (a file path inside the cache) unless the
    /// server says it has not changed since the copy already there.
    pub fn fetch(
        &self,
        url: &str,
        dest: &Path,
        progress: &dyn FetchProgress,
    ) -> Result<FetchOutcome, FetchError> {
        let target = Target::parse(url)?;
        let paths = CachePaths::new(dest);
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(cache_err("create", dir))?;
        }
        let cache = valid_cache(&paths, &target.shown);
        let mut resume = load_partial(&paths, &target.shown)?;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let failure = match self.attempt(&target, &paths, cache.as_ref(), &mut resume, progress)
            {
                Ok(outcome) => return Ok(outcome),
                Err(failure) => failure,
            };
            let (reason, wait) = match failure {
                Failure::Fatal(error) => return Err(error),
                // A stale partial was dropped: ask again for the whole file, at once.
                Failure::Again => {
                    attempts -= 1;
                    continue;
                }
                Failure::Retry { reason, wait } => (reason, wait),
            };
            if attempts > self.options.retries {
                return Err(FetchError::GaveUp {
                    url: target.shown.clone(),
                    attempts,
                    reason,
                });
            }
            progress.retrying(&target.shown, attempts + 1, &reason);
            std::thread::sleep(
                wait.unwrap_or_else(|| backoff(self.options.retry_backoff, attempts)),
            );
        }
    }

    /// One request, and its body when there is one.
    fn attempt(
        &self,
        target: &Target,
        paths: &CachePaths,
        cache: Option<&CacheMeta>,
        resume: &mut Option<Resume>,
        progress: &dyn FetchProgress,
    ) -> Result<FetchOutcome, Failure> {
        let mut request = self.agent.get(&target.url);
        if let Some(authorization) = &target.authorization {
            request = request.header("Authorization", authorization);
        }
        // The partial is a newer version than the cache, so a resume asks for the rest of it
        // rather than whether the cached version changed.
        if let Some(resume) = resume.as_ref() {
            request = request
                .header("Range", &format!("bytes={}-", resume.len))
                .header("If-Range", &resume.if_range);
        } else if let Some(cache) = cache {
            if let Some(etag) = &cache.etag {
                request = request.header("If-None-Match", etag);
            }
            if let Some(last_modified) = &cache.last_modified {
                request = request.header("If-Modified-Since", last_modified);
            }
        }
        let response = request
            .call()
            .map_err(|error| transport_failure(error, &target.shown))?;
        let status = response.status().as_u16();
        if let (304, None, Some(cache)) = (status, resume.as_ref(), cache) {
            return Ok(FetchOutcome::NotModified {
                bytes: cache.bytes,
                sha256: cache.sha256.clone(),
            });
        }
        match status {
            200 => {
                *resume = None;
                self.receive(target, paths, response, resume, progress)
            }
            206 if resume.is_some() => self.receive(target, paths, response, resume, progress),
            416 if resume.is_some() => {
                *resume = None;
                remove_partial(paths)?;
                Err(Failure::Again)
            }
            status @ (408 | 429 | 500..=599) => Err(Failure::Retry {
                reason: format!("HTTP {status}{}", reason_phrase(status)),
                wait: retry_after(&response),
            }),
            status => Err(Failure::Fatal(FetchError::Status {
                url: target.shown.clone(),
                status,
            })),
        }
    }

    /// Streams a `200` (from zero) or a `206` (appended to `resume`) into the partial file,
    /// then moves it into place.
    fn receive(
        &self,
        target: &Target,
        paths: &CachePaths,
        response: Response<ureq::Body>,
        resume: &mut Option<Resume>,
        progress: &dyn FetchProgress,
    ) -> Result<FetchOutcome, Failure> {
        let limit = self.options.max_bytes;
        let too_large = || {
            Failure::Fatal(FetchError::TooLarge {
                url: target.shown.clone(),
                limit,
            })
        };
        let content_length =
            header(&response, "content-length").and_then(|v| v.parse::<u64>().ok());
        let etag = header(&response, "etag").map(str::to_owned);
        let last_modified = header(&response, "last-modified").map(str::to_owned);
        let (mut state, file, total) = match resume.take() {
            Some(previous) => {
                let range = header(&response, "content-range").and_then(ContentRange::parse);
                // A server that ignores `If-Range` may still name the version it sent.
                let other_version =
                    etag.is_some() && previous.etag.is_some() && etag != previous.etag;
                let Some(range) = range.filter(|r| r.start == previous.len && !other_version)
                else {
                    // Not the rest of our partial: start again from zero.
                    remove_partial(paths)?;
                    return Err(Failure::Again);
                };
                let total = range.total.or(content_length.map(|n| previous.len + n));
                if total.is_some_and(|t| t > limit) {
                    remove_partial(paths)?;
                    return Err(too_large());
                }
                let file = OpenOptions::new()
                    .append(true)
                    .open(&paths.partial)
                    .map_err(cache_err("open", &paths.partial))?;
                let on_disk = file
                    .metadata()
                    .map_err(cache_err("read", &paths.partial))?
                    .len();
                if on_disk != previous.len {
                    remove_partial(paths)?;
                    return Err(Failure::Again);
                }
                let state = Resume {
                    etag: etag.or(previous.etag.clone()),
                    last_modified: last_modified.or(previous.last_modified.clone()),
                    resumed: true,
                    ..previous
                };
                (state, file, total)
            }
            None => {
                if content_length.is_some_and(|n| n > limit) {
                    remove_partial(paths)?;
                    return Err(too_large());
                }
                // Emptied before its meta names the new version, so that a crash in between
                // never pairs old bytes with new validators.
                let file =
                    File::create(&paths.partial).map_err(cache_err("create", &paths.partial))?;
                let ranges = header(&response, "accept-ranges")
                    .is_some_and(|v| v.split(',').any(|u| u.trim().eq_ignore_ascii_case("bytes")));
                let meta = PartialMeta {
                    url: target.shown.clone(),
                    etag: etag.clone(),
                    last_modified: last_modified.clone(),
                    accept_ranges: ranges,
                };
                write_json_atomically(&paths.partial_meta, &meta)?;
                let state = Resume {
                    len: 0,
                    hasher: Sha256::new(),
                    if_range: if ranges { meta.if_range() } else { None }.unwrap_or_default(),
                    etag,
                    last_modified,
                    resumed: false,
                };
                (state, file, content_length)
            }
        };
        progress.started(&target.shown, total);
        if state.len > 0 {
            progress.advanced(state.len);
        }
        let mut writer = BufWriter::with_capacity(CHUNK, file);
        let mut reader = response.into_body().into_reader();
        let mut buffer = vec![0u8; CHUNK];
        let interrupted = loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break None,
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => break Some(error.to_string()),
            };
            let chunk = buffer.get(..n).unwrap_or_default();
            if state.len.saturating_add(n as u64) > limit {
                drop(writer);
                remove_partial(paths)?;
                return Err(too_large());
            }
            writer
                .write_all(chunk)
                .map_err(cache_err("write", &paths.partial))?;
            state.hasher.update(chunk);
            state.len += n as u64;
            progress.advanced(n as u64);
        };
        let file = writer
            .into_inner()
            .map_err(|e| cache_err("write", &paths.partial)(e.into_error()))?;
        let short = total.filter(|&t| state.len < t);
        let reason = match (interrupted, short) {
            (Some(reason), _) => Some(reason),
            (None, Some(total)) => Some(format!(
                "the connection closed after {} of {total} bytes",
                state.len
            )),
            (None, None) => None,
        };
        if let Some(reason) = reason {
            // Keep what arrived when the server can continue from there.
            if !state.if_range.is_empty() && state.len > 0 {
                *resume = Some(state);
            }
            return Err(Failure::Retry { reason, wait: None });
        }
        file.sync_all()
            .map_err(cache_err("write", &paths.partial))?;
        drop(file);
        self.install(target, paths, state)
    }

    /// Moves a complete partial over the cached file and records it.
    fn install(
        &self,
        target: &Target,
        paths: &CachePaths,
        state: Resume,
    ) -> Result<FetchOutcome, Failure> {
        let sha256 = hex::encode(state.hasher.finalize());
        // The old meta goes first: a crash before the new one is written leaves no cache
        // rather than one that describes other bytes.
        remove_if_present(&paths.meta)?;
        fs::rename(&paths.partial, &paths.dest).map_err(cache_err("replace", &paths.dest))?;
        sync_parent(&paths.dest);
        let meta = CacheMeta {
            url: target.shown.clone(),
            etag: state.etag,
            last_modified: state.last_modified,
            sha256: sha256.clone(),
            bytes: state.len,
            fetched_at: now_rfc3339(),
        };
        write_json_atomically(&paths.meta, &meta)?;
        remove_if_present(&paths.partial_meta)?;
        Ok(FetchOutcome::Downloaded {
            bytes: state.len,
            sha256,
            resumed: state.resumed,
        })
    }
}

/// Why an attempt did not finish.
enum Failure {
    Fatal(FetchError),
    Retry {
        reason: String,
        wait: Option<Duration>,
    },
    /// The partial was unusable and is gone: ask again without a range, not counted.
    Again,
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Self {
        Failure::Fatal(error)
    }
}

fn transport_failure(error: ureq::Error, shown: &str) -> Failure {
    let reason = error.to_string();
    match error {
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound
        | ureq::Error::Protocol(_) => Failure::Retry { reason, wait: None },
        _ => Failure::Fatal(FetchError::Request {
            url: shown.to_owned(),
            reason,
        }),
    }
}

/// `base` doubled for every retry before this one, at most [`MAX_WAIT`].
fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempts.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(MAX_WAIT).min(MAX_WAIT)
}

/// `Retry-After` in seconds (the HTTP-date form falls back to the backoff).
fn retry_after(response: &Response<ureq::Body>) -> Option<Duration> {
    let seconds = header(response, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_WAIT))
}

fn header<'a>(response: &'a Response<ureq::Body>, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A `Content-Range: bytes START-END/TOTAL` answer.
#[derive(Debug, PartialEq, Eq)]
struct ContentRange {
    start: u64,
    total: Option<u64>,
}

impl ContentRange {
    fn parse(value: &str) -> Option<ContentRange> {
        let rest = value.trim().strip_prefix("bytes")?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let (start, end) = range.trim().split_once('-')?;
        let start = start.trim().parse::<u64>().ok()?;
        let end = end.trim().parse::<u64>().ok()?;
        let total = match total.trim() {
            "*" => None,
            t => Some(t.parse::<u64>().ok()?),
        };
        if end < start || total.is_some_and(|t| end >= t) {
            return None;
        }
        Some(ContentRange { start, total })
    }
}

/// A URL split into what is requested, what is sent as credentials and what is shown.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// Without userinfo: ureq never sees the credentials, so none of its errors holds them.
    url: String,
    authorization: Option<String>,
    /// Userinfo replaced by `***`: for errors, progress and metadata.
    shown: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, FetchError> {
        let shown = redact(url);
        let unsupported = || FetchError::UnsupportedUrl { url: shown.clone() };
        let (scheme, rest) = url.split_once("://").ok_or_else(unsupported)?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(unsupported());
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let Some((userinfo, host)) = authority.rsplit_once('@') else {
            return Ok(Target {
                url: url.to_owned(),
                authorization: None,
                shown,
            });
        };
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let mut credentials = percent_decode(user);
        credentials.push(b':');
        credentials.extend(percent_decode(password));
        Ok(Target {
            url: format!("{scheme}://{host}{tail}"),
            authorization: Some(format!("Basic {}", base64(&credentials))),
            shown,
        })
    }
}

/// `url` with any userinfo replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{tail}"),
        None => url.to_owned(),
    }
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Standard base64 with padding, for the `Basic` credentials.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |index: u32| char::from(ALPHABET[(index & 63) as usize]);
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(symbol(n >> 18));
        out.push(symbol(n >> 12));
        out.push(if group.len() > 1 { symbol(n >> 6) } else { '=' });
        out.push(if group.len() > 2 { symbol(n) } else { '=' });
    }
    out
}

/// The files of one cache entry.
struct CachePaths {
    dest: PathBuf,
    meta: PathBuf,
    partial: PathBuf,
    partial_meta: PathBuf,
}

impl CachePaths {
    fn new(dest: &Path) -> CachePaths {
        let with = |suffix: &str| {
            let mut name = OsString::from(dest.as_os_str());
            name.push(suffix);
            PathBuf::from(name)
        };
        CachePaths {
            dest: dest.to_owned(),
            meta: with(".meta.json"),
            partial: with(".partial"),
            partial_meta: with(".partial.meta.json"),
        }
    }
}

/// `F.meta.json`: what the cached file is and where it came from.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct CacheMeta {
    /// Redacted: credentials never reach the disk.
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    sha256: String,
    bytes: u64,
    fetched_at: String,
}

/// `F.partial.meta.json`: the version the partial file holds the start of.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct PartialMeta {
    url: String,
    etag: Option<String>,
    last_modified: Option<String>,
    accept_ranges: bool,
}

impl PartialMeta {
    /// The `If-Range` validator: a strong ETag, else the date (weak ETags may not be used).
    fn if_range(&self) -> Option<String> {
        self.etag
            .clone()
            .filter(|e| !e.starts_with("W/"))
            .or_else(|| self.last_modified.clone())
    }
}

/// Where a download stands: the partial file's length and hash, and its version.
struct Resume {
    len: u64,
    hasher: Sha256,
    /// Empty when the server cannot resume this version.
    if_range: String,
    etag: Option<String>,
    last_modified: Option<String>,
    resumed: bool,
}

/// The cache meta when it describes `url` and the file it sits beside.
fn valid_cache(paths: &CachePaths, shown: &str) -> Option<CacheMeta> {
    let meta: CacheMeta = serde_json::from_slice(&fs::read(&paths.meta).ok()?).ok()?;
    if meta.url != shown || fs::metadata(&paths.dest).ok()?.len() != meta.bytes {
        return None;
    }
    let (_, hasher) = hash_file(&paths.dest).ok()?;
    (hex::encode(hasher.finalize()) == meta.sha256).then_some(meta)
}

/// A partial left by an earlier run that can be resumed; anything else is removed.
fn load_partial(paths: &CachePaths, shown: &str) -> Result<Option<Resume>, FetchError> {
    let meta = fs::read(&paths.partial_meta)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<PartialMeta>(&bytes).ok())
        .filter(|meta| meta.url == shown && meta.accept_ranges);
    let resume = meta.and_then(|meta| {
        let if_range = meta.if_range()?;
        let (len, hasher) = hash_file(&paths.partial).ok()?;
        (len > 0).then_some(Resume {
            len,
            hasher,
            if_range,
            etag: meta.etag,
            last_modified: meta.last_modified,
            resumed: false,
        })
    });
    if resume.is_none() {
        remove_partial(paths)?;
    }
    Ok(resume)
}

fn remove_partial(paths: &CachePaths) -> Result<(), FetchError> {
    remove_if_present(&paths.partial)?;
    remove_if_present(&paths.partial_meta)
}

fn remove_if_present(path: &Path) -> Result<(), FetchError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            Err(cache_err("remove", path)(error))
        }
        _ => Ok(()),
    }
}

fn hash_file(path: &Path) -> io::Result<(u64, Sha256)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let len = io::copy(&mut file, &mut hasher)?;
    Ok((len, hasher))
}

/// Writes `value` beside `path`, syncs and renames it over `path`.
fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> Result<(), FetchError> {
    let mut temp = OsString::from(path.as_os_str());
    temp.push(".tmp");
    let temp = PathBuf::from(temp);
    let json = serde_json::to_vec_pretty(value).map_err(|e| cache_err("write", path)(e.into()))?;
    let write = || -> io::Result<()> {
        let mut file = File::create(&temp)?;
        file.write_all(&json)?;
        file.sync_all()
    };
    write().map_err(cache_err("write", &temp))?;
    fs::rename(&temp, path).map_err(cache_err("replace", path))?;
    sync_parent(path);
    Ok(())
}

/// Makes a rename durable where the platform allows; a failure here only weakens
/// durability after a power loss, so it is not an error.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn cache_err<'a>(action: &'static str, path: &'a Path) -> impl Fn(io::Error) -> FetchError + 'a {
    move |source| FetchError::Cache {
        action,
        path: path.display().to_string(),
        source,
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_and_become_basic_auth() {
        let target = Target::parse("https://al%40ice:p%3Ass@mirror.invalid:8443/osv/all.zip?x=1")
            .expect("valid");
        assert_eq!(target.url, "https://mirror.invalid:8443/osv/all.zip?x=1");
        assert_eq!(
            target.shown,
            "https://***@mirror.invalid:8443/osv/all.zip?x=1"
        );
        // base64("al@ice:p:ss")
        assert_eq!(
            target.authorization.as_deref(),
            Some("Basic YWxAaWNlOnA6c3M=")
        );

        let plain = Target::parse("http://mirror.invalid/a@b").expect("valid");
        assert_eq!(plain.url, "http://mirror.invalid/a@b");
        assert_eq!(plain.shown, plain.url);
        assert_eq!(plain.authorization, None);
    }

    #[test]
    fn only_http_urls_are_fetched() {
        for url in ["file:///tmp/x.json", "/data/feed.json", "ftp://user:pw@h/x"] {
            let error = Target::parse(url).expect_err("not http");
            assert!(matches!(error, FetchError::UnsupportedUrl { .. }), "{url}");
            assert!(!error.to_string().contains("pw"), "{error}");
        }
    }

    #[test]
    fn redaction_covers_userinfo_only() {
        assert_eq!(redact("https://u:p@h/x"), "https://***@h/x");
        assert_eq!(redact("https://token@h"), "https://***@h");
        assert_eq!(redact("https://h/x@y"), "https://h/x@y");
        assert_eq!(redact("no-scheme"), "no-scheme");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes() {
        assert_eq!(percent_decode("a%20b%zz%4"), b"a b%zz%4");
        assert_eq!(percent_decode("%c3%a9"), "é".as_bytes());
    }

    #[test]
    fn content_ranges() {
        assert_eq!(
            ContentRange::parse("bytes 100-199/200"),
            Some(ContentRange {
                start: 100,
                total: Some(200)
            })
        );
        assert_eq!(
            ContentRange::parse("bytes 5-9/*"),
            Some(ContentRange {
                start: 5,
                total: None
            })
        );
        for bad in [
            "bytes */200",
            "bytes 9-5/20",
            "bytes 0-200/200",
            "items 0-1/2",
            "",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 2), Duration::from_millis(200));
        assert_eq!(backoff(base, 4), Duration::from_millis(800));
        assert_eq!(backoff(base, 40), MAX_WAIT);
        assert_eq!(backoff(Duration::from_secs(3600), 1), MAX_WAIT);
    }

    #[test]
    fn weak_etags_are_not_range_validators() {
        let mut meta = PartialMeta {
            etag: Some("W/\"abc\"".into()),
            last_modified: Some("Tue, 01 Jul 2025 10:00:00 GMT".into()),
            ..PartialMeta::default()
        };
        assert_eq!(
            meta.if_range().as_deref(),
            Some("Tue, 01 Jul 2025 10:00:00 GMT")
        );
        meta.last_modified = None;
        assert_eq!(meta.if_range(), None);
        meta.etag = Some("\"abc\"".into());
        assert_eq!(meta.if_range().as_deref(), Some("\"abc\""));
    }

    #[test]
    fn options_are_checked() {
        let bad = [
            FetchOptions {
                timeout: Duration::ZERO,
                ..FetchOptions::default()
            },
            FetchOptions {
                max_bytes: 0,
                ..FetchOptions::default()
            },
            FetchOptions {
                user_agent: "bad\nagent".into(),
                ..FetchOptions::default()
            },
        ];
        for options in bad {
            assert!(matches!(
                Fetcher::new(options),
                Err(FetchError::InvalidOption(_))
            ));
        }
        assert!(
            FetchOptions::default()
                .user_agent
                .starts_with("portcullis/")
        );
        assert!(Fetcher::new(FetchOptions::default()).is_ok());
    }

    #[test]
    fn a_meta_that_disagrees_with_its_file_is_no_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = CachePaths::new(&dir.path().join("feed.json"));
        fs::write(&paths.dest, b"hello").expect("write");
        let meta = CacheMeta {
            url: "https://h/feed.json".into(),
            etag: Some("\"1\"".into()),
            sha256: hex::encode(Sha256::digest(b"hello")),
            bytes: 5,
            ..CacheMeta::default()
        };
        write_json_atomically(&paths.meta, &meta).expect("meta");
        assert!(valid_cache(&paths, "https://h/feed.json").is_some());
        assert!(valid_cache(&paths, "https://h/other.json").is_none());
        fs::write(&paths.dest, b"hellO").expect("write");
        assert!(valid_cache(&paths, "https://h/feed.json").is_none());
        fs::write(&paths.meta, b"{not json").expect("write");
        assert!(valid_cache(&paths, "https://h/feed.json").is_none());
    }
}
