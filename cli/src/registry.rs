//! A client of a Hearth registry (`hearth-registry`): resolve, download, publish.

use anyhow::{Context as _, bail};
use hearth_package::package::sha256_hex;
use serde_json::Value;

pub struct Registry {
    agent: ureq::Agent,
    url: String,
}

/// A version a requirement resolved to.
pub struct Resolved {
    pub version: semver::Version,
    pub package: Vec<u8>,
}

impl Registry {
    pub fn new(url: &str) -> Self {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Registry { agent, url: url.trim_end_matches('/').to_owned() }
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> anyhow::Result<(u16, Vec<u8>)> {
        self.call_as(method, path, token, "application/vnd.hearth.package", body)
    }

    fn call_as(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut request = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.header("content-type", content_type).body(body)?;
        let mut response = self.agent.run(request).with_context(|| format!("{method} {}{path}", self.url))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(hearth_package::package::MAX_PACKAGE_BYTES as u64 + 1)
            .read_to_vec()?;
        if status >= 400 {
            let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            bail!(
                "registry: {status} {}: {}",
                error["error"]["code"].as_str().unwrap_or("error"),
                error["error"]["message"].as_str().unwrap_or(&String::from_utf8_lossy(&bytes))
            );
        }
        Ok((status, bytes))
    }

    fn json(&self, method: &str, path: &str, token: Option<&str>, body: Vec<u8>) -> anyhow::Result<Value> {
        let (_, bytes) = self.call(method, path, token, body)?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// Resolves `id@requirement` and downloads the package, checking its hash.
    pub fn fetch(&self, id: &str, requirement: &str) -> anyhow::Result<Resolved> {
        let requirement: semver::VersionReq =
            requirement.parse().with_context(|| format!("{requirement:?} is not a version requirement"))?;
        let query = format!("/v1/plugins/{id}/resolve?req={}", encode(&requirement.to_string()));
        let found = self.json("GET", &query, None, Vec::new())?;
        let hash = found["package"].as_str().context("the registry named no package")?.to_owned();
        let version: semver::Version = found["version"].as_str().context("the registry named no version")?.parse()?;
        eprintln!("resolved {id}@{requirement} to {version}; downloading …");
        let (_, package) = self.call("GET", &format!("/v1/packages/{hash}"), None, Vec::new())?;
        if sha256_hex(&package) != hash {
            bail!("the registry sent a package whose hash is not {hash}");
        }
        Ok(Resolved { version, package })
    }

    pub fn publish(&self, token: &str, package: Vec<u8>) -> anyhow::Result<Value> {
        self.json("POST", "/v1/packages", Some(token), package)
    }

    /// Registers a publisher with its signing key (the registry's admin token);
    /// answers the publisher's upload token.
    pub fn register_publisher(&self, admin_token: &str, name: &str, key_hex: &str) -> anyhow::Result<Value> {
        let body = serde_json::json!({ "name": name, "key": key_hex }).to_string().into_bytes();
        let (_, bytes) = self.call_as("POST", "/v1/publishers", Some(admin_token), "application/json", body)?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// Percent-encodes a query value (semver requirements hold `^`, `>`, `,`, spaces).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
