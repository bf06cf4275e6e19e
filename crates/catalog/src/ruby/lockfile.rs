//! Bundler's `Gemfile.lock` (and `gems.locked`): sections at column 0 (`GEM`, `GIT`,
//! `PATH`, `PLUGIN SOURCE`, then `PLATFORMS`, `DEPENDENCIES`, …); in a source section,
//! `  remote:`/`  revision:` at two spaces, and under `  specs:` one gem per line at four
//! spaces (`    nokogiri (1.15.4-x86_64-linux)`), its dependencies at six.

/// Sections that list no gems but show that a file is a lockfile.
const OTHER_SECTIONS: &[&str] = &[
    "PLATFORMS",
    "DEPENDENCIES",
    "RUBY VERSION",
    "BUNDLED WITH",
    "CHECKSUMS",
];

/// One locked gem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Locked {
    pub name: String,
    /// The version without the platform suffix, as Bundler splits it (at the first `-`).
    pub version: String,
    pub platform: Option<String>,
    /// `gem` (a gem server), `git`, `path` (a directory, often the application itself) or
    /// `plugin`.
    pub source: &'static str,
    pub remote: Option<String>,
    pub revision: Option<String>,
}

/// Parses a lockfile. An error says why the file is not a lockfile at all; odd lines in a
/// real one are skipped, as Bundler's own parser skips what it does not know.
pub(crate) fn parse(bytes: &[u8]) -> Result<Vec<Locked>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 text ({e})"))?;
    let mut out = Vec::new();
    let mut source: Option<&'static str> = None;
    let mut remote = None;
    let mut revision = None;
    let mut in_specs = false;
    let mut sections = 0usize;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            let header = line.trim();
            source = match header {
                "GEM" => Some("gem"),
                "GIT" => Some("git"),
                "PATH" => Some("path"),
                "PLUGIN SOURCE" => Some("plugin"),
                _ => None,
            };
            if source.is_some() || OTHER_SECTIONS.contains(&header) {
                sections += 1;
            }
            remote = None;
            revision = None;
            in_specs = false;
            continue;
        }
        let Some(source) = source else {
            continue;
        };
        let indent = line.len() - line.trim_start_matches(' ').len();
        let content = line.trim();
        match indent {
            2 => {
                in_specs = content == "specs:";
                if let Some(value) = content.strip_prefix("remote:") {
                    remote = Some(value.trim().to_owned());
                } else if let Some(value) = content.strip_prefix("revision:") {
                    revision = Some(value.trim().to_owned());
                }
            }
            4 if in_specs => {
                if let Some((name, version, platform)) = spec_line(content) {
                    out.push(Locked {
                        name,
                        version,
                        platform,
                        source,
                        remote: remote.clone(),
                        revision: revision.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    if sections == 0 {
        return Err("no Bundler sections (GEM, GIT, PATH, DEPENDENCIES…) found".to_owned());
    }
    Ok(out)
}

/// `name (version)` or `name (version-platform)`.
fn spec_line(content: &str) -> Option<(String, String, Option<String>)> {
    let (name, rest) = content.split_once(" (")?;
    let inside = rest.strip_suffix(')')?;
    let (version, platform) = match inside.split_once('-') {
        Some((version, platform)) => (version, Some(platform.to_owned())),
        None => (inside, None),
    };
    let name = name.trim();
    if name.is_empty() || version.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    Some((name.to_owned(), version.to_owned(), platform))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "GIT\n  remote: https://github.com/rails/turbolinks.git\n  revision: 80216ce9d89920bf073709405e3fce6d0a3ccd9a\n  specs:\n    turbolinks (3.0.0)\n      coffee-rails\n\nPATH\n  remote: .\n  specs:\n    myapp (0.1.0)\n\nGEM\n  remote: https://gems.example/\n  specs:\n    nokogiri (1.15.4-x86_64-linux)\n      racc (~> 1.4)\n    racc (1.7.1)\n    rack (2.2.8)\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  nokogiri (= 1.15.4)\n  turbolinks!\n\nBUNDLED WITH\n   2.4.19\n";

    #[test]
    fn sections_platforms_and_sources() {
        let locked = parse(LOCK.as_bytes()).unwrap();
        let rows: Vec<_> = locked
            .iter()
            .map(|l| {
                (
                    l.name.as_str(),
                    l.version.as_str(),
                    l.platform.as_deref(),
                    l.source,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("turbolinks", "3.0.0", None, "git"),
                ("myapp", "0.1.0", None, "path"),
                ("nokogiri", "1.15.4", Some("x86_64-linux"), "gem"),
                ("racc", "1.7.1", None, "gem"),
                ("rack", "2.2.8", None, "gem"),
            ]
        );
        assert_eq!(
            locked[0].revision.as_deref(),
            Some("80216ce9d89920bf073709405e3fce6d0a3ccd9a")
        );
        assert_eq!(locked[1].remote.as_deref(), Some("."));
        assert_eq!(locked[2].revision, None);
        // CRLF line endings read the same.
        assert_eq!(
            parse(LOCK.replace('\n', "\r\n").as_bytes()).unwrap(),
            locked
        );
    }

    #[test]
    fn not_a_lockfile() {
        assert!(parse(b"{\"json\": true}").is_err());
        assert!(parse(b"\xff\xfe").is_err());
        assert!(parse(b"").is_err());
        assert_eq!(
            parse(b"GEM\n  specs:\n    broken (1.0\n    (2.0)\n").unwrap(),
            []
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "(GEM|GIT|PATH| {2,6}|specs:|remote: |[a-z0-9.()-]|\n){0,80}") {
            let _ = parse(text.as_bytes());
        }
    }
}
