//! Revenue share, for operators: the agreement per publisher and any publisher's
//! monthly statement (a partner reads its own under `/v1/partner/statements`).

use crate::error::ApiError;
use crate::roles::Operator;
use crate::views::AuthErrors;
use crate::{ApiJson, ApiState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hearth_host::commerce::ledger::{DEFAULT_PUBLISHER_BP, Statement};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The revenue routes.
pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(set_agreement)).routes(routes!(agreements)).routes(routes!(statement))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Agreement {
    publisher_bp: u32,
}

/// One publisher's share.
#[derive(Serialize, ToSchema)]
pub struct AgreementView {
    /// The publisher.
    pub publisher: String,
    /// Its share of gross, in basis points.
    pub publisher_bp: u32,
}

/// `GET /v1/agreements`.
#[derive(Serialize, ToSchema)]
pub struct Agreements {
    /// The share of a publisher without an agreement, in basis points.
    pub default_bp: u32,
    /// By publisher.
    pub agreements: Vec<AgreementView>,
}

#[utoipa::path(put, path = "/v1/agreements/{publisher}", request_body = Agreement, tag = "operator", responses((status = 204, description = "Set"), AuthErrors))]
async fn set_agreement(
    State(state): State<ApiState>,
    operator: Operator,
    Path(publisher): Path<String>,
    ApiJson(agreement): ApiJson<Agreement>,
) -> Result<StatusCode, ApiError> {
    operator.audit(&state, "agreement.set", &format!("{publisher} {}", agreement.publisher_bp)).await?;
    state.host.set_agreement(&publisher, agreement.publisher_bp)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/agreements", tag = "operator", responses((status = 200, body = Agreements, description = "Every agreement"), AuthErrors))]
async fn agreements(State(state): State<ApiState>, _: Operator) -> Result<Json<Agreements>, ApiError> {
    let agreements = state
        .host
        .agreements()?
        .into_iter()
        .map(|(publisher, publisher_bp)| AgreementView { publisher, publisher_bp })
        .collect();
    Ok(Json(Agreements { default_bp: DEFAULT_PUBLISHER_BP, agreements }))
}

#[utoipa::path(get, path = "/v1/statements/{publisher}/{month}", tag = "operator", responses((status = 200, body = Statement, description = "The publisher's statement for the month"), AuthErrors, (status = 400, description = "Not a month YYYY-MM from 1970-01")))]
async fn statement(
    State(state): State<ApiState>,
    _: Operator,
    Path((publisher, month)): Path<(String, String)>,
) -> Result<Json<Statement>, ApiError> {
    check_month(&month)?;
    Ok(Json(state.host.statement(&publisher, &month)?))
}

/// 400 unless `month` is `YYYY-MM` from 1970-01 to 9999-12.
pub(crate) fn check_month(month: &str) -> Result<(), ApiError> {
    let parsed = month
        .split_once('-')
        .filter(|(year, number)| year.len() == 4 && number.len() == 2)
        .and_then(|(year, number)| Some((year.parse::<u16>().ok()?, number.parse::<u8>().ok()?)));
    if parsed.is_some_and(|(year, number)| (1970..=9999).contains(&year) && (1..=12).contains(&number)) {
        Ok(())
    } else {
        Err(ApiError::bad_request("months are YYYY-MM, from 1970-01"))
    }
}
