//! Tables for people: aligned columns separated by two spaces, no borders, so that
//! `grep`, `awk` and `cut` still work on them.

use portcullis_types::Sbom;

/// One row per package: name, version, source package, arch, type and layer.
pub fn packages(sbom: &Sbom) -> String {
    let mut rows = vec![["NAME", "VERSION", "SOURCE", "ARCH", "TYPE", "LAYER"].map(str::to_owned)];
    for p in &sbom.packages {
        let source = match (&p.source_name, &p.source_version) {
            (Some(n), Some(v)) if n == &p.name && v == &p.version => String::new(),
            (Some(n), Some(v)) if v == &p.version => n.clone(),
            (Some(n), Some(v)) => format!("{n} {v}"),
            (Some(n), None) => n.clone(),
            _ => String::new(),
        };
        let layer = p
            .layer
            .as_ref()
            .map(|l| format!("{} {}", l.index, l.digest.short()))
            .unwrap_or_default();
        rows.push([
            p.name.clone(),
            p.version.clone(),
            source,
            p.arch.clone().unwrap_or_default(),
            p.ecosystem.as_str().to_owned(),
            layer,
        ]);
    }
    align(&rows)
}

fn align<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::align;

    #[test]
    fn aligns_columns() {
        let rows = [
            ["A".to_owned(), "BB".to_owned()],
            ["ccc".to_owned(), String::new()],
        ];
        assert_eq!(align(&rows), "A    BB\nccc\n");
    }
}
