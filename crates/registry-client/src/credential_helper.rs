//! Docker credential helpers: `docker-credential-<name> get`, server URL on stdin,
//! `{"ServerURL","Username","Secret"}` on stdout.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::credential_store::Secret;
use crate::options::Credentials;

/// Most of a helper's output we keep; a real answer is a few hundred bytes.
const MAX_OUTPUT: u64 = 64 * 1024;

/// Why a credential helper gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error(
        "credential helper `{program}` was not found on PATH; install it, or remove it from \
         `credsStore`/`credHelpers`"
    )]
    Missing { program: String },
    #[error("credential helper name `{0}` is invalid")]
    InvalidName(String),
    #[error("failed to run credential helper `{program}`")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credential helper `{program}` did not answer within {seconds} s")]
    Timeout { program: PathBuf, seconds: u64 },
    #[error("credential helper `{program}` failed ({status}): {message}")]
    Failed {
        program: PathBuf,
        status: String,
        message: String,
    },
    #[error("credential helper `{program}` printed something other than its JSON answer")]
    Output {
        program: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Asks helper `name` for the credentials of `server`. `Ok(None)` when it has none.
pub(crate) fn get(
    name: &str,
    search_path: Option<&OsStr>,
    server: &str,
    timeout: Duration,
) -> Result<Option<Secret>, HelperError> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(HelperError::InvalidName(name.to_owned()));
    }
    let program_name = format!("docker-credential-{name}");
    let program = find_program(&program_name, search_path).ok_or_else(|| HelperError::Missing {
        program: program_name.clone(),
    })?;
    let spawn_error = |source| HelperError::Spawn {
        program: program.clone(),
        source,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading stdin is not an error of ours.
        let _ = stdin.write_all(server.as_bytes());
    }
    // Read in threads so that a chatty helper cannot block on a full pipe while we wait.
    let stdout = child
        .stdout
        .take()
        .map(|out| std::thread::spawn(move || read_capped(out)));
    let stderr = child
        .stderr
        .take()
        .map(|err| std::thread::spawn(move || read_capped(err)));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(spawn_error)? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(HelperError::Timeout {
                    program,
                    seconds: timeout.as_secs(),
                });
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let stdout = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        let stdout = String::from_utf8_lossy(&stdout);
        // The protocol's wording for "nothing stored", used by every official helper.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let message = if stdout.trim().is_empty() {
            String::from_utf8_lossy(&stderr)
        } else {
            stdout
        };
        return Err(HelperError::Failed {
            program,
            status: status.to_string(),
            message: message.trim().chars().take(300).collect(),
        });
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&stdout).map_err(|source| HelperError::Output {
            program: program.clone(),
            source,
        })?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    // Helpers mark an identity (refresh) token with this user name.
    if answer.username == "<token>" {
        return Ok(Some(Secret::RefreshToken {
            token: answer.secret,
        }));
    }
    Ok(Some(Secret::Password(Credentials {
        username: answer.username,
        password: answer.secret,
    })))
}

fn read_capped(reader: impl Read) -> Vec<u8> {
    let mut buffer = Vec::new();
    let _ = reader.take(MAX_OUTPUT).read_to_end(&mut buffer);
    buffer
}

fn find_program(name: &str, search_path: Option<&OsStr>) -> Option<PathBuf> {
    let search_path = search_path?;
    std::env::split_paths(search_path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_helper_is_named() {
        let err = get(
            "nope",
            Some(OsStr::new("/nonexistent")),
            "x",
            Duration::from_secs(1),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("`docker-credential-nope`"), "{err}");
    }

    #[test]
    fn helper_names_cannot_escape() {
        for name in ["", "../x", "a/b", ".hidden"] {
            assert!(matches!(
                get(name, Some(OsStr::new("/bin")), "x", Duration::from_secs(1)),
                Err(HelperError::InvalidName(_))
            ));
        }
    }
}
