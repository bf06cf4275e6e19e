//! Installed gem specifications (`specifications/<name>-<version>.gemspec`): Ruby code that
//! RubyGems writes from the gem's metadata. It is read without running Ruby: the literal
//! right-hand sides of `s.name = …`, `s.version = …`, `s.platform = …`, `s.license(s) = …`
//! and `s.homepage = …`, in the forms RubyGems has written over the years (`"rack".freeze`,
//! `%q{rack}`, `Gem::Version.new("1.0")`, `["MIT".freeze]`), and the `# stub: name version
//! platform` header as a fallback.

/// What a gem specification says about the gem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Gemspec {
    pub name: String,
    pub version: String,
    /// `ruby` for pure-Ruby gems, else the platform the gem was built for
    /// (`x86_64-linux`, `java`).
    pub platform: Option<String>,
    pub licenses: Vec<String>,
    pub homepage: Option<String>,
}

/// Parses a gemspec; `None` when it gives no literal name and version.
pub(crate) fn parse(bytes: &[u8]) -> Option<Gemspec> {
    let text = String::from_utf8_lossy(bytes);
    let mut spec = Gemspec::default();
    let mut stub: Option<(String, String, Option<String>)> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("# stub:") {
            let mut words = rest.split_whitespace();
            if let (Some(name), Some(version)) = (words.next(), words.next()) {
                stub = Some((
                    name.to_owned(),
                    version.to_owned(),
                    words.next().map(str::to_owned),
                ));
            }
            continue;
        }
        let Some((attribute, value)) = assignment(line) else {
            continue;
        };
        let first = || string_literals(value).into_iter().next();
        match attribute {
            "name" if spec.name.is_empty() => spec.name = first().unwrap_or_default(),
            "version" if spec.version.is_empty() => spec.version = first().unwrap_or_default(),
            "platform" if spec.platform.is_none() => spec.platform = first(),
            "homepage" if spec.homepage.is_none() => spec.homepage = first(),
            "license" | "licenses" => {
                for license in string_literals(value) {
                    if !spec.licenses.contains(&license) {
                        spec.licenses.push(license);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((name, version, platform)) = stub {
        if spec.name.is_empty() {
            spec.name = name;
        }
        if spec.version.is_empty() {
            spec.version = version;
        }
        if spec.platform.is_none() {
            spec.platform = platform;
        }
    }
    let valid = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    (valid(&spec.name) && valid(&spec.version)).then_some(spec)
}

/// `recv.attribute = value` with `recv` a plain identifier (`s`, `spec`, `gem`): the
/// attribute and the value's source text. Comparisons (`==`), hash arrows and indexed
/// assignments (`s.metadata["x"] = …`) are not assignments of interest.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (lhs, rhs) = line.split_once('=')?;
    if rhs.starts_with(['=', '>', '~']) || lhs.ends_with(['!', '<', '>', '=']) {
        return None;
    }
    let (receiver, attribute) = lhs.trim().split_once('.')?;
    let identifier =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (identifier(receiver) && identifier(attribute)).then_some((attribute, rhs.trim()))
}

/// The string literals in a Ruby expression, in order: `"…"`, `'…'`, `%q{…}`, `%Q(…)`,
/// `%{…}`, and the words of `%w[…]`. Escapes are undone for `\"`, `\'` and `\\`; string
/// interpolation is kept as written.
fn string_literals(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '#' => break, // a comment runs to the end of the line
            '"' | '\'' => out.push(quoted(&mut chars, c)),
            '%' => {
                let mut kind = 'q';
                if let Some(&(_, k)) = chars.peek()
                    && matches!(k, 'q' | 'Q' | 'w' | 'W')
                {
                    kind = k;
                    chars.next();
                }
                let Some(&(_, open)) = chars.peek() else {
                    break;
                };
                let close = match open {
                    '{' => '}',
                    '(' => ')',
                    '[' => ']',
                    '<' => '>',
                    c if c.is_ascii_punctuation() => c,
                    _ => continue,
                };
                chars.next();
                let body = quoted(&mut chars, close);
                if matches!(kind, 'w' | 'W') {
                    out.extend(body.split_whitespace().map(str::to_owned));
                } else {
                    out.push(body);
                }
            }
            _ => {}
        }
    }
    out
}

/// Reads up to the unescaped `close`, consuming it.
fn quoted(chars: &mut impl Iterator<Item = (usize, char)>, close: char) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for (_, c) in chars.by_ref() {
        if escaped {
            if !matches!(c, '"' | '\'' | '\\') && c != close {
                out.push('\\');
            }
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == close {
            break;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modern_generated_spec() {
        let spec = parse(
            br#"# -*- encoding: utf-8 -*-
# stub: nokogiri 1.15.4 x86_64-linux lib

Gem::Specification.new do |s|
  s.name = "nokogiri".freeze
  s.version = "1.15.4"
  s.platform = "x86_64-linux".freeze

  s.required_rubygems_version = Gem::Requirement.new(">= 0".freeze) if s.respond_to? :required_rubygems_version=
  s.metadata = { "bug_tracker_uri" => "https://github.com/sparklemotion/nokogiri/issues" } if s.respond_to? :metadata=
  s.homepage = "https://nokogiri.org".freeze
  s.licenses = ["MIT".freeze]
  s.add_runtime_dependency(%q<racc>.freeze, ["~> 1.4"])
end
"#,
        )
        .unwrap();
        assert_eq!(
            spec,
            Gemspec {
                name: "nokogiri".into(),
                version: "1.15.4".into(),
                platform: Some("x86_64-linux".into()),
                licenses: vec!["MIT".into()],
                homepage: Some("https://nokogiri.org".into()),
            }
        );
    }

    #[test]
    fn old_forms() {
        let spec = parse(
            b"Gem::Specification.new do |s|\n  s.name = %q{rack}\n  s.version = Gem::Version.new('1.1.0')\n  s.license = %q(MIT)\n  s.licenses = %w[MIT Ruby]\nend\n",
        )
        .unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.version.as_str()),
            ("rack", "1.1.0")
        );
        assert_eq!(spec.licenses, ["MIT", "Ruby"]);
        // A version that is not a literal falls back to the stub line.
        let spec = parse(b"# stub: json 2.6.3 ruby lib\nGem::Specification.new do |spec|\n  spec.name = 'json'\n  spec.version = JSON::VERSION\nend\n").unwrap();
        assert_eq!(spec.version, "2.6.3");
        assert_eq!(spec.platform.as_deref(), Some("ruby"));
        assert!(parse(b"spec.version = Foo::VERSION\nspec.name = 'foo'\n").is_none());
        assert!(parse(b"").is_none());
    }

    #[test]
    fn literals() {
        assert_eq!(
            string_literals(r#""a\"b".freeze, 'c' # "d""#),
            ["a\"b", "c"]
        );
        assert_eq!(string_literals("%Q<x y>"), ["x y"]);
        assert_eq!(string_literals("%w(a b  c)"), ["a", "b", "c"]);
        assert!(string_literals("%").is_empty());
        assert!(assignment("s.metadata[\"x\"] = \"y\"").is_none());
        assert!(assignment("if s.name == 'x'").is_none());
        assert_eq!(assignment("spec.version = '1'"), Some(("version", "'1'")));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "(s\\.(name|version|licenses) = |[\"'%qw{}\\[\\]()<>#\\\\]|[a-z0-9. ]|\n){0,80}") {
            let _ = parse(text.as_bytes());
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse(&bytes);
        }
    }
}
