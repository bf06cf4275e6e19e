//! Decisions at every stage and approvals per stage, on a real SQLite store with a stored
//! scan report, through the workflow and through the HTTP router in process.

use std::sync::Arc;

use anyhow::{Context as _, ensure};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use portcullis_policy::Outcome;
use portcullis_server::ServerConfig;
use portcullis_server::api::AppState;
use portcullis_server::metrics::Metrics;
use portcullis_server::workflow::{Evaluation, StageError, Workflow};
use portcullis_store::Store;
use portcullis_store::workflow::{ImageState, NewImage, ScanRecord};
use portcullis_types::{Digest, Principal, PrincipalKind, Role};
use tower::ServiceExt as _;

const ADMIN_TOKEN: &str = "pct_stage-tests-admin-token-0123456789";

/// dev nudges on urllib3, test blocks critical findings, prod (the promotion stage) nudges
/// on fixable high ones.
const POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: stages }
spec:
  stages:
    - name: dev
      rules:
        - { name: urllib3-review, when: { packages: [urllib3] }, action: nudge }
    - name: test
      rules:
        - { name: no-critical, when: { severityAtLeast: critical }, action: block }
    - name: prod
      rules:
        - { name: fixable-high, when: { severityAtLeast: high, fixAvailable: true }, action: nudge }
";

/// The report renderer's JSON snapshot: urllib3 (critical, KEV, fixed in 1.26.17), Go
/// stdlib (high), a package whose name and advisory are HTML, libc6 (low, no fix).
const REPORT: &str = include_str!("../fixtures/stage-decisions/report.json");

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    workflow: Arc<Workflow>,
    state: AppState,
    id: i64,
}

/// A store with the policy, one pushed image whose scan is recorded, decided.
async fn fixture() -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let store = Store::open(&url).await?;
    let config = Arc::new(ServerConfig::default());
    let workflow = Arc::new(Workflow {
        store: store.clone(),
        config: config.clone(),
        metrics: Arc::new(Metrics::default()),
        advisory_home: dir.path().join("home"),
    });
    let digest = Digest::sha256_from_bytes([9; 32]);
    let mut tx = store.begin().await?;
    tx.put_policy_document("organisation", POLICY, "sec")
        .await?;
    let (image, _) = tx
        .record_push(&NewImage {
            repository: "unscanned/a/app",
            digest: &digest,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            team: "a",
            app: "app",
            tag: Some("v1"),
            children: &[],
            pushed_by: "dev-a",
        })
        .await?;
    tx.commit().await?;
    let auth = Arc::new(
        portcullis_auth::Auth::new(
            store.clone(),
            portcullis_auth::AuthConfig::new("http://127.0.0.1:5000/token", "portcullis"),
        )
        .await?,
    );
    auth.bootstrap(Some(ADMIN_TOKEN)).await?;
    let state = AppState {
        store: store.clone(),
        auth,
        workflow: workflow.clone(),
        config,
        metrics: Arc::new(Metrics::default()),
    };
    Ok(Fixture {
        _dir: dir,
        store,
        workflow,
        state,
        id: image.id,
    })
}

impl Fixture {
    async fn record_scan(&self) -> anyhow::Result<()> {
        let image = self.store.image(self.id).await?.context("the image")?;
        let mut tx = self.store.begin().await?;
        tx.put_scan(&ScanRecord {
            digest: image.digest,
            state: "done".to_owned(),
            started_at_ms: 1,
            finished_at_ms: 2,
            summary: None,
            report: Some(REPORT.to_owned()),
            error: None,
        })
        .await?;
        tx.commit().await?;
        self.workflow.decide(self.id).await?;
        Ok(())
    }

    /// `method path` through the router as the admin: status, headers, body.
    async fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> anyhow::Result<(StatusCode, axum::http::HeaderMap, String)> {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = portcullis_server::api::router(self.state.clone())
            .oneshot(request.body(Body::from(body.to_owned()))?)
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 16 << 20).await?;
        Ok((status, headers, String::from_utf8(bytes.to_vec())?))
    }
}

fn principal(name: &str, role: Role) -> Principal {
    Principal {
        name: name.to_owned(),
        kind: PrincipalKind::User,
        role,
        teams: Default::default(),
    }
}

fn codes(view: &portcullis_server::workflow::StageView) -> Vec<String> {
    view.platforms
        .iter()
        .flat_map(|p| p.decision.decision.codes())
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stage_is_decided_by_its_rules_and_approved_on_its_own() -> anyhow::Result<()> {
    let f = fixture().await?;
    let queued = f.store.image(f.id).await?.context("the image")?;
    // Before the scan: no outcome at any stage, and nothing to approve.
    let view = f.workflow.stage_view(&queued, Some("dev")).await?;
    ensure!(
        view.outcome.is_none() && view.platforms.is_empty(),
        "{view:?}"
    );
    let sec = principal("sec", Role::Security);
    let early = f
        .workflow
        .approve_at(f.id, &sec, "early", Some("dev"))
        .await;
    ensure!(
        early
            .as_ref()
            .is_err_and(|e| e.to_string().contains("once it is decided")),
        "{early:?}"
    );

    f.record_scan().await?;
    let image = f.store.image(f.id).await?.context("the image")?;
    ensure!(
        image.state == ImageState::AwaitingApproval && image.stage.as_deref() == Some("prod"),
        "{image:?}"
    );

    // The promotion stage: the stored decision, the same as evaluating it now.
    let prod = f.workflow.stage_view(&image, None).await?;
    ensure!(prod.stored && prod.stage == "prod" && prod.outcome == Some(Outcome::Nudge));
    ensure!(codes(&prod) == ["fixable-high"], "{:?}", codes(&prod));
    match f.workflow.evaluate_at(&image, "prod").await? {
        Evaluation::Decided { outcome, platforms } => {
            ensure!(outcome == Outcome::Nudge);
            ensure!(platforms == prod.platforms, "the evaluation drifted");
        }
        other => anyhow::bail!("{other:?}"),
    }
    // Other stages: evaluated under their own rules.
    let dev = f.workflow.stage_view(&image, Some("dev")).await?;
    ensure!(
        !dev.stored && dev.outcome == Some(Outcome::Nudge),
        "{dev:?}"
    );
    ensure!(codes(&dev) == ["urllib3-review"], "{:?}", codes(&dev));
    let test = f.workflow.stage_view(&image, Some("test")).await?;
    ensure!(test.outcome == Some(Outcome::Block), "{test:?}");
    match f.workflow.stage_view(&image, Some("qa")).await {
        Err(StageError::Unknown { stages, .. }) => ensure!(stages == ["dev", "test", "prod"]),
        other => anyhow::bail!("an unknown stage: {other:?}"),
    }

    // Approvals at a stage other than the promotion stage: only of a nudge, once, without
    // promoting.
    let blocked = f.workflow.approve_at(f.id, &sec, "ok", Some("test")).await;
    ensure!(
        blocked
            .as_ref()
            .is_err_and(|e| e.to_string().contains("blocks it there")),
        "{blocked:?}"
    );
    let empty = f.workflow.approve_at(f.id, &sec, "  ", Some("dev")).await;
    ensure!(
        empty
            .as_ref()
            .is_err_and(|e| e.to_string().contains("reason is required"))
    );
    let approved = f
        .workflow
        .approve_at(f.id, &sec, "urllib3 only in the health check", Some("dev"))
        .await?;
    ensure!(approved.state == ImageState::AwaitingApproval);
    let again = f
        .workflow
        .approve_at(f.id, &principal("admin", Role::Admin), "again", Some("dev"))
        .await;
    ensure!(
        again
            .as_ref()
            .is_err_and(|e| e.to_string().contains("already (by sec)")),
        "{again:?}"
    );
    let image = f.store.image(f.id).await?.context("the image")?;
    ensure!(image.state == ImageState::AwaitingApproval, "{image:?}");
    let approvals = f.store.approvals(f.id).await?;
    ensure!(
        approvals.len() == 1 && approvals[0].stage.as_deref() == Some("dev"),
        "{approvals:?}"
    );
    let dev = f.workflow.stage_view(&image, Some("dev")).await?;
    ensure!(
        dev.approval.as_ref().map(|a| a.approver.as_str()) == Some("sec"),
        "{dev:?}"
    );
    ensure!(
        f.workflow
            .stage_view(&image, None)
            .await?
            .approval
            .is_none()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_decision_api_and_the_approval_page_show_the_stage() -> anyhow::Result<()> {
    let f = fixture().await?;
    f.record_scan().await?;
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let auth = [("authorization", bearer.as_str())];
    let id = f.id;

    let (status, _, body) = f
        .http(
            "GET",
            &format!("/api/v1/images/{id}/decision?stage=dev"),
            &auth,
            "",
        )
        .await?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(status == StatusCode::OK, "{status} {body}");
    ensure!(
        v["stage"] == "dev"
            && v["promotionStage"] == "prod"
            && v["outcome"] == "nudge"
            && v["state"] == "awaiting_approval"
            && v["promoted"] == false
            && v["approval"].is_null()
            && v["platforms"][0]["decision"]["diagnostics"][0]["code"] == "urllib3-review"
            && v["permissions"]["approve"] == true,
        "{v}"
    );
    let (status, _, body) = f
        .http(
            "GET",
            &format!("/api/v1/images/{id}/decision?stage=qa"),
            &auth,
            "",
        )
        .await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && body.contains("dev, test, prod"),
        "{status} {body}"
    );
    let (status, _, body) = f
        .http("GET", &format!("/api/v1/images/{id}"), &auth, "")
        .await?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(
        status == StatusCode::OK
            && v["permissions"]["approve"] == true
            && v["links"]["approve"]
                .as_str()
                .is_some_and(|l| l.ends_with(&format!("/approve/{id}"))),
        "{v}"
    );

    // The page: escaped, no script, the diagnostics with fixed versions, the form.
    let (status, headers, page) = f.http("GET", &format!("/approve/{id}"), &auth, "").await?;
    ensure!(status == StatusCode::OK, "{status} {page}");
    ensure!(
        headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            == Some("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
    );
    ensure!(
        !page.contains("<script") && !page.contains("<img"),
        "{page}"
    );
    ensure!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{page}"
    );
    ensure!(
        page.contains("fixable-high") && page.contains("1.26.17"),
        "{page}"
    );
    ensure!(
        page.contains("<form method=\"post\" action=\"/approve/")
            && page.contains("name=\"stage\" value=\"prod\""),
        "{page}"
    );
    // Findings most severe first (in the findings table, after the diagnostics).
    let table = &page[page.find("<h3>Findings (4)</h3>").unwrap_or(0)..];
    let at = |needle: &str| table.find(needle).unwrap_or(usize::MAX);
    ensure!(
        at("CVE-2023-43804") < at("CVE-2023-39325") && at("CVE-2023-39325") < at("CVE-2024-2961"),
        "{page}"
    );
    ensure!(page.contains("version 1, updated by sec"), "{page}");

    // Without credentials: a Basic challenge.
    let (status, headers, _) = f.http("GET", &format!("/approve/{id}"), &[], "").await?;
    ensure!(
        status == StatusCode::UNAUTHORIZED
            && headers
                .get(header::WWW_AUTHENTICATE)
                .is_some_and(|v| v.as_bytes().starts_with(b"Basic"))
    );

    // Posts: only from this server's page, and with a reason.
    let form = [
        ("authorization", bearer.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
        ("host", "127.0.0.1:5000"),
    ];
    let path = format!("/approve/{id}");
    let (status, _, page) = f.http("POST", &path, &form, "stage=dev&reason=ok").await?;
    ensure!(
        status == StatusCode::FORBIDDEN && page.contains("use the API"),
        "{status} {page}"
    );
    let mut foreign = form.to_vec();
    foreign.push(("origin", "http://127.0.0.1:5001"));
    let (status, _, _) = f
        .http("POST", &path, &foreign, "stage=dev&reason=ok")
        .await?;
    ensure!(status == StatusCode::FORBIDDEN, "{status}");
    let mut own = form.to_vec();
    own.push(("referer", "http://127.0.0.1:5000/approve/1?stage=dev"));
    let (status, _, page) = f.http("POST", &path, &own, "stage=dev&reason=+").await?;
    ensure!(
        status == StatusCode::BAD_REQUEST && page.contains("reason is required"),
        "{status} {page}"
    );
    let (status, headers, _) = f
        .http(
            "POST",
            &path,
            &own,
            "stage=dev&reason=dev+only%3A+%3Cb%3Einternal%3C%2Fb%3E",
        )
        .await?;
    ensure!(
        status == StatusCode::SEE_OTHER
            && headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
                == Some(format!("/approve/{id}?stage=dev").as_str()),
        "{status} {headers:?}"
    );
    let (_, _, page) = f
        .http("GET", &format!("/approve/{id}?stage=dev"), &auth, "")
        .await?;
    ensure!(
        page.contains("approved by bootstrap-admin: dev only: &lt;b&gt;internal&lt;/b&gt;")
            && !page.contains("<form"),
        "{page}"
    );
    // The approval is listed with its stage; the image is still held.
    let (_, _, body) = f
        .http("GET", &format!("/api/v1/images/{id}/approvals"), &auth, "")
        .await?;
    let v: serde_json::Value = serde_json::from_str(&body)?;
    ensure!(v["approvals"][0]["stage"] == "dev", "{v}");
    let (status, _, page) = f
        .http("POST", &path, &own, "stage=dev&reason=again")
        .await?;
    ensure!(
        status == StatusCode::CONFLICT && page.contains("already"),
        "{status} {page}"
    );
    ensure!(f.store.image(id).await?.map(|i| i.state) == Some(ImageState::AwaitingApproval));
    Ok(())
}
