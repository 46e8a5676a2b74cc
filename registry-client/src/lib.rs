//! A blocking client of a Hearth registry (`hearth-registry`): look a plugin up,
//! resolve a version requirement and download the package (checking its hash),
//! publish, register a publisher. The `hearth` CLI and `hearth serve --registry`
//! (for the console's upgrades) use it; both run it off any async runtime's workers.

#![deny(missing_docs)]

use hearth_package::package::{MAX_PACKAGE_BYTES, sha256_hex};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What went wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached or the exchange broke off.
    #[error("registry {url}: {message}")]
    Unreachable {
        /// The registry's address.
        url: String,
        /// What the HTTP client said.
        message: String,
    },
    /// The registry answered with an error.
    #[error("registry: {status} {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The registry's error code.
        code: String,
        /// The registry's message.
        message: String,
    },
    /// The registry's answer was not what its API promises (or a package's hash did
    /// not match the one it named).
    #[error("registry: {0}")]
    Invalid(String),
}

/// One published version of a plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Its semver version.
    pub version: String,
    /// Hex SHA-256 of the package file.
    pub package: String,
    /// Hex SHA-256 of its component.
    pub component: String,
    /// Withdrawn by its publisher: resolution skips it, pins still download it.
    pub yanked: bool,
    /// When it was published, ms since the epoch.
    pub published_ms: u64,
}

/// A plugin as the registry lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginRecord {
    /// Reverse-DNS id.
    pub id: String,
    /// Its publisher.
    pub publisher: String,
    /// One line.
    pub description: String,
    /// Every published version, oldest first.
    pub versions: Vec<VersionRecord>,
}

/// A version a requirement resolved to, with its package.
pub struct Resolved {
    /// The version.
    pub version: semver::Version,
    /// The package file; its SHA-256 is `hash`.
    pub package: Vec<u8>,
    /// Hex SHA-256 of `package`, as the registry named it.
    pub hash: String,
}

/// A registry at one base address.
pub struct Registry {
    agent: ureq::Agent,
    url: String,
}

impl Registry {
    /// A client of the registry at `url` (e.g. `http://127.0.0.1:7879`).
    pub fn new(url: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(60)))
            .build()
            .into();
        Registry { agent, url: url.trim_end_matches('/').to_owned() }
    }

    /// The registry's base address.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Vec<u8>, RegistryError> {
        let unreachable = |message: String| RegistryError::Unreachable { url: self.url.clone(), message };
        let mut request = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request =
            request.header("content-type", content_type).body(body).map_err(|error| unreachable(error.to_string()))?;
        let mut response = self.agent.run(request).map_err(|error| unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_PACKAGE_BYTES as u64 + 1)
            .read_to_vec()
            .map_err(|error| unreachable(error.to_string()))?;
        if status >= 400 {
            let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(RegistryError::Refused {
                status,
                code: error["error"]["code"].as_str().unwrap_or("error").to_owned(),
                message: error["error"]["message"]
                    .as_str()
                    .map_or_else(|| String::from_utf8_lossy(&bytes).into_owned(), str::to_owned),
            });
        }
        Ok(bytes)
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<T, RegistryError> {
        let bytes = self.call(method, path, token, content_type, body)?;
        serde_json::from_slice(&bytes).map_err(|error| RegistryError::Invalid(format!("{method} {path}: {error}")))
    }

    /// The plugin's record with every published version.
    pub fn plugin(&self, id: &str) -> Result<PluginRecord, RegistryError> {
        self.json("GET", &format!("/v1/plugins/{}", encode(id)), None, "application/json", Vec::new())
    }

    /// Resolves `requirement` for `id` and downloads the package, checking its hash.
    pub fn fetch(&self, id: &str, requirement: &semver::VersionReq) -> Result<Resolved, RegistryError> {
        let query = format!("/v1/plugins/{}/resolve?req={}", encode(id), encode(&requirement.to_string()));
        let found: Value = self.json("GET", &query, None, "application/json", Vec::new())?;
        let hash = found["package"].as_str().ok_or_else(|| RegistryError::Invalid("no package named".into()))?;
        let version = found["version"]
            .as_str()
            .and_then(|version| version.parse().ok())
            .ok_or_else(|| RegistryError::Invalid("no version named".into()))?;
        let package =
            self.call("GET", &format!("/v1/packages/{}", encode(hash)), None, "application/json", Vec::new())?;
        if sha256_hex(&package) != hash {
            return Err(RegistryError::Invalid(format!("the registry sent a package whose hash is not {hash}")));
        }
        Ok(Resolved { version, package, hash: hash.to_owned() })
    }

    /// Uploads a package (the publisher's token); answers the version record.
    pub fn publish(&self, token: &str, package: Vec<u8>) -> Result<VersionRecord, RegistryError> {
        self.json("POST", "/v1/packages", Some(token), "application/vnd.hearth.package", package)
    }

    /// Registers a publisher with its signing key (the registry's admin token);
    /// answers the registry's reply, which holds the publisher's upload token.
    pub fn register_publisher(&self, admin_token: &str, name: &str, key_hex: &str) -> Result<Value, RegistryError> {
        let body = serde_json::json!({ "name": name, "key": key_hex }).to_string().into_bytes();
        self.json("POST", "/v1/publishers", Some(admin_token), "application/json", body)
    }
}

/// Percent-encodes a path segment or query value (semver requirements hold `^`,
/// `>`, `,`, spaces).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
