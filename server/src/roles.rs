//! One extractor per role. A handler names the role it serves in its signature and
//! cannot be written without it: the extractor authenticates the bearer token and
//! answers 403 to any other role before the handler runs.

use crate::ApiState;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// An operator; every state-changing action it takes is audited first.
pub struct Operator(pub Principal);

/// A device, by id.
pub struct DeviceCaller(pub String);

/// A household's user, by household id.
pub struct Household(pub String);

/// A partner, by publisher.
pub struct Partner(pub String);

/// A device or a household calling an ecosystem service.
pub struct ServiceCaller(pub Principal);

impl Operator {
    /// Records the action it is about to take, durably, before it is carried out.
    pub async fn audit(&self, state: &ApiState, action: &str, target: &str) -> Result<(), ApiError> {
        state.audit.record(&self.0.0.id, action, target).await?;
        Ok(())
    }
}

async fn principal(parts: &mut Parts, state: &ApiState) -> Result<Principal, ApiError> {
    Principal::from_request_parts(parts, state).await
}

impl FromRequestParts<ApiState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let who = principal(parts, state).await?;
        who.require(Role::Operator)?;
        Ok(Operator(who))
    }
}

impl FromRequestParts<ApiState> for DeviceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Ok(DeviceCaller(principal(parts, state).await?.require(Role::Device)?.to_owned()))
    }
}

impl FromRequestParts<ApiState> for Household {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Ok(Household(principal(parts, state).await?.require(Role::User)?.to_owned()))
    }
}

impl FromRequestParts<ApiState> for Partner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        Ok(Partner(principal(parts, state).await?.require(Role::Partner)?.to_owned()))
    }
}

impl FromRequestParts<ApiState> for ServiceCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let who = principal(parts, state).await?;
        match who.0.role {
            Role::Device | Role::User => Ok(ServiceCaller(who)),
            _ => Err(ApiError::forbidden("services are called by devices and households")),
        }
    }
}
