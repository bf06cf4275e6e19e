//! `go.mod` files in source trees: `module`, `require` (with `// indirect`), `replace`
//! and `exclude`, single-line or in `( … )` blocks.

/// One required module, after `replace` and `exclude` were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requirement {
    pub(crate) path: String,
    pub(crate) version: String,
    pub(crate) indirect: bool,
    /// The module path and version `require` named, when a `replace` changed them.
    pub(crate) replaced: Option<(String, String)>,
    /// A directory a `replace` pointed at instead of a module.
    pub(crate) replaced_by_dir: Option<String>,
}

/// What a `go.mod` declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct GoMod {
    pub(crate) module: Option<String>,
    pub(crate) go: Option<String>,
    pub(crate) requirements: Vec<Requirement>,
}

#[derive(Debug)]
struct Replace {
    old_path: String,
    old_version: Option<String>,
    new_path: String,
    new_version: Option<String>,
}

/// Why a `go.mod` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum GoModError {
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: &'static str },
    #[error("it is not UTF-8 text")]
    NotText,
}

pub(crate) fn parse(bytes: &[u8]) -> Result<GoMod, GoModError> {
    let text = std::str::from_utf8(bytes).map_err(|_| GoModError::NotText)?;
    let mut out = GoMod::default();
    let mut requires: Vec<(String, String, bool)> = Vec::new();
    let mut replaces: Vec<Replace> = Vec::new();
    let mut excludes: Vec<(String, String)> = Vec::new();
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let (code, comment) = match raw.find("//") {
            Some(at) => (&raw[..at], raw[at + 2..].trim()),
            None => (raw, ""),
        };
        let indirect = comment == "indirect" || comment.starts_with("indirect;");
        let tokens = tokens(code).ok_or(GoModError::Syntax {
            line: line_no,
            reason: "unterminated quoted string",
        })?;
        if tokens.is_empty() {
            continue;
        }
        let (verb, args): (String, &[String]) = match &block {
            Some(_) if tokens[0] == ")" => {
                block = None;
                continue;
            }
            Some(verb) => (verb.clone(), &tokens[..]),
            None if tokens.len() == 3 && tokens[1] == "(" && tokens[2] == ")" => continue,
            None if tokens.len() == 2 && tokens[1] == "(" => {
                block = Some(tokens[0].clone());
                continue;
            }
            None => (tokens[0].clone(), &tokens[1..]),
        };
        let syntax = |reason| GoModError::Syntax {
            line: line_no,
            reason,
        };
        match verb.as_str() {
            "module" => out.module = args.first().cloned(),
            "go" => out.go = args.first().cloned(),
            "require" => match args {
                [path, version] => requires.push((path.clone(), version.clone(), indirect)),
                _ => return Err(syntax("a require needs a module path and a version")),
            },
            "exclude" => match args {
                [path, version] => excludes.push((path.clone(), version.clone())),
                _ => return Err(syntax("an exclude needs a module path and a version")),
            },
            "replace" => replaces.push(
                replace(args)
                    .ok_or_else(|| syntax("a replace needs `path [version] => path [version]`"))?,
            ),
            // toolchain, retract, godebug, tool, ignore: nothing to inventory.
            _ => {}
        }
    }
    if block.is_some() {
        return Err(GoModError::Syntax {
            line: text.lines().count(),
            reason: "a `(` block is never closed",
        });
    }
    for (path, version, indirect) in requires {
        if excludes.iter().any(|(p, v)| *p == path && *v == version) {
            continue;
        }
        // A replace naming the version wins over one for every version, as in cmd/go.
        let rule = replaces
            .iter()
            .find(|r| r.old_path == path && r.old_version.as_deref() == Some(&version))
            .or_else(|| {
                replaces
                    .iter()
                    .find(|r| r.old_path == path && r.old_version.is_none())
            });
        out.requirements.push(match rule {
            Some(rule) if rule.new_version.is_none() => Requirement {
                // A directory: the code is whatever is there, not a published version.
                path: path.clone(),
                version: "(devel)".to_owned(),
                indirect,
                replaced: Some((path, version)),
                replaced_by_dir: Some(rule.new_path.clone()),
            },
            Some(rule) => Requirement {
                path: rule.new_path.clone(),
                version: rule.new_version.clone().unwrap_or_default(),
                indirect,
                replaced: Some((path, version)),
                replaced_by_dir: None,
            },
            None => Requirement {
                path,
                version,
                indirect,
                replaced: None,
                replaced_by_dir: None,
            },
        });
    }
    Ok(out)
}

fn replace(args: &[String]) -> Option<Replace> {
    let arrow = args.iter().position(|a| a == "=>")?;
    let (old, new) = (&args[..arrow], &args[arrow + 1..]);
    let (old_path, old_version) = match old {
        [p] => (p.clone(), None),
        [p, v] => (p.clone(), Some(v.clone())),
        _ => return None,
    };
    let (new_path, new_version) = match new {
        [p] => (p.clone(), None),
        [p, v] => (p.clone(), Some(v.clone())),
        _ => return None,
    };
    Some(Replace {
        old_path,
        old_version,
        new_path,
        new_version,
    })
}

/// Splits a line into tokens: words, `"…"` and `` `…` `` strings, `(`, `)` and `=>`.
fn tokens(code: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = code.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                out.push(c.to_string());
                chars.next();
            }
            '"' | '`' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next()? {
                        q if q == c => break,
                        '\\' if c == '"' => s.push(chars.next()?),
                        other => s.push(other),
                    }
                }
                out.push(s);
            }
            _ => {
                let mut s = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' || c == '`' {
                        break;
                    }
                    s.push(c);
                    chars.next();
                }
                out.push(s);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = r#"module example.com/app // the app

go 1.21

toolchain go1.21.3

require github.com/pkg/errors v0.9.1

require (
	golang.org/x/text v0.3.0 // indirect
	"example.com/lib" v1.2.0
	example.com/gone v1.0.0
	example.com/kept v1.1.0
)

replace example.com/lib => ../lib

replace (
	golang.org/x/text v0.3.0 => github.com/fork/text v0.3.8
	golang.org/x/text => github.com/other/text v9.9.9
)

exclude example.com/gone v1.0.0
exclude (
	example.com/kept v1.0.0
)

retract [v1.0.0, v1.0.5]
"#;

    #[test]
    fn requires_with_replace_and_exclude_applied() {
        let m = parse(GO_MOD.as_bytes()).unwrap();
        assert_eq!(m.module.as_deref(), Some("example.com/app"));
        assert_eq!(m.go.as_deref(), Some("1.21"));
        let rows: Vec<_> = m
            .requirements
            .iter()
            .map(|r| (r.path.as_str(), r.version.as_str(), r.indirect))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("github.com/pkg/errors", "v0.9.1", false),
                ("github.com/fork/text", "v0.3.8", true),
                ("example.com/lib", "(devel)", false),
                ("example.com/kept", "v1.1.0", false),
            ]
        );
        assert_eq!(
            m.requirements[1].replaced,
            Some(("golang.org/x/text".into(), "v0.3.0".into()))
        );
        assert_eq!(m.requirements[2].replaced_by_dir.as_deref(), Some("../lib"));
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        assert!(parse(b"require (\n a v1\n").is_err());
        assert!(parse(b"require a\n").is_err());
        assert!(parse(b"module \"unterminated\n").is_err());
        assert!(parse(b"replace a b\n").is_err());
        assert!(parse(b"\xff\xfe").is_err());
        assert_eq!(parse(b"").unwrap(), GoMod::default());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in "(require|replace|exclude|module|\\(|\\)|=>|//|indirect|\"|`| |\\n|a|v1)*", bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse(text.as_bytes());
            let _ = parse(&bytes);
        }
    }
}
