//! The approval page, `/approve/{id}?stage=S`: what a person needs to decide on a nudge,
//! server-rendered without script, and the form that approves it.
//!
//! `GET` shows the image, the outcome at the stage (per platform), every diagnostic with its
//! findings and remedy, the findings by severity, the policy in effect, the approvals given
//! and a link to the full report; when the viewer may approve a nudge not yet approved at
//! that stage, a form. `POST` (the form, `application/x-www-form-urlencoded`) is accepted
//! only from the server's own pages (an `Origin` or `Referer` naming the request's host),
//! then makes the same workflow call as `POST /api/v1/images/{id}/approvals` and redirects
//! back to the page. Every value is escaped; errors are pages that say what to do.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use portcullis_auth::permissions;
use portcullis_policy::Outcome;
use portcullis_report::{ScanReport, escape_html as esc};
use portcullis_store::workflow::{ImageRecord, ImageState};
use portcullis_types::Principal;
use serde::Deserialize;

use super::AppState;
use super::images::{approve_error, readable, rfc3339, stage_error, stored_report};
use crate::error::ApiError;
use crate::policies;
use crate::workflow::{StageView, outcome_str};

/// The page's Content-Security-Policy: styles inline, nothing loads or runs, forms post here.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";

#[derive(Debug, Deserialize)]
pub struct StageQuery {
    stage: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApprovalForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    stage: Option<String>,
}

/// A failure shown as a page: its status, a heading and a sentence saying what to do.
#[derive(Debug)]
struct PageError {
    status: StatusCode,
    message: String,
    challenge: Option<String>,
}

impl PageError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            challenge: None,
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status,
            message: e.message,
            challenge: e.challenge,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let body = format!(
            "<h1>{}</h1>\n<p class=\"error\">{}</p>\n",
            esc(&title),
            esc(&self.message)
        );
        let mut response = html(self.status, &title, &body);
        if let Some(challenge) = self.challenge
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// `GET /approve/{id}?stage=S`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<i64>, PathRejection>,
    query: Result<Query<StageQuery>, QueryRejection>,
) -> Response {
    match render(&state, &headers, path, query).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    path: Result<Path<i64>, PathRejection>,
    query: Result<Query<StageQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let Path(id) = path.map_err(|e| PageError::from(ApiError::from(e)))?;
    let Query(q) = query.map_err(|e| PageError::from(ApiError::from(e)))?;
    let principal = state.principal(headers).await?;
    let image = readable(state, &principal, id).await?;
    let stage = q.stage.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let view = state
        .workflow
        .stage_view(&image, stage)
        .await
        .map_err(stage_error)?;
    let body = page_body(state, &principal, &image, &view).await?;
    let title = format!("Approve {}@{}", image.repository, short(&image.digest));
    Ok(html(StatusCode::OK, &title, &body))
}

/// `POST /approve/{id}`: the form's approval.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    path: Result<Path<i64>, PathRejection>,
    body: Bytes,
) -> Response {
    match approve(&state, &headers, &uri, path, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn approve(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    path: Result<Path<i64>, PathRejection>,
    body: &[u8],
) -> Result<Response, PageError> {
    let Path(id) = path.map_err(|e| PageError::from(ApiError::from(e)))?;
    same_origin(state, headers, uri)?;
    let principal = state.principal(headers).await?;
    let image = readable(state, &principal, id).await?;
    if !permissions::can_approve(&principal, &image.team) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} may not approve images; ask someone with the security or admin role",
                permissions::describe(&principal)
            ),
        ));
    }
    let form: ApprovalForm = serde_urlencoded::from_bytes(body).map_err(|e| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the form could not be read ({e}); go back to the approval page and send it again"
            ),
        )
    })?;
    if form.reason.trim().is_empty() {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            "a reason is required: go back and say why this image may go ahead despite its findings",
        ));
    }
    let stage = form
        .stage
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    state
        .workflow
        .approve_at(id, &principal, &form.reason, stage)
        .await
        .map_err(|e| PageError::from(approve_error(e)))?;
    let stage = stage.unwrap_or(&state.config.promotion_stage);
    let location = format!(
        "/approve/{id}?{}",
        serde_urlencoded::to_string([("stage", stage)]).unwrap_or_default()
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// Refuses a form post that does not come from this server's own pages: its `Origin` (or,
/// without one, its `Referer`) must name the host and port the request was sent to (or the
/// configured external URL's).
fn same_origin(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<(), PageError> {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let Some(source) = text(header::ORIGIN).or_else(|| text(header::REFERER)) else {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "this form accepts only posts from the approval page, and the request named no Origin or Referer; approve from the page in a browser, or use the API (POST /api/v1/images/{id}/approvals or `portcullis approve`)",
        ));
    };
    let refused = || {
        PageError::new(
            StatusCode::FORBIDDEN,
            format!(
                "a post from `{source}` is not from this server's approval page; open the approval page on this server and approve there"
            ),
        )
    };
    let (scheme, authority) = origin_authority(&source).ok_or_else(refused)?;
    let request_host = text(header::HOST)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default();
    let external_url = state.config.external_url();
    let external = origin_authority(&external_url);
    let candidates = [
        Some(with_port(&request_host, scheme)),
        external.map(|(s, a)| with_port(a, s)),
    ];
    if !request_host.is_empty() || external.is_some() {
        let wanted = with_port(authority, scheme);
        if candidates.iter().flatten().any(|c| *c == wanted) {
            return Ok(());
        }
    }
    Err(refused())
}

/// The scheme and `host[:port]` of an origin or URL; `None` for `null` and non-HTTP ones.
fn origin_authority(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    // Credentials in a Referer are not part of the origin.
    let authority = authority.rsplit('@').next()?;
    (!authority.is_empty()).then_some((scheme, authority))
}

/// `host:port`, lowercase, with the scheme's default port when none is given.
fn with_port(authority: &str, scheme: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    if has_port {
        authority
    } else {
        let port = if scheme == "https" { 443 } else { 80 };
        format!("{authority}:{port}")
    }
}

async fn page_body(
    state: &AppState,
    principal: &Principal,
    image: &ImageRecord,
    view: &StageView,
) -> Result<String, ApiError> {
    let mut b = String::new();
    let tags = state.store.image_tags(image.id).await?;
    let approvals = state.store.approvals(image.id).await?;
    let stage = &view.stage;
    let _ = writeln!(
        b,
        "<h1>{} at stage {}</h1>",
        esc(&image.repository),
        esc(stage)
    );

    // The image.
    let tag_list = tags
        .iter()
        .map(|t| esc(&t.tag))
        .collect::<Vec<_>>()
        .join(", ");
    b.push_str("<table class=\"facts\">\n");
    for (name, value) in [
        ("Repository", esc(&image.repository)),
        ("Digest", format!("<code>{}</code>", esc(&image.digest))),
        (
            "Tags",
            if tag_list.is_empty() {
                "none".to_owned()
            } else {
                tag_list
            },
        ),
        ("Team", esc(&image.team)),
        (
            "Pushed",
            format!(
                "by {} at {}",
                esc(&image.pushed_by),
                esc(&rfc3339(image.pushed_at_ms))
            ),
        ),
        ("State", esc(image.state.as_str())),
        (
            "Promotion stage",
            esc(&view.promotion_stage)
                + if view.stored {
                    " (this is the decision the promotion used)"
                } else {
                    ""
                },
        ),
    ] {
        let _ = writeln!(b, "<tr><th>{name}</th><td>{value}</td></tr>");
    }
    b.push_str("</table>\n");

    // The outcome and the approval at the stage.
    let outcome = view.outcome.map_or("none yet", outcome_str);
    let _ = writeln!(
        b,
        "<p class=\"outcome {}\">Outcome at stage {}: <strong>{}</strong></p>",
        esc(outcome),
        esc(stage),
        esc(outcome)
    );
    if let Some(reason) = &view.reason {
        let _ = writeln!(b, "<p>{}</p>", esc(reason));
    }
    if let Some(a) = &view.approval {
        let _ = writeln!(
            b,
            "<p class=\"approved\">approved by {}: {} <small>({})</small></p>",
            esc(&a.approver),
            esc(&a.reason),
            esc(&rfc3339(a.at_ms))
        );
    }
    let may_approve = permissions::can_approve(principal, &image.team);
    let open_nudge = view.outcome == Some(Outcome::Nudge)
        && view.approval.is_none()
        && (!view.stored || image.state == ImageState::AwaitingApproval);
    if may_approve && open_nudge {
        let _ = writeln!(
            b,
            "<form method=\"post\" action=\"/approve/{}\">\n<input type=\"hidden\" name=\"stage\" value=\"{}\">\n\
             <label for=\"reason\">Why may this image go ahead at stage {} despite its findings?</label>\n\
             <textarea id=\"reason\" name=\"reason\" rows=\"4\" required></textarea>\n\
             <button type=\"submit\">Approve as {}</button>\n</form>",
            image.id,
            esc(stage),
            esc(stage),
            esc(&principal.name)
        );
    } else if open_nudge {
        let _ = writeln!(
            b,
            "<p>Waiting for an approval by someone with the security or admin role.</p>"
        );
    }

    // Per platform: the decision, its diagnostics, the findings.
    let children = state.store.image_children(image.id).await?;
    let several = view.platforms.len() > 1;
    for platform in &view.platforms {
        let which = (!children.is_empty()).then_some(platform.digest.as_str());
        let report = stored_report(state, image, which).await.ok();
        let label = platform.platform.as_deref().unwrap_or("image");
        let _ = writeln!(
            b,
            "<h2>{} <code>{}</code>: {}</h2>",
            esc(label),
            esc(short(&platform.digest)),
            esc(outcome_str(platform.outcome))
        );
        diagnostics(&mut b, &platform.decision.decision, report.as_ref());
        if let Some(report) = &report {
            findings(&mut b, report);
        }
        let link = if several {
            format!(
                "/reports/{}?{}",
                image.id,
                serde_urlencoded::to_string([("platform", platform.digest.as_str())])
                    .unwrap_or_default()
            )
        } else {
            format!("/reports/{}", image.id)
        };
        let _ = writeln!(b, "<p><a href=\"{}\">The full report</a></p>", esc(&link));
    }
    if view.platforms.is_empty() {
        let _ = writeln!(
            b,
            "<p><a href=\"/reports/{}\">The full report</a> (once the scan is recorded)</p>",
            image.id
        );
    }

    policy(state, &mut b, image, stage).await?;

    // The approvals given, at every stage.
    b.push_str("<h2>Approvals</h2>\n");
    if approvals.is_empty() {
        b.push_str("<p>None.</p>\n");
    } else {
        b.push_str("<table><tr><th>Stage</th><th>By</th><th>Reason</th><th>At</th></tr>\n");
        for a in &approvals {
            let _ = writeln!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(a.stage.as_deref().unwrap_or("")),
                esc(&a.approver),
                esc(&a.reason),
                esc(&rfc3339(a.at_ms))
            );
        }
        b.push_str("</table>\n");
    }
    Ok(b)
}

/// Every diagnostic: action, code, rule, message, its findings (with installed and fixed
/// versions, from the report) and the remedy.
fn diagnostics(
    b: &mut String,
    decision: &portcullis_policy::Decision,
    report: Option<&ScanReport>,
) {
    let fixed: BTreeMap<(&str, &str, &str), String> = report
        .map(|r| {
            r.findings
                .iter()
                .chain(&r.suppressed)
                .map(|f| {
                    (
                        (
                            f.id.as_str(),
                            f.package.name.as_str(),
                            f.package.version.as_str(),
                        ),
                        f.fixed_versions.join(", "),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if decision.diagnostics.is_empty() {
        b.push_str("<p>No diagnostics: no rule fired.</p>\n");
        return;
    }
    b.push_str("<h3>Diagnostics</h3>\n<ol class=\"diagnostics\">\n");
    for d in &decision.diagnostics {
        let _ = write!(
            b,
            "<li class=\"{}\"><strong>{}</strong> <code>{}</code> ({})<br>{}",
            esc(d.action.as_str()),
            esc(d.action.as_str()),
            esc(&d.code),
            esc(&d.rule),
            esc(&d.message)
        );
        if !d.findings.is_empty() {
            b.push_str(
                "<table><tr><th>Vulnerability</th><th>Package</th><th>Installed</th><th>Fixed in</th></tr>\n",
            );
            for f in &d.findings {
                let fix = fixed
                    .get(&(f.id.as_str(), f.package.as_str(), f.version.as_str()))
                    .map(String::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("no fix known");
                let _ = writeln!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&f.id),
                    esc(&f.package),
                    esc(&f.version),
                    esc(fix)
                );
            }
            b.push_str("</table>");
        }
        if let Some(remedy) = &d.remedy {
            let _ = write!(b, "<p class=\"remedy\">Remedy: {}</p>", esc(remedy));
        }
        b.push_str("</li>\n");
    }
    b.push_str("</ol>\n");
}

/// The findings, most severe first.
fn findings(b: &mut String, report: &ScanReport) {
    let mut rows: Vec<&portcullis_types::Finding> = report.findings.iter().collect();
    rows.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.id.cmp(&y.id))
            .then_with(|| x.package.name.cmp(&y.package.name))
            .then_with(|| x.package.version.cmp(&y.package.version))
    });
    let _ = writeln!(b, "<h3>Findings ({})</h3>", rows.len());
    if rows.is_empty() {
        b.push_str("<p>None.</p>\n");
        return;
    }
    b.push_str("<table class=\"findings\"><tr><th>Vulnerability</th><th>Severity</th><th>Package</th><th>Version</th><th>Fixed in</th></tr>\n");
    for f in rows {
        let _ = writeln!(
            b,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(f.severity.as_str()),
            esc(&f.id),
            esc(f.severity.as_str()),
            esc(&f.package.name),
            esc(&f.package.version),
            esc(&f.fixed_versions.join(", "))
        );
    }
    b.push_str("</table>\n");
}

/// The policy in effect: the documents applied and the stage's rules.
async fn policy(
    state: &AppState,
    b: &mut String,
    image: &ImageRecord,
    stage: &str,
) -> Result<(), ApiError> {
    b.push_str("<h2>Policy in effect</h2>\n<ul>\n");
    for doc in policies::applied(&state.store, &image.team).await? {
        match &doc.stored {
            Some(d) => {
                let _ = writeln!(
                    b,
                    "<li><code>{}</code> version {}, updated by {} at {}</li>",
                    esc(&doc.name),
                    d.version,
                    esc(&d.updated_by),
                    esc(&rfc3339(d.updated_at_ms))
                );
            }
            None => {
                let _ = writeln!(
                    b,
                    "<li><code>{}</code>: the embedded default policy (none stored)</li>",
                    esc(&doc.name)
                );
            }
        }
    }
    b.push_str("</ul>\n");
    match policies::load(&state.store, &image.team).await {
        Err(e) => {
            let _ = writeln!(b, "<p class=\"error\">{}</p>", esc(&e));
        }
        Ok((set, _)) => {
            let rules = set.rules(stage, Some(&image.team));
            let image_rules = set.image_rules(stage, Some(&image.team));
            let _ = writeln!(b, "<h3>Rules at stage {}</h3>", esc(stage));
            if rules.is_empty() && image_rules.is_empty() {
                b.push_str("<p>No rules: every image passes at this stage.</p>\n");
                return Ok(());
            }
            b.push_str("<table><tr><th>Rule</th><th>Action</th><th>When</th><th>From</th></tr>\n");
            // Which document wrote the rule, with the policy's own name.
            let from = |team: Option<&str>| match team {
                None => format!("organisation policy {}", set.organisation.name),
                Some(t) => format!(
                    "team {t} policy {}",
                    set.teams.get(t).map_or("", |p| p.name.as_str())
                ),
            };
            for r in rules {
                let _ = writeln!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&r.rule.name),
                    esc(action(r.rule.action)),
                    esc(&portcullis_policy::eval::describe(&r.rule.when)),
                    esc(&from(r.team))
                );
            }
            for r in image_rules {
                let _ = writeln!(
                    b,
                    "<tr><td>{}</td><td>{}</td><td>image: {}</td><td>{}</td></tr>",
                    esc(&r.rule.name),
                    esc(action(r.rule.action)),
                    esc(&serde_json::to_string(&r.rule.when).unwrap_or_default()),
                    esc(&from(r.team))
                );
            }
            b.push_str("</table>\n");
        }
    }
    Ok(())
}

fn action(a: portcullis_policy::Action) -> &'static str {
    match a {
        portcullis_policy::Action::Warn => "warn",
        portcullis_policy::Action::Nudge => "nudge",
        portcullis_policy::Action::Block => "block",
    }
}

/// `sha256:0123456789ab`.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:72em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
.outcome{font-size:1.2em}.nudge strong{color:#a60}.block strong{color:#b00}.pass strong{color:#070}\
.approved{background:#efe;padding:.5em}.error{color:#b00}.remedy{font-style:italic}\
textarea{width:100%;display:block;margin:.5em 0}form{border:1px solid #a60;padding:1em;margin:1em 0}";

/// A whole page with the security headers.
fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} — portcullis</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "same-origin"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_for_text_and_attributes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\u{0}b"), "a\u{fffd}b");
    }

    #[test]
    fn origins_are_reduced_to_host_and_port() {
        assert_eq!(
            origin_authority("http://127.0.0.1:5000"),
            Some(("http", "127.0.0.1:5000"))
        );
        assert_eq!(
            origin_authority("https://user:pw@Example.org/approve/1?stage=dev"),
            Some(("https", "Example.org"))
        );
        assert_eq!(origin_authority("null"), None);
        assert_eq!(origin_authority("file:///x"), None);
        assert_eq!(with_port("Example.org", "https"), "example.org:443");
        assert_eq!(with_port("example.org", "http"), "example.org:80");
        assert_eq!(with_port("[::1]", "http"), "[::1]:80");
        assert_eq!(with_port("[::1]:8080", "http"), "[::1]:8080");
        // A different port is a different origin.
        assert_ne!(
            with_port("127.0.0.1:5001", "http"),
            with_port("127.0.0.1:5000", "http")
        );
    }
}
