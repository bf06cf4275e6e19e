//! Lexical path normalisation for tar entry names, hardlink targets and tree queries.
//!
//! Entry names are confined by REFUSING them: a name whose `..` would climb above the
//! image root is an error (as Docker and containerd refuse it), because silently
//! re-rooting it would let a hostile layer write somewhere its name does not say.
//! Tree queries, on the other hand, clamp at root like a chroot does.

/// An entry name whose `..` components climb above the image root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EscapesRoot;

/// Normalises a tar entry name to an absolute path (`./usr//bin/.` → `/usr/bin`).
///
/// Returns `Ok(None)` for the root itself (`.`, `./`, `/`).
pub(crate) fn normalise_entry(raw: &str) -> Result<Option<String>, EscapesRoot> {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(EscapesRoot);
                }
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(join(&parts)))
}

/// Normalises a path given to the tree: `..` never climbs above root.
pub(crate) fn normalise_query(raw: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return "/".to_owned();
    }
    join(&parts)
}

fn join(parts: &[&str]) -> String {
    let len = parts.iter().map(|p| p.len() + 1).sum();
    let mut out = String::with_capacity(len);
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    out
}

/// Splits an absolute normalised path into its parent and its last component.
pub(crate) fn split_parent(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", path.get(1..).unwrap_or("")),
        Some(i) => (
            path.get(..i).unwrap_or("/"),
            path.get(i + 1..).unwrap_or(""),
        ),
        None => ("/", path),
    }
}

/// Joins a normalised absolute directory and a child name.
pub(crate) fn child(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_entry_names() {
        assert_eq!(
            normalise_entry("./usr//bin/./ls"),
            Ok(Some("/usr/bin/ls".into()))
        );
        assert_eq!(
            normalise_entry("/etc/passwd"),
            Ok(Some("/etc/passwd".into()))
        );
        assert_eq!(normalise_entry("etc/"), Ok(Some("/etc".into())));
        assert_eq!(normalise_entry("a/b/../c"), Ok(Some("/a/c".into())));
        assert_eq!(normalise_entry("./"), Ok(None));
        assert_eq!(normalise_entry("/"), Ok(None));
        assert_eq!(normalise_entry(""), Ok(None));
    }

    #[test]
    fn refuses_names_that_climb_above_root() {
        assert_eq!(normalise_entry("../../etc/passwd"), Err(EscapesRoot));
        assert_eq!(normalise_entry("a/../../b"), Err(EscapesRoot));
        assert_eq!(normalise_entry("/.."), Err(EscapesRoot));
    }

    #[test]
    fn queries_clamp_at_root() {
        assert_eq!(normalise_query("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(normalise_query(""), "/");
        assert_eq!(normalise_query("etc/os-release"), "/etc/os-release");
    }

    #[test]
    fn splits_parents() {
        assert_eq!(split_parent("/etc"), ("/", "etc"));
        assert_eq!(split_parent("/etc/os-release"), ("/etc", "os-release"));
        assert_eq!(child("/", "etc"), "/etc");
        assert_eq!(child("/etc", "x"), "/etc/x");
    }
}
