//! The `hearth serve` child process behind a [`TestHost`](crate::TestHost), and plain
//! HTTP/1.1 to it.

use crate::TestError;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running `hearth serve`, killed (and its data deleted) when dropped.
pub struct Server {
    child: Child,
    /// Kept open: the server must never find its stdout closed.
    _stdout: BufReader<ChildStdout>,
    binary: PathBuf,
    url: String,
    operator: String,
    agent: ureq::Agent,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `hearth` binary to run: `$HEARTH_BIN`, else one beside the test executable's
/// directory (`target/<profile>/hearth` in a workspace that builds it), else `PATH`'s.
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("HEARTH_BIN") {
        return path.into();
    }
    let name = format!("hearth{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.parent()?.join(&name)));
    beside.filter(|path| path.is_file()).unwrap_or_else(|| name.into())
}

impl Server {
    /// Starts `hearth serve` on a free loopback port with a fresh data directory.
    pub fn start() -> Result<Server, TestError> {
        let binary = binary();
        let data = tempfile::tempdir()?;
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).map_err(|error| TestError::Server(error.to_string()))?;
        let operator = format!("hth_test_{}", secret.iter().map(|byte| format!("{byte:02x}")).collect::<String>());
        let mut child = Command::new(&binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--dev-allow-unsigned-packages"])
            .args(["--retry-backoff-ms", "1", "--retry-backoff-max-ms", "5", "--data"])
            .arg(data.path())
            .env("HEARTH_OPERATOR_TOKEN", &operator)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                TestError::Server(format!(
                    "cannot run {}: {error}; run the tests with `hearth plugin test`, or set HEARTH_BIN to the \
                     hearth binary",
                    binary.display()
                ))
            })?;
        let mut stdout = BufReader::new(child.stdout.take().ok_or_else(|| TestError::Server("no stdout".into()))?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let Some(address) = line.trim().strip_prefix("hearth listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(TestError::Server(format!("{} did not start: {line:?}", binary.display())));
        };
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Ok(Server { url: address.to_owned(), child, _stdout: stdout, binary, operator, agent, _data: data })
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn operator_token(&self) -> &str {
        &self.operator
    }

    pub fn binary(&self) -> &PathBuf {
        &self.binary
    }

    /// `hearth plugin build` of the crate: the component's path.
    pub fn build(&self, crate_dir: &Path) -> Result<PathBuf, TestError> {
        let output = Command::new(&self.binary).args(["plugin", "build", "--path"]).arg(crate_dir).output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.lines().last() {
            Some(path) if output.status.success() => Ok(PathBuf::from(path.trim())),
            _ => Err(TestError::Build(String::from_utf8_lossy(&output.stderr).into_owned())),
        }
    }

    /// One request: status and body.
    fn request(
        &self,
        method: &str,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Vec<u8>), TestError> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(body)
            .map_err(|error| TestError::Server(error.to_string()))?;
        let mut response =
            self.agent.run(request).map_err(|error| TestError::Server(format!("{method} {path}: {error}")))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|error| TestError::Server(format!("{method} {path}: {error}")))?;
        Ok((status, bytes))
    }

    /// A JSON request with `token`; an API error becomes [`TestError::Api`].
    pub fn json(&self, method: &str, path: &str, token: &str, body: Value) -> Result<Value, TestError> {
        let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        let (status, answer) = self.request(method, path, token, "application/json", bytes)?;
        answer_of(status, &answer)
    }

    /// A JSON request with the operator token.
    pub fn operator(&self, method: &str, path: &str, body: Value) -> Result<Value, TestError> {
        self.json(method, path, &self.operator, body)
    }

    /// Installs a component unsigned with its manifest.
    pub fn upload(&self, manifest: &str, component: &[u8]) -> Result<Value, TestError> {
        let boundary = "hearth-testing-boundary";
        let mut body = format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"manifest\"\r\n\r\n{manifest}\r\n--{boundary}\r\n\
             content-disposition: form-data; name=\"component\"; filename=\"plugin.wasm\"\r\n\
             content-type: application/wasm\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(component);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let (status, answer) = self.request("POST", "/v1/plugins", &self.operator, &content_type, body)?;
        answer_of(status, &answer)
    }

    /// A kv value through the development server's inspection route (`None`: absent).
    pub fn kv_value(&self, plugin: &str, query: &str) -> Result<Option<Vec<u8>>, TestError> {
        let path = format!("/v1/plugins/{plugin}/kv/value?{query}");
        let (status, answer) = self.request("GET", &path, &self.operator, "application/json", Vec::new())?;
        match status {
            200 => Ok(Some(answer)),
            404 if std::str::from_utf8(&answer).is_ok_and(|text| text.contains("has no key")) => Ok(None),
            _ => answer_of(status, &answer).map(|_| None),
        }
    }
}

fn answer_of(status: u16, answer: &[u8]) -> Result<Value, TestError> {
    let parsed = if answer.is_empty() { Ok(Value::Null) } else { serde_json::from_slice::<Value>(answer) };
    let value = parsed.as_ref().cloned().unwrap_or(Value::Null);
    if status >= 400 {
        let error = &value["error"];
        return Err(TestError::Api {
            status,
            code: error["code"].as_str().unwrap_or("error").to_owned(),
            message: error["message"]
                .as_str()
                .map_or_else(|| String::from_utf8_lossy(answer).into_owned(), str::to_owned),
        });
    }
    parsed.map_err(|_| TestError::NotJson(String::from_utf8_lossy(answer).into_owned()))
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
