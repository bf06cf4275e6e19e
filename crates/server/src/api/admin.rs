//! Policies, teams, users, tokens, webhooks, deliveries and the audit trail. Every change
//! commits together with its audit entry.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use portcullis_auth::{AuthError, NewTokenRequest, NewUserRequest, permissions};
use portcullis_store::audit::NewAuditEntry;
use portcullis_store::webhooks::{DeliveryId, DeliveryState, NewWebhook, WebhookError, WebhookId};
use portcullis_types::{Principal, Role};
use serde::Deserialize;
use serde_json::{Value, json};

use super::images::rfc3339;
use super::{ApiJson, ApiPath, ApiQuery, AppState};
use crate::error::ApiError;
use crate::policies;

fn auth_error(e: AuthError) -> ApiError {
    match &e {
        AuthError::InvalidName { .. }
        | AuthError::WeakPassword { .. }
        | AuthError::UnknownTeams(_) => ApiError::bad_request(e.to_string()),
        AuthError::NameTaken { .. } => ApiError::conflict(e.to_string()),
        AuthError::NotFound { .. } => ApiError::not_found(e.to_string()),
        _ => ApiError::internal(e),
    }
}

/// The audit entry of a user or token given `role` in `teams`.
fn grant_entry(
    actor: &str,
    action: &str,
    name: &str,
    role: Role,
    teams: &BTreeSet<String>,
) -> NewAuditEntry {
    NewAuditEntry::new(actor, action, name)
        .with_detail("role", role.as_str())
        .with_detail("teams", teams.iter().cloned().collect::<Vec<_>>())
}

async fn require(
    state: &AppState,
    headers: &HeaderMap,
    allowed: fn(&Principal) -> bool,
    what: &str,
) -> Result<Principal, ApiError> {
    let principal = state.principal(headers).await?;
    if !allowed(&principal) {
        return Err(ApiError::forbidden(format!(
            "{} may not {what}",
            permissions::describe(&principal)
        )));
    }
    Ok(principal)
}

/// `GET /api/v1/policies`: the stored documents (the default policy when none is stored).
pub async fn policies(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.principal(&headers).await?;
    let docs = state.store.policy_documents().await?;
    Ok(Json(json!({
        "promotionStage": state.config.promotion_stage,
        "documents": docs.iter().map(|d| json!({
            "name": d.name, "version": d.version, "updatedBy": d.updated_by, "updatedAt": rfc3339(d.updated_at_ms),
        })).collect::<Vec<_>>(),
        "defaultInUse": !docs.iter().any(|d| d.name == policies::ORGANISATION),
    })))
}

/// `GET /api/v1/policies/{name}`: one document, as stored.
pub async fn policy(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    state.principal(&headers).await?;
    match state.store.policy_document(&name).await? {
        Some(d) => Ok(Json(json!({
            "name": d.name, "document": d.document, "version": d.version,
            "updatedBy": d.updated_by, "updatedAt": rfc3339(d.updated_at_ms),
        }))),
        None if name == policies::ORGANISATION => Ok(Json(json!({
            "name": name, "document": policies::DEFAULT_POLICY, "version": 0, "updatedBy": "portcullis", "default": true,
        }))),
        None => Err(ApiError::not_found(format!(
            "no policy document `{name}` is stored"
        ))),
    }
}

/// `PUT /api/v1/policies/{name}` with the YAML document as the body: validated, stored,
/// audited. Security and admin only.
pub async fn put_policy(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(name): ApiPath<String>,
    body: String,
) -> Result<Json<Value>, ApiError> {
    let principal = require(
        &state,
        &headers,
        permissions::can_manage_policies,
        "change policies",
    )
    .await?;
    policies::validate(&state.store, &name, &body)
        .await
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-policy", e))?;
    let mut tx = state.store.begin().await?;
    let version = tx
        .put_policy_document(&name, &body, &principal.name)
        .await?;
    tx.append_audit(
        NewAuditEntry::new(&principal.name, "policy.updated", &name)
            .with_detail("version", version),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "name": name, "version": version })))
}

/// `GET /api/v1/teams`.
pub async fn teams(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.principal(&headers).await?;
    let teams = state.auth.list_teams().await.map_err(auth_error)?;
    Ok(Json(json!({ "teams": teams.iter().map(|t| json!({
        "name": t.name, "createdAt": rfc3339(t.created_at_ms),
    })).collect::<Vec<_>>() })))
}

#[derive(Debug, Deserialize)]
pub struct NewTeamBody {
    name: String,
}

/// `POST /api/v1/teams` `{"name": …}`: admins only.
pub async fn create_team(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewTeamBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let principal = require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "create teams",
    )
    .await?;
    let mut tx = state.store.begin().await?;
    state
        .auth
        .create_team(&mut tx, &body.name)
        .await
        .map_err(auth_error)?;
    tx.append_audit(NewAuditEntry::new(
        &principal.name,
        "team.created",
        &body.name,
    ))
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(json!({ "name": body.name }))))
}

/// `GET /api/v1/users`: admins only.
pub async fn users(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "list users",
    )
    .await?;
    let users = state.auth.list_users().await.map_err(auth_error)?;
    Ok(Json(json!({ "users": users.iter().map(|u| json!({
        "name": u.name, "role": u.role, "teams": u.teams, "createdAt": rfc3339(u.created_at_ms),
    })).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
pub struct NewUserBody {
    name: String,
    password: String,
    role: Role,
    #[serde(default)]
    teams: BTreeSet<String>,
}

impl std::fmt::Debug for NewUserBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserBody")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/users` `{"name", "password", "role", "teams"}`: admins only.
pub async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let principal = require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "create users",
    )
    .await?;
    let mut tx = state.store.begin().await?;
    let request = NewUserRequest {
        name: body.name.clone(),
        password: body.password,
        role: body.role,
        teams: body.teams.clone(),
    };
    state
        .auth
        .create_user(&mut tx, &request)
        .await
        .map_err(auth_error)?;
    tx.append_audit(grant_entry(
        &principal.name,
        "user.created",
        &body.name,
        body.role,
        &body.teams,
    ))
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "name": body.name, "role": body.role, "teams": body.teams })),
    ))
}

/// `GET /api/v1/tokens`: admins only; never the secrets.
pub async fn tokens(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "list tokens",
    )
    .await?;
    let tokens = state.auth.list_tokens(true).await.map_err(auth_error)?;
    Ok(Json(json!({ "tokens": tokens.iter().map(|t| json!({
        "id": t.id, "name": t.name, "role": t.role, "teams": t.teams,
        "expiresAt": t.expires_at_ms.map(rfc3339), "createdBy": t.created_by,
        "createdAt": rfc3339(t.created_at_ms), "lastUsedAt": t.last_used_at_ms.map(rfc3339),
        "revokedAt": t.revoked_at_ms.map(rfc3339),
    })).collect::<Vec<_>>() })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTokenBody {
    name: String,
    role: Role,
    #[serde(default)]
    teams: BTreeSet<String>,
    /// Lifetime in days; never expires when absent.
    expires_in_days: Option<u32>,
}

/// `POST /api/v1/tokens`: admins only; the answer holds the secret, shown once.
pub async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let principal = require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "create tokens",
    )
    .await?;
    let mut tx = state.store.begin().await?;
    let created = state
        .auth
        .create_token(
            &mut tx,
            &NewTokenRequest {
                name: body.name.clone(),
                role: body.role,
                teams: body.teams.clone(),
                expires_in: body
                    .expires_in_days
                    .map(|d| Duration::from_secs(u64::from(d) * 86_400)),
            },
            &principal.name,
        )
        .await
        .map_err(auth_error)?;
    tx.append_audit(grant_entry(
        &principal.name,
        "token.created",
        &body.name,
        body.role,
        &body.teams,
    ))
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": created.id, "name": created.name, "token": created.secret })),
    ))
}

/// `DELETE /api/v1/tokens/{name}`: revokes it at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let principal = require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "revoke tokens",
    )
    .await?;
    let mut tx = state.store.begin().await?;
    state
        .auth
        .revoke_token(&mut tx, &name)
        .await
        .map_err(auth_error)?;
    tx.append_audit(NewAuditEntry::new(&principal.name, "token.revoked", &name))
        .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/webhooks`: admins only; never the secrets.
pub async fn webhooks(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "list webhooks",
    )
    .await?;
    let hooks = state.store.webhooks().await?;
    Ok(Json(json!({ "webhooks": hooks.iter().map(|w| json!({
        "id": w.id.0, "name": w.name, "url": w.url, "eventTypes": w.event_types,
        "team": w.team, "active": w.active, "createdAt": rfc3339(w.created_at_ms),
    })).collect::<Vec<_>>() })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewWebhookBody {
    name: String,
    url: String,
    secret: String,
    #[serde(default)]
    event_types: Vec<String>,
    team: Option<String>,
}

/// `POST /api/v1/webhooks`: admins only.
pub async fn create_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewWebhookBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let principal = require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "create webhooks",
    )
    .await?;
    let known = portcullis_events::EventType::ALL.map(|t| t.as_str());
    if let Some(bad) = body
        .event_types
        .iter()
        .find(|t| !known.contains(&t.as_str()))
    {
        return Err(ApiError::bad_request(format!(
            "unknown event type `{bad}`; expected some of {}",
            known.join(", ")
        )));
    }
    let id = state
        .store
        .create_webhook(&NewWebhook {
            name: body.name.clone(),
            url: body.url.clone(),
            secret: body.secret,
            event_types: body.event_types,
            team: body.team,
        })
        .await
        .map_err(|e| match e {
            WebhookError::Store(e) => ApiError::internal(e),
            other => ApiError::bad_request(other.to_string()),
        })?;
    state
        .store
        .append_audit(
            NewAuditEntry::new(&principal.name, "webhook.created", &body.name)
                .with_detail("url", body.url),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id.0, "name": body.name })),
    ))
}

/// `DELETE /api/v1/webhooks/{id}`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let principal = require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "delete webhooks",
    )
    .await?;
    if !state.store.delete_webhook(WebhookId(id)).await? {
        return Err(ApiError::not_found(format!("webhook {id} does not exist")));
    }
    state
        .store
        .append_audit(NewAuditEntry::new(
            &principal.name,
            "webhook.deleted",
            id.to_string(),
        ))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct DeliveryQuery {
    state: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/v1/deliveries?state=failed`: what was (not) delivered, with the last error.
pub async fn deliveries(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<Value>, ApiError> {
    require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "list deliveries",
    )
    .await?;
    let filter = match q.state.as_deref() {
        None => None,
        Some(s) => Some(
            [
                DeliveryState::Pending,
                DeliveryState::Sending,
                DeliveryState::Delivered,
                DeliveryState::Failed,
            ]
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unknown delivery state `{s}`; expected pending, sending, delivered or failed"
                ))
            })?,
        ),
    };
    let list = state
        .store
        .deliveries(filter, q.limit.unwrap_or(100))
        .await?;
    Ok(Json(json!({ "deliveries": list.iter().map(|d| json!({
        "id": d.id.0, "webhook": d.webhook_name, "webhookId": d.webhook_id.0, "event": d.event_id.0,
        "type": d.event_type, "state": d.state.as_str(), "attempts": d.attempts,
        "nextAttemptAt": rfc3339(d.next_attempt_at_ms), "lastStatus": d.last_status,
        "lastError": d.last_error, "deliveredAt": d.delivered_at_ms.map(rfc3339),
    })).collect::<Vec<_>>() })))
}

/// `POST /api/v1/deliveries/{id}/redeliver`.
pub async fn redeliver(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    require(
        &state,
        &headers,
        permissions::can_manage_teams_and_tokens,
        "redeliver events",
    )
    .await?;
    if !state.store.redeliver(DeliveryId(id)).await? {
        return Err(ApiError::not_found(format!(
            "delivery {id} does not exist or is being sent"
        )));
    }
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/audit?after=SEQ&limit=N`: security and admin.
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    require(
        &state,
        &headers,
        permissions::can_read_audit,
        "read the audit log",
    )
    .await?;
    let entries = state
        .store
        .audit_entries(q.after, q.limit.unwrap_or(100).min(1000))
        .await?;
    Ok(Json(json!({ "entries": entries })))
}

/// `GET /api/v1/audit/verify`: walks the whole chain.
pub async fn audit_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require(
        &state,
        &headers,
        permissions::can_read_audit,
        "verify the audit log",
    )
    .await?;
    let verification = state.store.verify_audit(None).await?;
    Ok(Json(json!({
        "intact": verification.is_intact(),
        "verified": verification.verified,
        "head": verification.last_verified.as_ref().map(ToString::to_string),
        "problem": verification.problem.as_ref().map(ToString::to_string),
    })))
}
