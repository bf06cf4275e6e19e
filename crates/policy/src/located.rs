//! Error text that points at a place in a file, shared by every document
//! this crate reads (policies, exceptions, ignore files, policy tests).

/// `FILE:LINE:COLUMN: message` (or `FILE: message` when the line is unknown,
/// 0), with an optional `help:` line saying what to write instead.
pub(crate) fn located(
    file: &str,
    line: u64,
    column: u64,
    message: &str,
    hint: Option<&str>,
) -> String {
    let mut text = if line == 0 {
        format!("{file}: {message}")
    } else {
        format!("{file}:{line}:{column}: {message}")
    };
    if let Some(hint) = hint {
        text.push_str("\n  help: ");
        text.push_str(hint);
    }
    text
}

/// A serde-saphyr error taken apart: its 1-based line and column (0 when
/// unknown) and its message without the snippet and the trailing location,
/// which [`located`] writes in front instead.
pub(crate) fn yaml_error(error: &serde_saphyr::Error) -> (u64, u64, String) {
    let (line, column) = error.location().map_or((0, 0), |l| (l.line(), l.column()));
    let full = error.without_snippet().to_string();
    let suffix = format!(" at line {line}, column {column}");
    let message = full
        .strip_suffix(&suffix)
        .unwrap_or(&full)
        .trim()
        .to_owned();
    (line, column, message)
}
