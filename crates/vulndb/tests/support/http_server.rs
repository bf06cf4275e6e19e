//! A real HTTP/1.1 server on loopback for download tests: serves files with
//! ETag and Last-Modified, answers conditional and range requests, and
//! misbehaves on demand (cut or stalled bodies, error statuses).

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct Served {
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// One way to misbehave, used by the next response that would carry a body.
#[derive(Clone, Copy)]
pub enum Fault {
    /// Send this many bytes of the body (with the full Content-Length), then close.
    CutAfter(usize),
    /// Send this many bytes, then stall for the duration.
    StallAfter(usize, Duration),
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub status: u16,
}

pub struct State {
    pub files: BTreeMap<String, Served>,
    pub ranges: bool,
    /// False: answer a range request with a 206 whatever its `If-Range` says.
    pub if_range: bool,
    pub faults: VecDeque<Fault>,
    /// Statuses answered (before anything else) to the next requests, with a Retry-After.
    pub statuses: VecDeque<(u16, Option<u64>)>,
    pub seen: Vec<Seen>,
}

pub struct Server {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    pub body_bytes: Arc<AtomicU64>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            files: BTreeMap::new(),
            ranges: true,
            if_range: true,
            faults: VecDeque::new(),
            statuses: VecDeque::new(),
            seen: Vec::new(),
        }));
        let body_bytes = Arc::new(AtomicU64::new(0));
        let (s, b) = (state.clone(), body_bytes.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, b) = (s.clone(), b.clone());
                std::thread::spawn(move || {
                    let _ = handle(stream, &s, &b);
                });
            }
        });
        Server {
            base,
            state,
            body_bytes,
        }
    }

    pub fn serve(&self, path: &str, body: &[u8], etag: Option<&str>, last_modified: Option<&str>) {
        self.state.lock().unwrap().files.insert(
            path.to_owned(),
            Served {
                body: body.to_vec(),
                etag: etag.map(str::to_owned),
                last_modified: last_modified.map(str::to_owned),
            },
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn with_credentials(&self, path: &str) -> String {
        self.url(path)
            .replacen("http://", "http://user:s3cret%21@", 1)
    }

    pub fn fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    pub fn status(&self, status: u16, retry_after: Option<u64>) {
        self.state
            .lock()
            .unwrap()
            .statuses
            .push_back((status, retry_after));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn bytes(&self) -> u64 {
        self.body_bytes.load(Ordering::SeqCst)
    }
}

pub fn handle(
    mut stream: TcpStream,
    state: &Mutex<State>,
    body_bytes: &AtomicU64,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_owned();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();

    let mut state = state.lock().unwrap();
    let mut extra = Vec::new();
    let (status, body, fault) = if let Some((status, retry_after)) = state.statuses.pop_front() {
        if let Some(seconds) = retry_after {
            extra.push(format!("Retry-After: {seconds}"));
        }
        (status, b"try later".to_vec(), None)
    } else if let Some(file) = state.files.get(&path) {
        if let Some(etag) = &file.etag {
            extra.push(format!("ETag: {etag}"));
        }
        if let Some(date) = &file.last_modified {
            extra.push(format!("Last-Modified: {date}"));
        }
        if state.ranges {
            extra.push("Accept-Ranges: bytes".to_owned());
        }
        let not_modified = match headers.get("if-none-match") {
            Some(tag) => file.etag.as_ref() == Some(tag),
            None => headers
                .get("if-modified-since")
                .is_some_and(|d| file.last_modified.as_ref() == Some(d)),
        };
        let range_start = headers
            .get("range")
            .filter(|_| state.ranges)
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|r| r.parse::<usize>().ok());
        let if_range_holds = !state.if_range
            || headers.get("if-range").is_none_or(|v| {
                file.etag.as_ref() == Some(v) || file.last_modified.as_ref() == Some(v)
            });
        let len = file.body.len();
        match range_start {
            _ if not_modified => (304, Vec::new(), None),
            Some(start) if if_range_holds && start >= len => {
                extra.push(format!("Content-Range: bytes */{len}"));
                (416, Vec::new(), None)
            }
            Some(start) if if_range_holds => {
                extra.push(format!("Content-Range: bytes {start}-{}/{len}", len - 1));
                let body = file.body[start..].to_vec();
                (206, body, None)
            }
            _ => (200, file.body.clone(), None),
        }
    } else {
        (404, b"not found".to_vec(), None)
    };
    let fault = if matches!(status, 200 | 206) {
        state.faults.pop_front()
    } else {
        fault
    };
    state.seen.push(Seen {
        path,
        headers,
        status,
    });
    drop(state);

    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for line in extra {
        head.push_str(&line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if status == 304 {
        return stream.flush();
    }
    let sent = match fault {
        Some(Fault::CutAfter(n)) => n.min(body.len()),
        Some(Fault::StallAfter(n, _)) => n.min(body.len()),
        None => body.len(),
    };
    stream.write_all(&body[..sent])?;
    stream.flush()?;
    body_bytes.fetch_add(sent as u64, Ordering::SeqCst);
    if let Some(Fault::StallAfter(_, pause)) = fault {
        std::thread::sleep(pause);
    }
    if fault.is_some() {
        stream.shutdown(Shutdown::Both)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- helpers
