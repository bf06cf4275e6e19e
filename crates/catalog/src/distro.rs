//! Distro detection from `os-release(5)` and the older release files.

use portcullis_image::FileTree;
use portcullis_types::Distro;

/// The files distro detection reads, in the order they are tried.
pub(crate) const RELEASE_FILES: &[&str] = &[
    "/etc/os-release",
    "/usr/lib/os-release",
    "/etc/alpine-release",
    "/etc/debian_version",
    "/etc/redhat-release",
    "/etc/system-release",
    "/etc/centos-release",
    "/etc/fedora-release",
];

/// Finds the distro of a merged tree, or `None` for images that carry no release file
/// (scratch images, some static binaries).
pub fn detect(tree: &FileTree) -> Option<Distro> {
    for path in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(distro) = read(tree, path).and_then(|b| parse_os_release(&b, path)) {
            return Some(distro);
        }
    }
    if let Some(b) = read(tree, "/etc/alpine-release") {
        let version = first_line(&b);
        return Some(Distro {
            id: "alpine".into(),
            version_id: (!version.is_empty()).then(|| version.to_owned()),
            source_path: "/etc/alpine-release".into(),
            ..Distro::default()
        });
    }
    if let Some(b) = read(tree, "/etc/debian_version") {
        return Some(parse_debian_version(first_line(&b)));
    }
    for path in [
        "/etc/redhat-release",
        "/etc/centos-release",
        "/etc/fedora-release",
        "/etc/system-release",
    ] {
        if let Some(distro) =
            read(tree, path).and_then(|b| parse_redhat_release(first_line(&b), path))
        {
            return Some(distro);
        }
    }
    None
}

fn read(tree: &FileTree, path: &str) -> Option<Vec<u8>> {
    tree.read(path).ok().flatten().map(<[u8]>::to_vec)
}

fn first_line(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .trim()
}

/// Parses `os-release`: `KEY=value` lines, values optionally quoted with shell quoting.
pub fn parse_os_release(bytes: &[u8], source_path: &str) -> Option<Distro> {
    let text = String::from_utf8_lossy(bytes);
    let mut distro = Distro {
        source_path: source_path.to_owned(),
        ..Distro::default()
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "ID" => distro.id = value.to_ascii_lowercase(),
            "VERSION_ID" => distro.version_id = Some(value),
            "VERSION_CODENAME" => distro.codename = Some(value),
            "ID_LIKE" => distro.id_like = value.split_whitespace().map(str::to_owned).collect(),
            "PRETTY_NAME" => distro.pretty_name = Some(value),
            _ => {}
        }
    }
    if distro.id.is_empty() {
        return None;
    }
    // Debian testing/sid and distroless images omit VERSION_ID but name the codename in
    // VERSION; both matter to matching, so recover the codename when it is only there.
    if distro.codename.is_none() {
        distro.codename = text
            .lines()
            .find_map(|l| l.strip_prefix("VERSION="))
            .and_then(|v| {
                let v = unquote(v.trim());
                let open = v.find('(')?;
                let close = v[open..].find(')')? + open;
                Some(v[open + 1..close].trim().to_ascii_lowercase())
            })
            .filter(|c| !c.is_empty() && !c.contains(' '));
    }
    Some(distro)
}

/// Removes one level of shell quoting: `"a \"b\""` → `a "b"`, `'a b'` → `a b`.
fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        return raw[1..raw.len() - 1].to_owned();
    }
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw[1..raw.len() - 1].chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    raw.to_owned()
}

/// `/etc/debian_version` holds `12.4` on a release and `trixie/sid` on testing.
fn parse_debian_version(line: &str) -> Distro {
    let mut distro = Distro {
        id: "debian".into(),
        source_path: "/etc/debian_version".into(),
        ..Distro::default()
    };
    if let Some(major) = line
        .split('.')
        .next()
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
    {
        distro.version_id = Some(major.to_owned());
    } else if let Some((codename, _)) = line.split_once('/') {
        distro.codename = Some(codename.to_owned());
    }
    distro
}

/// `CentOS Linux release 7.9.2009 (Core)`, `Red Hat Enterprise Linux release 8.6 (Ootpa)`,
/// `Fedora release 38 (Thirty Eight)`, `Amazon Linux release 2 (Karoo)`.
fn parse_redhat_release(line: &str, source_path: &str) -> Option<Distro> {
    let (name, rest) = line.split_once(" release ")?;
    let version = rest.split_whitespace().next()?.to_owned();
    let lower = name.to_ascii_lowercase();
    let id = if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("red hat") {
        "rhel"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("oracle") {
        "ol"
    } else if lower.starts_with("amazon") {
        "amzn"
    } else {
        return None;
    };
    // Advisory data for the RHEL family is keyed by the major release; keep the full
    // version only where the distro itself numbers releases that way (Fedora, Amazon).
    let version_id = match id {
        "centos" | "rhel" | "almalinux" | "rocky" | "ol" => {
            version.split('.').next().unwrap_or(&version).to_owned()
        }
        _ => version,
    };
    Some(Distro {
        id: id.to_owned(),
        version_id: Some(version_id),
        pretty_name: Some(line.to_owned()),
        source_path: source_path.to_owned(),
        ..Distro::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_os_release() {
        let text = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
        let d = parse_os_release(text, "/etc/os-release").unwrap();
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id.as_deref(), Some("12"));
        assert_eq!(d.codename.as_deref(), Some("bookworm"));
        assert_eq!(
            d.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(d.purl_qualifier(), "debian-12");
    }

    #[test]
    fn distroless_and_sid_recover_codename_from_version() {
        let text = b"PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION=\"Debian GNU/Linux 12 (bookworm)\"\nHOME_URL=\"https://github.com/GoogleContainerTools/distroless\"\n";
        let d = parse_os_release(text, "/etc/os-release").unwrap();
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id, None);
        assert_eq!(d.codename.as_deref(), Some("bookworm"));
    }

    #[test]
    fn quoting_and_comments() {
        let text = b"# comment\nID='rhel'\nID_LIKE=\"fedora centos\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Say \\\"hi\\\"\"\n";
        let d = parse_os_release(text, "/usr/lib/os-release").unwrap();
        assert_eq!(d.id, "rhel");
        assert_eq!(d.id_like, vec!["fedora", "centos"]);
        assert_eq!(d.pretty_name.as_deref(), Some("Say \"hi\""));
    }

    #[test]
    fn no_id_is_not_a_distro() {
        assert_eq!(parse_os_release(b"NAME=x\n", "/etc/os-release"), None);
        assert_eq!(parse_os_release(b"\xff\xfe", "/etc/os-release"), None);
    }

    #[test]
    fn fallbacks() {
        let d = parse_debian_version("12.4");
        assert_eq!(d.version_id.as_deref(), Some("12"));
        let d = parse_debian_version("trixie/sid");
        assert_eq!(d.codename.as_deref(), Some("trixie"));
        let d = parse_redhat_release(
            "CentOS Linux release 7.9.2009 (Core)",
            "/etc/redhat-release",
        )
        .unwrap();
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("centos", Some("7"))
        );
        let d =
            parse_redhat_release("Amazon Linux release 2 (Karoo)", "/etc/system-release").unwrap();
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("amzn", Some("2"))
        );
        assert!(parse_redhat_release("garbage", "/etc/redhat-release").is_none());
    }
}
