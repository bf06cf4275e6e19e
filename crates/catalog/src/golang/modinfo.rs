//! The module information text a Go binary carries (`go version -m` prints it): `path`
//! (main package), `mod` (main module), `dep` (dependencies), `=>` (the replacement of the
//! line above) and `build` (settings such as `-ldflags`, `GOOS`, `vcs.revision`).

use std::collections::BTreeMap;

/// One module as `path version [sum]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Module {
    pub(crate) path: String,
    pub(crate) version: String,
    pub(crate) sum: String,
}

/// A dependency and the module that replaced it, if a `replace` directive did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Dep {
    pub(crate) module: Module,
    pub(crate) replace: Option<Module>,
}

/// What the module information says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ModInfo {
    /// The main package's import path (`example.com/app/cmd/tool`).
    pub(crate) path: Option<String>,
    /// Absent for binaries built outside module mode (GOPATH builds).
    pub(crate) main: Option<Dep>,
    pub(crate) deps: Vec<Dep>,
    pub(crate) settings: BTreeMap<String, String>,
}

/// Parses the text; lines it does not know are skipped, as Go's own parser would refuse
/// only the whole text, and a partial inventory is more use than none.
pub(crate) fn parse(text: &str) -> ModInfo {
    let mut info = ModInfo::default();
    // Whether the last `mod`/`dep` line went to `main` (true) or `deps` (false).
    let mut last_is_main: Option<bool> = None;
    for line in text.lines() {
        let Some((verb, rest)) = line.split_once('\t') else {
            continue;
        };
        match verb {
            "path" => info.path = Some(rest.to_owned()),
            "mod" => {
                if let Some(module) = module(rest) {
                    info.main = Some(Dep {
                        module,
                        replace: None,
                    });
                    last_is_main = Some(true);
                }
            }
            "dep" => {
                if let Some(module) = module(rest) {
                    info.deps.push(Dep {
                        module,
                        replace: None,
                    });
                    last_is_main = Some(false);
                }
            }
            "=>" => {
                let target = match last_is_main {
                    Some(true) => info.main.as_mut(),
                    Some(false) => info.deps.last_mut(),
                    None => None,
                };
                if let (Some(dep), Some(replacement)) = (target, module(rest)) {
                    dep.replace = Some(replacement);
                }
                // A replacement belongs to the line right above it only.
                last_is_main = None;
            }
            "build" => {
                last_is_main = None;
                if let Some((key, value)) = setting(rest) {
                    info.settings.insert(key, value);
                }
            }
            _ => {}
        }
    }
    info
}

/// `path\tversion\tsum`; version and sum may be empty (a directory replacement).
fn module(rest: &str) -> Option<Module> {
    let mut fields = rest.split('\t');
    let path = fields.next().filter(|p| !p.is_empty())?;
    Some(Module {
        path: path.to_owned(),
        version: fields.next().unwrap_or_default().to_owned(),
        sum: fields.next().unwrap_or_default().to_owned(),
    })
}

/// `key=value`, where a key or value holding spaces, tabs, quotes or `=` is Go-quoted.
fn setting(rest: &str) -> Option<(String, String)> {
    let (key, value) = if let Some(quoted) = rest.strip_prefix('"') {
        let (key, used) = unquote_prefix(quoted)?;
        (key, rest.get(used + 1..)?.strip_prefix('=')?)
    } else {
        let (key, value) = rest.split_once('=')?;
        (key.to_owned(), value)
    };
    let value = match value.strip_prefix('"') {
        Some(quoted) => unquote_prefix(quoted)?.0,
        None => value.to_owned(),
    };
    Some((key, value))
}

/// Undoes `strconv.Quote` for the escapes it writes; returns the text and the bytes used
/// including the closing quote (the opening one is already consumed).
fn unquote_prefix(quoted: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, escape) = chars.next()?;
                match escape {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    'x' | 'u' | 'U' => {
                        let digits = match escape {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let hex: String = (0..digits)
                            .filter_map(|_| chars.next())
                            .map(|(_, c)| c)
                            .collect();
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// The version a `-ldflags '-X pkg.version=1.2.3'` stamped into the binary, chosen as
/// Trivy does: a key under `<main>/cmd/`, else one in a package named `main`, `common`,
/// `version` or `cmd`, else any; several candidates of the same rank give none.
pub(crate) fn ldflags_version(main_path: &str, ldflags: &str) -> Option<String> {
    let words = shell_words(ldflags);
    let mut assignments = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        let assignment = match word.as_str() {
            "-X" | "--X" => words.next().map(String::as_str),
            w => w.strip_prefix("-X=").or_else(|| w.strip_prefix("--X=")),
        };
        if let Some((key, value)) = assignment.and_then(|a| a.split_once('=')) {
            assignments.push((key.trim_matches('\''), value.trim_matches('\'')));
        }
    }
    let mut ranks: [Vec<&str>; 3] = Default::default();
    for (key, value) in assignments {
        let lower = key.to_ascii_lowercase();
        if !(lower.ends_with(".version") || lower.ends_with(".ver")) || !is_semver(value) {
            continue;
        }
        let package = lower.rsplit('/').next().unwrap_or_default();
        let package = package.split('.').next().unwrap_or_default();
        let rank = if key.starts_with(&format!("{main_path}/cmd/")) {
            0
        } else if ["main", "common", "version", "cmd"].contains(&package) {
            1
        } else {
            2
        };
        if !ranks[rank].contains(&value) {
            ranks[rank].push(value);
        }
    }
    let found = ranks.iter().find(|r| !r.is_empty())?;
    match found.as_slice() {
        [one] if one.starts_with('v') => Some((*one).to_owned()),
        [one] => Some(format!("v{one}")),
        _ => None,
    }
}

/// Splits like a POSIX shell: whitespace separates, quotes group, backslash escapes.
fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => current.extend(chars.next()),
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                current.extend(chars.next());
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// `v?MAJOR.MINOR.PATCH[-pre][+build]` with numeric core, as `golang.org/x/mod/semver`
/// accepts it (after adding the `v`).
pub(crate) fn is_semver(version: &str) -> bool {
    let core = version.strip_prefix('v').unwrap_or(version);
    let core = core.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-+.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "path\texample.com/app/cmd/app\nmod\texample.com/app\t(devel)\t\ndep\texample.com/lib\tv1.2.0\t\n=>\t../lib\t\t\ndep\tgolang.org/x/text\tv0.3.0\th1:abc=\n=>\tgithub.com/fork/text\tv0.3.8\th1:def=\nbuild\t-compiler=gc\nbuild\t-ldflags=\"-s -w -X main.version=1.4.2\"\nbuild\t\"weird key\"=x\nbuild\tGOOS=linux\nnonsense line\n=>\torphan\n";

    #[test]
    fn parses_every_kind_of_line() {
        let info = parse(TEXT);
        assert_eq!(info.path.as_deref(), Some("example.com/app/cmd/app"));
        let main = info.main.unwrap();
        assert_eq!(
            (main.module.path.as_str(), main.module.version.as_str()),
            ("example.com/app", "(devel)")
        );
        assert_eq!(info.deps.len(), 2);
        assert_eq!(info.deps[0].replace.as_ref().unwrap().path, "../lib");
        assert_eq!(info.deps[0].replace.as_ref().unwrap().version, "");
        let fork = info.deps[1].replace.as_ref().unwrap();
        assert_eq!(
            (fork.path.as_str(), fork.version.as_str()),
            ("github.com/fork/text", "v0.3.8")
        );
        assert_eq!(info.deps[1].module.sum, "h1:abc=");
        assert_eq!(info.settings["-ldflags"], "-s -w -X main.version=1.4.2");
        assert_eq!(info.settings["weird key"], "x");
        assert_eq!(info.settings["GOOS"], "linux");
    }

    #[test]
    fn ldflags_versions_are_ranked_like_trivy() {
        let v = |flags: &str| ldflags_version("github.com/acme/tool", flags);
        assert_eq!(v("-s -w -X main.version=1.4.2").as_deref(), Some("v1.4.2"));
        assert_eq!(
            v("-X 'main.Version=v2.0.0-rc.1'").as_deref(),
            Some("v2.0.0-rc.1")
        );
        assert_eq!(
            v("-X=github.com/acme/tool/internal/version.Version=3.1.0").as_deref(),
            Some("v3.1.0")
        );
        // The /cmd/ key outranks the generic one.
        assert_eq!(
            v("-X main.version=1.0.0 -X github.com/acme/tool/cmd/tool.version=1.0.1").as_deref(),
            Some("v1.0.1")
        );
        // Two versions of the same rank: no answer rather than a guess.
        assert_eq!(v("-X main.version=1.0.0 -X version.Version=1.0.1"), None);
        assert_eq!(v("-X main.commit=abcdef -X main.version=dev"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn semver_check() {
        assert!(is_semver("1.2.3"));
        assert!(is_semver("v1.2.3-rc.1+meta"));
        assert!(!is_semver("1.2"));
        assert!(!is_semver("v1.x.3"));
        assert!(!is_semver("1.2.3 "));
    }

    #[test]
    fn shell_words_honour_quotes() {
        assert_eq!(
            shell_words(r#"-X "a.b=c d" -s 'e f'\ g"#),
            vec!["-X", "a.b=c d", "-s", "e f g"]
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "(path|mod|dep|=>|build|\\t|\\n|\"|=|\\\\|x|u|v1\\.2)*", ldflags in ".*") {
            let _ = parse(&text);
            let _ = ldflags_version("example.com/app", &ldflags);
            let _ = ldflags_version("example.com/app", &text);
        }
    }
}
