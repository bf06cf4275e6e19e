//! The one place that writes for people (stderr) and writes data (stdout or `-o FILE`).

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;

/// Prints an error with its chain of causes, one per line, on stderr.
pub fn error(err: &anyhow::Error) {
    let mut stderr = anstream::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}

/// A line for people, on stderr.
pub fn note(message: &str) {
    let _ = writeln!(anstream::stderr().lock(), "{message}");
}

/// Writes data to stdout, or atomically to `path` (a temporary file beside it, renamed
/// into place), so that an interrupted run never leaves a half-written report.
pub fn write_data(path: Option<&Path>, data: &[u8]) -> anyhow::Result<()> {
    match path {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(data)
                .context("failed to write to stdout")?;
            stdout.flush().context("failed to write to stdout")
        }
        // A device or a pipe (`-o /dev/null`, `-o /dev/stdout`, a FIFO) is written in
        // place: renaming a temporary file over it would replace the device itself.
        Some(path) if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("failed to open `{}`", path.display()))?;
            file.write_all(data)
                .with_context(|| format!("failed to write `{}`", path.display()))
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| {
                format!("failed to create a temporary file in `{}`", dir.display())
            })?;
            tmp.write_all(data)
                .and_then(|()| tmp.as_file().sync_all())
                .with_context(|| format!("failed to write `{}`", path.display()))?;
            tmp.persist(path)
                .with_context(|| format!("failed to write `{}`", path.display()))?;
            Ok(())
        }
    }
}
