//! Bearer tokens with a role and a scope, stored as SHA-256 hashes only.
//!
//! | role | scope | may |
//! | --- | --- | --- |
//! | operator | — | everything under `/v1` except the household and device views |
//! | device | a device id | send its events, call services, fetch its commands |
//! | user | a household id | see and answer its notifications and offers, grant and revoke, erase itself |
//! | partner | a publisher | read its own plugins' status, dead letters and statements |

use super::error::ApiError;
use crate::HostError;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Device,
    User,
    Partner,
}

/// A token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub role: Role,
    /// Device id, household id or publisher; empty for operators.
    pub scope: String,
    pub created_ms: u64,
    pub revoked: bool,
    /// After this time the token is refused; `None` never expires.
    #[serde(default)]
    pub expires_ms: Option<u64>,
}

/// The token store (sled trees `tokens`: hash → record, `token-ids`: id → hash).
#[derive(Debug, Clone)]
pub struct Tokens {
    by_hash: sled::Tree,
    by_id: sled::Tree,
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
    pub fn open(db: &sled::Db) -> Result<Self, HostError> {
        Ok(Tokens { by_hash: db.open_tree("tokens")?, by_id: db.open_tree("token-ids")? })
    }

    /// Creates a token that does not expire; returns its record and the secret (shown once).
    pub fn create(&self, role: Role, scope: &str) -> Result<(TokenRecord, String), HostError> {
        self.create_expiring(role, scope, None)
    }

    /// Creates a token valid for `ttl` (forever when `None`).
    pub fn create_expiring(
        &self,
        role: Role,
        scope: &str,
        ttl: Option<std::time::Duration>,
    ) -> Result<(TokenRecord, String), HostError> {
        if (role == Role::Operator) != scope.is_empty() {
            return Err(HostError::InvalidInput("operator tokens have no scope; every other role needs one".into()));
        }
        let secret = format!("hth_{}", random_hex(24)?);
        let expires_ms = ttl.map(|ttl| crate::clock::now_ms().saturating_add(ttl.as_millis() as u64));
        let record = self.store(&secret, role, scope, expires_ms)?;
        Ok((record, secret))
    }

    /// Stores a new live token for `secret` (its hash only).
    fn store(&self, secret: &str, role: Role, scope: &str, expires_ms: Option<u64>) -> Result<TokenRecord, HostError> {
        let record = TokenRecord {
            id: format!("tok-{}", random_hex(6)?),
            role,
            scope: scope.to_owned(),
            created_ms: crate::clock::now_ms(),
            revoked: false,
            expires_ms,
        };
        let digest = hash(secret);
        let bytes = serde_json::to_vec(&record).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.by_hash.insert(digest.as_bytes(), bytes)?;
        self.by_id.insert(record.id.as_bytes(), digest.as_bytes())?;
        self.by_hash.flush()?;
        Ok(record)
    }

    /// Creates the first operator token when the store is empty (first start).
    pub fn bootstrap_operator(&self) -> Result<Option<String>, HostError> {
        if !self.by_hash.is_empty() {
            return Ok(None);
        }
        self.create(Role::Operator, "").map(|(_, secret)| Some(secret))
    }

    /// Registers a given secret as an operator token (automation), if not known yet.
    pub fn import_operator(&self, secret: &str) -> Result<(), HostError> {
        if secret.len() < 20 {
            return Err(HostError::InvalidInput("an operator token must be at least 20 characters".into()));
        }
        if !self.by_hash.contains_key(hash(secret).as_bytes())? {
            self.store(secret, Role::Operator, "", None)?;
        }
        Ok(())
    }

    /// Revokes a token by id; returns whether it existed.
    pub fn revoke(&self, id: &str) -> Result<bool, HostError> {
        let Some(digest) = self.by_id.get(id.as_bytes())? else {
            return Ok(false);
        };
        let Some(bytes) = self.by_hash.get(&digest)? else {
            return Ok(false);
        };
        let mut record: TokenRecord =
            serde_json::from_slice(&bytes).map_err(|error| HostError::Corrupt(format!("token: {error}")))?;
        record.revoked = true;
        let bytes = serde_json::to_vec(&record).map_err(|error| HostError::Corrupt(error.to_string()))?;
        self.by_hash.insert(digest, bytes)?;
        self.by_hash.flush()?;
        Ok(true)
    }

    /// Deletes every token scoped to one of `scopes` (an erased household and its
    /// devices): the records name the scope, so revoking is not enough.
    pub fn erase_scopes(&self, scopes: &[&str]) -> Result<usize, HostError> {
        let mut erased = 0;
        for entry in self.by_hash.iter() {
            let (digest, bytes) = entry?;
            let record: TokenRecord =
                serde_json::from_slice(&bytes).map_err(|error| HostError::Corrupt(format!("token: {error}")))?;
            if scopes.contains(&record.scope.as_str()) {
                self.by_id.remove(record.id.as_bytes())?;
                self.by_hash.remove(digest)?;
                erased += 1;
            }
        }
        self.by_hash.flush()?;
        Ok(erased)
    }

    /// The live token behind a presented secret: not revoked, not expired.
    pub fn verify(&self, secret: &str) -> Result<Option<TokenRecord>, HostError> {
        let Some(bytes) = self.by_hash.get(hash(secret).as_bytes())? else {
            return Ok(None);
        };
        let record: TokenRecord =
            serde_json::from_slice(&bytes).map_err(|error| HostError::Corrupt(format!("token: {error}")))?;
        let expired = record.expires_ms.is_some_and(|expires| expires <= crate::clock::now_ms());
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

impl FromRequestParts<super::ApiState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &super::ApiState) -> Result<Self, ApiError> {
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
