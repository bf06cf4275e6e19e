//! pip requirements files: only exact pins (`name==version`, `name===version`) are
//! packages; ranges, URLs, editables and options are not.

use super::lock::Locked;

/// What one requirements file says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Requirements {
    pub pins: Vec<Locked>,
    /// Paths of `-r`/`--requirement` includes, as written (relative to the file).
    pub includes: Vec<String>,
}

/// True for the file names that hold requirements: `requirements.txt`,
/// `requirements-dev.txt`, `dev-requirements.txt`, and any `*.txt` in a `requirements/`
/// directory (the usual target of `-r` includes).
pub(crate) fn is_requirements_file(path: &str) -> bool {
    let Some((dir, name)) = path.rsplit_once('/') else {
        return false;
    };
    name.ends_with(".txt") && (name.contains("requirements") || dir.ends_with("/requirements"))
}

/// Parses a requirements file. Lines that are not exact pins are skipped: pip itself would
/// install a range, but which version it chose is not written down.
pub(crate) fn parse(text: &str) -> Requirements {
    let mut out = Requirements::default();
    for line in logical_lines(text) {
        let line = strip_comment(&line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(option) = line.strip_prefix('-') {
            if let Some(include) = include_target(option) {
                out.includes.push(include.to_owned());
            }
            continue;
        }
        if let Some(pin) = pin(line) {
            out.pins.push(pin);
        }
    }
    out
}

/// Joins lines ending in a backslash with the next one, as pip does.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(line);
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Removes a comment: `#` at the start of the line or after white space (a `#` inside a URL
/// fragment is not a comment).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(u8::is_ascii_whitespace)) {
            return line.get(..i).unwrap_or(line);
        }
    }
    line
}

/// The file of an `-r`/`--requirement` option (after the leading `-`).
fn include_target(option: &str) -> Option<&str> {
    let rest = option
        .strip_prefix("r")
        .or_else(|| option.strip_prefix("-requirement"))?;
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    (!rest.is_empty()).then_some(rest.split_whitespace().next().unwrap_or(rest))
}

/// An exact pin: `name[extras] == version ; marker --hash=…`.
fn pin(line: &str) -> Option<Locked> {
    // Environment markers and per-requirement options do not change what is pinned.
    let spec = line.split(';').next()?;
    let spec = spec.split(" --").next()?.trim();
    if spec.contains('@') || spec.contains("://") {
        return None;
    }
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    let name = spec.get(..name_end)?;
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut rest = spec.get(name_end..)?.trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        rest = after.split_once(']')?.1.trim_start();
    }
    let version = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))?
        .trim();
    let valid = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '!'));
    valid.then(|| Locked {
        name: name.to_owned(),
        version: version.to_owned(),
        dev: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(text: &str) -> Vec<(String, String)> {
        parse(text)
            .pins
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect()
    }

    #[test]
    fn exact_pins_only() {
        let text = "\
# a comment
requests==2.19.1
Django == 2.2  # trailing comment
PyYAML[libyaml]==5.3 ; python_version >= \"3.6\"
zope.interface===6.4
flask>=1.0
jinja2~=2.10
werkzeug==0.14.*
urllib3
six==1.16.0,>=1.0
pkg @ https://example.invalid/pkg-1.0.tar.gz
-e git+https://example.invalid/repo.git#egg=thing
--index-url https://example.invalid/simple
certifi==2019.3.9 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
    # via requests
Pillow==8.0.0 --hash=sha256:cccc
";
        assert_eq!(
            pins(text),
            vec![
                ("requests".into(), "2.19.1".into()),
                ("Django".into(), "2.2".into()),
                ("PyYAML".into(), "5.3".into()),
                ("zope.interface".into(), "6.4".into()),
                ("certifi".into(), "2019.3.9".into()),
                ("Pillow".into(), "8.0.0".into()),
            ]
        );
    }

    #[test]
    fn includes_are_collected() {
        let r = parse(
            "-r base.txt\n--requirement=../common.txt\n--requirement extra.txt\n-c constraints.txt\n-rother.txt\n",
        );
        assert_eq!(
            r.includes,
            vec!["base.txt", "../common.txt", "extra.txt", "other.txt"]
        );
    }

    #[test]
    fn file_names() {
        assert!(is_requirements_file("/app/requirements.txt"));
        assert!(is_requirements_file("/app/requirements-dev.txt"));
        assert!(is_requirements_file("/app/dev-requirements.txt"));
        assert!(is_requirements_file("/app/requirements/base.txt"));
        assert!(!is_requirements_file("/app/notes.txt"));
        assert!(!is_requirements_file("/app/requirements.in"));
        assert!(!is_requirements_file("requirements.txt"));
    }

    #[test]
    fn garbage_gives_nothing() {
        assert_eq!(
            pins("==1.0\n[x]==1\n\u{0}\n=\n\\"),
            Vec::<(String, String)>::new()
        );
    }
}
