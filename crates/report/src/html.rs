//! One self-contained HTML page for people: inline CSS and JavaScript, no
//! external resource (a Content-Security-Policy forbids loading any), the
//! counts by severity at the top, a text filter and severity check boxes
//! that hide rows, and one row per finding. Every piece of report text is
//! HTML-escaped; only `http(s)` references become links.

use std::fmt::Write as _;

use portcullis_types::{Finding, SeverityLevel};

use crate::ScanReport;
use crate::text::{best_score, epss_percent, escape_html as esc, is_web_url, target, title};

const STYLE: &str = r#"
:root { color-scheme: light dark; --line: #8884; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
.meta { color: #777; margin: 0 0 1rem; }
.counts { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: 1rem; }
.count { border: 1px solid var(--line); border-radius: 6px; padding: .4rem .8rem; min-width: 6rem; }
.count b { display: block; font-size: 1.4rem; }
.controls { display: flex; gap: 1rem; flex-wrap: wrap; align-items: center; margin-bottom: .8rem; }
.controls input[type=search] { min-width: 20rem; padding: .3rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { position: sticky; top: 0; background: Canvas; }
.sev { font-weight: 600; white-space: nowrap; }
.critical { color: #b00020; } .high { color: #d35400; } .medium { color: #b7950b; }
.low { color: #2874a6; } .negligible, .unknown { color: #777; }
.aliases, .target { color: #777; font-size: .9em; }
.kev { font-weight: 700; color: #b00020; }
tr.hidden { display: none; }
"#;

const SCRIPT: &str = r#"
(function () {
  var box = document.getElementById('filter');
  var checks = Array.prototype.slice.call(document.querySelectorAll('input[data-level]'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('tbody tr'));
  var shown = document.getElementById('shown');
  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var levels = {};
    checks.forEach(function (c) { levels[c.getAttribute('data-level')] = c.checked; });
    var n = 0;
    rows.forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var ok = levels[row.getAttribute('data-severity')] !== false &&
        words.every(function (w) { return text.indexOf(w) !== -1; });
      row.classList.toggle('hidden', !ok);
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }
  // `report.html#q=urllib3` opens the report filtered: a link to share a view.
  if (location.hash.indexOf('#q=') === 0) {
    box.value = decodeURIComponent(location.hash.slice(3));
  }
  box.addEventListener('input', apply);
  checks.forEach(function (c) { c.addEventListener('change', apply); });
  apply();
}());
"#;

fn row(out: &mut String, f: &Finding) {
    let level = f.severity.as_str();
    let _ = write!(out, "<tr data-severity=\"{level}\">");
    let _ = write!(
        out,
        "<td>{}<div class=\"target\">{}</div></td>",
        esc(&f.package.name),
        esc(&target(f))
    );
    let _ = write!(out, "<td>{}</td>", esc(&f.package.version));
    let id = match f.references.iter().find(|r| is_web_url(r)) {
        Some(url) => format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>",
            esc(url),
            esc(&f.id)
        ),
        None => esc(&f.id),
    };
    let _ = write!(out, "<td>{id}");
    if !f.aliases.is_empty() {
        let _ = write!(
            out,
            "<div class=\"aliases\">{}</div>",
            esc(&f.aliases.join(", "))
        );
    }
    out.push_str("</td>");
    let score = best_score(f)
        .map(|s| format!(" ({s:.1})"))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<td class=\"sev {level}\">{}{score}</td>",
        level.to_uppercase()
    );
    let fixed = if f.fixable() {
        esc(&f.fixed_versions.join(", "))
    } else {
        esc(&f.status.as_str().replace('_', " "))
    };
    let _ = write!(out, "<td>{fixed}</td>");
    let _ = write!(
        out,
        "<td>{}</td>",
        f.epss.map(|e| epss_percent(e.score)).unwrap_or_default()
    );
    match &f.kev {
        Some(kev) => {
            let _ = write!(
                out,
                "<td class=\"kev\" title=\"added {}\">KEV</td>",
                esc(&kev.date_added)
            );
        }
        None => out.push_str("<td></td>"),
    }
    let _ = write!(out, "<td>{}</td>", esc(title(f).unwrap_or("")));
    out.push_str("</tr>\n");
}

/// The HTML page of `report`.
pub fn render(report: &ScanReport) -> String {
    let s = &report.summary;
    let image = &report.image.reference;
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>{} — {}</title>",
        esc(&report.tool.name),
        esc(image)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(out, "<h1>{}</h1>", esc(image));
    let mut meta = format!(
        "Scanned {} by {} {}",
        esc(&report.scanned_at),
        esc(&report.tool.name),
        esc(&report.tool.version)
    );
    if let Some(distro) = &report.distro {
        let name = distro
            .pretty_name
            .clone()
            .unwrap_or_else(|| distro.purl_qualifier());
        let _ = write!(meta, " · {}", esc(&name));
    }
    if let Some(digest) = &report.image.manifest_digest {
        let _ = write!(meta, " · {}", esc(&digest.to_string()));
    }
    let _ = write!(
        meta,
        " · advisory database built {}",
        esc(&report.database.built_at)
    );
    let _ = writeln!(out, "<p class=\"meta\">{meta}</p>");
    let _ = writeln!(
        out,
        "<p>{} findings in {} of {} packages; {} fixable, {} known exploited.</p>",
        s.findings, s.vulnerable_packages, s.packages, s.fixable, s.known_exploited
    );
    out.push_str("<div class=\"counts\">\n");
    for level in SeverityLevel::ALL.iter().rev() {
        let _ = writeln!(
            out,
            "<div class=\"count {l}\"><b>{}</b>{l}</div>",
            s.by_severity.get(level).copied().unwrap_or(0),
            l = level.as_str()
        );
    }
    out.push_str("</div>\n<div class=\"controls\">\n");
    out.push_str("<input type=\"search\" id=\"filter\" placeholder=\"Filter: package, ID, text…\" aria-label=\"Filter findings\">\n");
    for level in SeverityLevel::ALL.iter().rev() {
        let _ = writeln!(
            out,
            "<label><input type=\"checkbox\" data-level=\"{l}\" checked> {l}</label>",
            l = level.as_str()
        );
    }
    let _ = writeln!(
        out,
        "<span><span id=\"shown\">{}</span> of {} shown</span>\n</div>",
        s.findings, s.findings
    );
    out.push_str("<table>\n<thead><tr><th>Package</th><th>Installed</th><th>Vulnerability</th><th>Severity</th><th>Fixed in</th><th>EPSS</th><th>KEV</th><th>Title</th></tr></thead>\n<tbody>\n");
    for f in &report.findings {
        row(&mut out, f);
    }
    out.push_str("</tbody>\n</table>\n");
    if report.findings.is_empty() {
        out.push_str("<p>No known vulnerabilities.</p>\n");
    }
    if !report.warnings.is_empty() {
        out.push_str("<h2>Warnings</h2>\n<ul>\n");
        for warning in &report.warnings {
            let _ = writeln!(out, "<li>{}</li>", esc(warning));
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(out, "<script>{SCRIPT}</script>\n</body>\n</html>");
    out
}
