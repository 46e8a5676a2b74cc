//! Building a plugin crate into its component, as `hearth plugin build` and the SDK's
//! test harness do: release, wasm32-wasip2, into `<target>/plugins`, small (no debug
//! info, stripped).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a build failed, with cargo's own output.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(String);

impl From<std::io::Error> for BuildError {
    fn from(error: std::io::Error) -> Self {
        BuildError(format!("running cargo: {error}"))
    }
}

/// Builds the plugin crate in `crate_dir` for wasm32-wasip2 (release) into
/// `<target>/plugins` and returns the component's path.
pub fn build_component(crate_dir: &Path) -> Result<PathBuf, BuildError> {
    let cargo_toml = std::fs::read_to_string(crate_dir.join("Cargo.toml"))?;
    let package: toml::Table = cargo_toml.parse().map_err(|error| BuildError(format!("Cargo.toml: {error}")))?;
    let name = package
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(|name| name.as_str())
        .ok_or_else(|| BuildError("Cargo.toml has no package name".into()))?
        .to_owned();
    let target_dir = target_dir(crate_dir)?.join("plugins");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(crate_dir)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        .args(["--package", &name])
        // Plugins are shipped, not debugged in place: keep them small.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        // Flags meant for the native test build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .output()?;
    if !output.status.success() {
        return Err(BuildError(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let component = target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", name.replace('-', "_")));
    if !component.exists() {
        return Err(BuildError(format!("{} was not built; is the crate a `cdylib`?", component.display())));
    }
    Ok(component)
}

/// The target directory cargo uses for the crate (`CARGO_TARGET_DIR` or its workspace's).
fn target_dir(crate_dir: &Path) -> Result<PathBuf, BuildError> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output =
        Command::new(cargo).current_dir(crate_dir).args(["metadata", "--no-deps", "--format-version", "1"]).output()?;
    if !output.status.success() {
        return Err(BuildError(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|error| BuildError(format!("cargo metadata: {error}")))?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| BuildError("cargo metadata names no target directory".into()))
}
