//! Bearer tokens with a role and a scope, stored as SHA-256 hashes only.
//!
//! | role | scope | may |
//! | --- | --- | --- |
//! | operator | — | everything under `/v1` except the household and device views |
//! | device | a device id | send its events, call services, fetch its commands |
//! | user | a household id | see and answer its notifications and offers, grant and revoke, erase itself |
//! | partner | a publisher | read its own plugins' status, dead letters and statements |

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use hearth_host::HostError;
use hearth_host::storage::{Bucket, BucketExt, Storage, decode_json};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The appliance maker running the host.
    Operator,
    /// One appliance.
    Device,
    /// A household's app.
    User,
    /// A publisher of plugins.
    Partner,
}

/// A token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// `tok-` and hex; public.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// Device id, household id or publisher; empty for operators.
    pub scope: String,
    /// When it was made, ms since the epoch.
    pub created_ms: u64,
    /// Revoked tokens are refused.
    pub revoked: bool,
    /// After this time the token is refused; `None` never expires.
    #[serde(default)]
    pub expires_ms: Option<u64>,
}

/// The token store (buckets `tokens`: hash → record, `token-ids`: id → hash).
#[derive(Clone)]
pub struct Tokens {
    storage: Arc<dyn Storage>,
    by_hash: Arc<dyn Bucket>,
    by_id: Arc<dyn Bucket>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> Result<String, HostError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| HostError::Engine(format!("no randomness for a token: {error}")))?;
    Ok(hex::encode(buffer))
}

impl Tokens {
    /// Opens the buckets.
    pub fn open(storage: Arc<dyn Storage>) -> Result<Self, HostError> {
        Ok(Tokens { by_hash: storage.bucket("tokens")?, by_id: storage.bucket("token-ids")?, storage })
    }

    /// Creates a token that does not expire; returns its record and the secret (shown once).
    pub async fn create(&self, role: Role, scope: &str) -> Result<(TokenRecord, String), HostError> {
        self.create_expiring(role, scope, None).await
    }

    /// Creates a token valid for `ttl` (forever when `None`).
    pub async fn create_expiring(
        &self,
        role: Role,
        scope: &str,
        ttl: Option<std::time::Duration>,
    ) -> Result<(TokenRecord, String), HostError> {
        if (role == Role::Operator) != scope.is_empty() {
            return Err(HostError::InvalidInput("operator tokens have no scope; every other role needs one".into()));
        }
        let secret = format!("hth_{}", random_hex(24)?);
        let expires_ms = ttl.map(|ttl| hearth_host::clock::now_ms().saturating_add(ttl.as_millis() as u64));
        let record = self.store(&secret, role, scope, expires_ms).await?;
        Ok((record, secret))
    }

    /// Stores a new live token for `secret` (its hash only).
    async fn store(
        &self,
        secret: &str,
        role: Role,
        scope: &str,
        expires_ms: Option<u64>,
    ) -> Result<TokenRecord, HostError> {
        let record = TokenRecord {
            id: format!("tok-{}", random_hex(6)?),
            role,
            scope: scope.to_owned(),
            created_ms: hearth_host::clock::now_ms(),
            revoked: false,
            expires_ms,
        };
        let digest = hash(secret);
        self.by_hash.put_json(digest.as_bytes(), &record)?;
        self.by_id.put(record.id.as_bytes(), digest.as_bytes())?;
        self.storage.flush().await?;
        Ok(record)
    }

    /// Creates the first operator token when the store is empty (first start).
    pub async fn bootstrap_operator(&self) -> Result<Option<String>, HostError> {
        if !self.by_hash.keys(b"")?.is_empty() {
            return Ok(None);
        }
        self.create(Role::Operator, "").await.map(|(_, secret)| Some(secret))
    }

    /// Registers a given secret as an operator token (automation), if not known yet.
    pub async fn import_operator(&self, secret: &str) -> Result<(), HostError> {
        if secret.len() < 20 {
            return Err(HostError::InvalidInput("an operator token must be at least 20 characters".into()));
        }
        if self.by_hash.get(hash(secret).as_bytes())?.is_none() {
            self.store(secret, Role::Operator, "", None).await?;
        }
        Ok(())
    }

    /// Revokes a token by id; returns whether it existed.
    pub async fn revoke(&self, id: &str) -> Result<bool, HostError> {
        let Some(digest) = self.by_id.value(id.as_bytes())? else {
            return Ok(false);
        };
        let Some(mut record) = self.by_hash.get_json::<TokenRecord>(&digest)? else {
            return Ok(false);
        };
        record.revoked = true;
        self.by_hash.put_json(&digest, &record)?;
        self.storage.flush().await?;
        Ok(true)
    }

    /// Deletes every token scoped to one of `scopes` (an erased household and its
    /// devices): the records name the scope, so revoking is not enough.
    pub async fn erase_scopes(&self, scopes: &[&str]) -> Result<usize, HostError> {
        let mut erased = 0;
        for (digest, stored) in self.by_hash.scan(b"")? {
            let record: TokenRecord = decode_json(&stored.value)?;
            if scopes.contains(&record.scope.as_str()) {
                self.by_id.delete(record.id.as_bytes())?;
                self.by_hash.delete(&digest)?;
                erased += 1;
            }
        }
        self.storage.flush().await?;
        Ok(erased)
    }

    /// The live token behind a presented secret: not revoked, not expired.
    pub fn verify(&self, secret: &str) -> Result<Option<TokenRecord>, HostError> {
        let Some(bytes) = self.by_hash.value(hash(secret).as_bytes())? else {
            return Ok(None);
        };
        let record: TokenRecord =
            serde_json::from_slice(&bytes).map_err(|error| HostError::Corrupt(format!("token: {error}")))?;
        let expired = record.expires_ms.is_some_and(|expires| expires <= hearth_host::clock::now_ms());
        Ok((!record.revoked && !expired).then_some(record))
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal(pub TokenRecord);

impl Principal {
    /// The scope if the caller has `role`, else 403.
    pub fn require(&self, role: Role) -> Result<&str, ApiError> {
        if self.0.role == role {
            Ok(&self.0.scope)
        } else {
            Err(ApiError::forbidden(format!("this route is for {role:?} tokens").to_lowercase()))
        }
    }
}

impl FromRequestParts<crate::ApiState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::ApiState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        // The scheme is case-insensitive (RFC 7235).
        let secret = header
            .to_str()
            .ok()
            .and_then(|value| value.trim_start().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret)
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <token>`"))?;
        let record = state
            .tokens
            .verify(secret.trim())?
            .ok_or_else(|| ApiError::unauthorized("unknown, revoked or expired token"))?;
        state.rate_limit.admit(&record.id)?;
        Ok(Principal(record))
    }
}
