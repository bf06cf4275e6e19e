//! Images, their reports and approvals.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_auth::permissions;
use portcullis_store::workflow::{Approval, ImageFilter, ImageRecord, ImageState};
use portcullis_types::Principal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::error::ApiError;
use crate::workflow::{ApproveError, StageError, StageView, outcome_str};

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    team: Option<String>,
    state: Option<String>,
    repository: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/images`: newest first, only the caller's teams for developers.
pub async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let principal = state.principal(&headers).await?;
    let image_state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(ImageState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown state `{s}`; expected queued, scanning, promoted, awaiting_approval, rejected or failed"
            ))
        })?),
    };
    let teams = (principal.role == portcullis_types::Role::Developer)
        .then(|| principal.teams.iter().cloned().collect::<Vec<_>>());
    let images = state
        .store
        .images(&ImageFilter {
            team: q.team,
            teams,
            state: image_state,
            repository: q.repository,
            limit: q.limit.unwrap_or(100),
        })
        .await?;
    let mut out = Vec::new();
    for image in &images {
        out.push(describe(&state, &principal, image, false).await?);
    }
    Ok(Json(json!({ "images": out })))
}

pub async fn readable(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> Result<ImageRecord, ApiError> {
    let image = state
        .store
        .image(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("image {id} does not exist")))?;
    if !permissions::can_read_team(principal, &image.team) {
        // Not found rather than forbidden: other teams' images are not listed either.
        return Err(ApiError::not_found(format!("image {id} does not exist")));
    }
    Ok(image)
}

/// The image as the API shows it to `principal` (with what they may do with it); `full`
/// adds tags, platforms, approvals and the decision.
pub async fn describe(
    state: &AppState,
    principal: &Principal,
    image: &ImageRecord,
    full: bool,
) -> Result<Value, ApiError> {
    let mut v = json!({
        "id": image.id,
        "repository": image.repository,
        "digest": image.digest,
        "mediaType": image.media_type,
        "team": image.team,
        "app": image.app,
        "state": image.state.as_str(),
        "reason": image.reason,
        "stage": image.stage,
        "outcome": image.outcome,
        "pushedBy": image.pushed_by,
        "pushedAt": rfc3339(image.pushed_at_ms),
        "updatedAt": rfc3339(image.updated_at_ms),
        "decidedAt": image.decided_at_ms.map(rfc3339),
        "links": state.workflow.image_links(image),
        "permissions": { "approve": permissions::can_approve(principal, &image.team) },
    });
    if full {
        let tags = state.store.image_tags(image.id).await?;
        let children = state.store.image_children(image.id).await?;
        let approvals = state.store.approvals(image.id).await?;
        let mut summaries = Vec::new();
        let digests: Vec<String> = if children.is_empty() {
            vec![image.digest.clone()]
        } else {
            children.iter().map(|c| c.digest.clone()).collect()
        };
        for d in &digests {
            let scan = state.store.scan(d).await?;
            summaries.push(json!({
                "digest": d,
                "state": scan.as_ref().map(|s| s.state.clone()),
                "summary": scan.as_ref().and_then(|s| s.summary.as_deref()).and_then(|s| serde_json::from_str::<Value>(s).ok()),
                "error": scan.as_ref().and_then(|s| s.error.clone()),
            }));
        }
        let decision: Value = image
            .decision
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null);
        v["tags"] = json!(
            tags.iter()
                .map(|t| json!({
                    "tag": t.tag,
                    "pushedAt": rfc3339(t.pushed_at_ms),
                    "promotedAt": t.promoted_at_ms.map(rfc3339),
                }))
                .collect::<Vec<_>>()
        );
        v["platforms"] = json!(children);
        v["scans"] = json!(summaries);
        v["decision"] = decision;
        v["approvals"] = json!(approvals.iter().map(approval_json).collect::<Vec<_>>());
        v["promotedTo"] = match image.state {
            ImageState::Promoted => json!(crate::workflow::scanned_repository(
                &state.config,
                &image.repository
            )),
            _ => Value::Null,
        };
    }
    Ok(v)
}

/// `GET /api/v1/images/{id}`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let principal = state.principal(&headers).await?;
    let image = readable(&state, &principal, id).await?;
    Ok(Json(describe(&state, &principal, &image, true).await?))
}

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    repository: String,
    /// A tag or a digest.
    reference: String,
}

/// `GET /api/v1/images/lookup?repository=unscanned/a/app&reference=TAG|DIGEST`: the image a
/// push created (what `portcullis gate` follows).
pub async fn lookup(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> Result<Json<Value>, ApiError> {
    let principal = state.principal(&headers).await?;
    let digest = if q.reference.contains(':') && q.reference.starts_with("sha256:") {
        q.reference.parse().map_err(|_| {
            ApiError::bad_request(format!("`{}` is not a valid digest", q.reference))
        })?
    } else {
        state
            .store
            .manifest_by_tag(&q.repository, &q.reference)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "no image tagged `{}` in `{}`",
                    q.reference, q.repository
                ))
            })?
            .digest
    };
    let image = state
        .store
        .image_by_digest(&q.repository, &digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no image {digest} in `{}`", q.repository)))?;
    let image = readable(&state, &principal, image.id).await?;
    Ok(Json(describe(&state, &principal, &image, true).await?))
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// Which platform manifest of an index (its digest); the first when absent.
    platform: Option<String>,
}

pub async fn stored_report(
    state: &AppState,
    image: &ImageRecord,
    platform: Option<&str>,
) -> Result<portcullis_report::ScanReport, ApiError> {
    let children = state.store.image_children(image.id).await?;
    let digest = match platform {
        // The decision lists a single-platform image under its own digest.
        Some(p) if children.is_empty() && p == image.digest => image.digest.clone(),
        Some(p) => children
            .iter()
            .find(|c| c.digest == p || c.platform.as_deref() == Some(p))
            .map(|c| c.digest.clone())
            .ok_or_else(|| {
                ApiError::not_found(format!("image {} has no platform `{p}`", image.id))
            })?,
        None => children
            .first()
            .map_or_else(|| image.digest.clone(), |c| c.digest.clone()),
    };
    let scan = state.store.scan(&digest).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "{digest} has not been scanned yet (state: {})",
            image.state
        ))
    })?;
    let text = scan.report.ok_or_else(|| {
        ApiError::not_found(format!(
            "the scan of {digest} failed: {}",
            scan.error.unwrap_or_default()
        ))
    })?;
    let mut report: portcullis_report::ScanReport =
        serde_json::from_str(&text).map_err(ApiError::internal)?;
    report.image.reference = format!("{}@{}", image.repository, image.digest);
    // The decision for this platform, as the workflow took it.
    if let Some(decision) = image
        .decision
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|d| {
            d.get("platforms")?
                .as_array()?
                .iter()
                .find(|p| p.get("digest").and_then(Value::as_str) == Some(digest.as_str()))
                .and_then(|p| p.get("decision").cloned())
        })
    {
        report.decision = serde_json::from_value(decision).ok();
    }
    Ok(report)
}

/// `GET /api/v1/images/{id}/report`: the scan report (JSON, the scanner's format).
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Json<portcullis_report::ScanReport>, ApiError> {
    let principal = state.principal(&headers).await?;
    let image = readable(&state, &principal, id).await?;
    Ok(Json(
        stored_report(&state, &image, q.platform.as_deref()).await?,
    ))
}

/// `GET /reports/{id}`: the scanner's HTML report; browsers are asked for Basic credentials.
pub async fn report_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let principal = state.principal(&headers).await?;
    let image = readable(&state, &principal, id).await?;
    let report = stored_report(&state, &image, q.platform.as_deref()).await?;
    let html = portcullis_report::write(&report, portcullis_report::Format::Html)
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // The page's script filters rows; nothing else may run or load.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ),
        ],
        html,
    )
        .into_response())
}

/// `GET /api/v1/images/{id}/approvals`.
pub async fn approvals(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let principal = state.principal(&headers).await?;
    let image = readable(&state, &principal, id).await?;
    let approvals = state.store.approvals(image.id).await?;
    Ok(Json(
        json!({ "approvals": approvals.iter().map(approval_json).collect::<Vec<_>>() }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ApproveBody {
    reason: String,
    /// The stage approved at; the promotion stage when absent.
    #[serde(default)]
    stage: Option<String>,
}

/// `POST /api/v1/images/{id}/approvals` with `{"reason": …, "stage"?: …}`: security or
/// admin approve a nudged image; at the promotion stage it is then promoted, at another
/// stage the approval is recorded for that stage only.
pub async fn approve(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let principal = state.principal(&headers).await?;
    let image = readable(&state, &principal, id).await?;
    if !permissions::can_approve(&principal, &image.team) {
        return Err(ApiError::forbidden(format!(
            "{} may not approve images; ask someone with the security or admin role",
            permissions::describe(&principal)
        )));
    }
    match state
        .workflow
        .approve_at(id, &principal, &body.reason, body.stage.as_deref())
        .await
    {
        Ok(image) => Ok((
            StatusCode::CREATED,
            Json(describe(&state, &principal, &image, true).await?),
        )),
        Err(e) => Err(approve_error(e)),
    }
}

/// An approval refused by the workflow, as the API answers it.
pub fn approve_error(e: ApproveError) -> ApiError {
    match e {
        ApproveError::NoReason | ApproveError::UnknownStage { .. } => {
            ApiError::bad_request(e.to_string())
        }
        ApproveError::NotAwaiting { .. }
        | ApproveError::NotDecided { .. }
        | ApproveError::NotNudged { .. }
        | ApproveError::AlreadyApproved { .. }
        | ApproveError::Policy(_) => ApiError::conflict(e.to_string()),
        ApproveError::Unknown(_) => ApiError::not_found(e.to_string()),
        ApproveError::Store(_) | ApproveError::Promote(_) => ApiError::internal(e),
    }
}

/// An approval as the API shows it.
pub fn approval_json(a: &Approval) -> Value {
    json!({
        "approver": a.approver,
        "reason": a.reason,
        "at": rfc3339(a.at_ms),
        "stage": a.stage,
    })
}

#[derive(Debug, Deserialize)]
pub struct DecisionQuery {
    /// The stage to decide at; the promotion stage when absent.
    stage: Option<String>,
}

/// `GET /api/v1/images/{id}/decision?stage=S`: what the policy says at stage `S` (the
/// stored promotion decision at the stage the image was decided at, else an evaluation of
/// its stored scans under the current policies), with the approval given there.
pub async fn decision(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<DecisionQuery>,
) -> Result<Json<Value>, ApiError> {
    let principal = state.principal(&headers).await?;
    let image = readable(&state, &principal, id).await?;
    let stage = q.stage.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let view = state
        .workflow
        .stage_view(&image, stage)
        .await
        .map_err(stage_error)?;
    Ok(Json(decision_json(&state, &principal, &image, &view)))
}

/// A stage's decision refused, as the API answers it.
pub fn stage_error(e: StageError) -> ApiError {
    match e {
        StageError::Unknown { .. } => ApiError::bad_request(e.to_string()),
        StageError::Policy(_) => ApiError::conflict(e.to_string()),
        StageError::Store(e) => ApiError::internal(e),
    }
}

/// The decision at a stage as `GET /api/v1/images/{id}/decision` shows it.
pub fn decision_json(
    state: &AppState,
    principal: &Principal,
    image: &ImageRecord,
    view: &StageView,
) -> Value {
    let promoted = image.state == ImageState::Promoted;
    let mut links = state.workflow.image_links(image);
    links["approve"] = json!(format!(
        "{}/approve/{}?{}",
        state.config.external_url(),
        image.id,
        serde_urlencoded::to_string([("stage", view.stage.as_str())]).unwrap_or_default()
    ));
    links["decision"] = json!(format!(
        "{}/api/v1/images/{}/decision?{}",
        state.config.external_url(),
        image.id,
        serde_urlencoded::to_string([("stage", view.stage.as_str())]).unwrap_or_default()
    ));
    json!({
        "image": image.id,
        "repository": image.repository,
        "digest": image.digest,
        "stage": view.stage,
        "promotionStage": view.promotion_stage,
        "stored": view.stored,
        "state": image.state.as_str(),
        "outcome": view.outcome.map(outcome_str),
        "reason": view.reason,
        "platforms": view.platforms,
        "approval": view.approval.as_ref().map(approval_json),
        "promoted": promoted,
        "promotedTo": if promoted {
            json!(crate::workflow::scanned_repository(&state.config, &image.repository))
        } else {
            Value::Null
        },
        "permissions": { "approve": permissions::can_approve(principal, &image.team) },
        "links": links,
    })
}

/// Unix milliseconds as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
