//! The SDK this binary carries: `hearth-sdk`, `hearth-testing` and the WIT of the
//! version the binary was built from, written to a cache directory on first use so
//! that a plugin made by `hearth plugin new` builds anywhere, with nothing but this
//! binary and a Rust toolchain. Their manifests are made standalone (the workspace's
//! inherited versions and dependencies written in).

use anyhow::Context as _;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/sdk_sources.rs"));

/// The workspace manifest the SDK's manifests inherit from.
const WORKSPACE_MANIFEST: &str = include_str!("../../Cargo.toml");

/// The `sdk` directory of the unpacked SDK (its `testing` crate inside, `wit/` beside
/// it), written once per content: `$HEARTH_CACHE_DIR`, else `$XDG_CACHE_HOME/hearth`,
/// else `~/.cache/hearth`.
pub fn unpack() -> anyhow::Result<PathBuf> {
    let mut all = Vec::new();
    for (path, bytes) in FILES {
        all.extend_from_slice(path.as_bytes());
        all.extend_from_slice(bytes);
    }
    let digest = hearth_package::package::sha256_hex(&all);
    let cache = cache_dir()?;
    let root = cache.join(format!("sdk-{}-{}", env!("CARGO_PKG_VERSION"), &digest[..12]));
    if root.join("sdk/Cargo.toml").is_file() {
        return Ok(root.join("sdk"));
    }
    std::fs::create_dir_all(&cache).with_context(|| format!("creating {}", cache.display()))?;
    // Written aside and renamed into place: a reader never sees half an SDK.
    let staging = tempfile::tempdir_in(&cache)?;
    for (path, bytes) in FILES {
        let target = staging.path().join(path);
        std::fs::create_dir_all(target.parent().context("a file has a directory")?)?;
        if path.ends_with("Cargo.toml") {
            std::fs::write(&target, standalone(std::str::from_utf8(bytes)?)?)?;
        } else {
            std::fs::write(&target, bytes)?;
        }
    }
    let staged = staging.keep();
    if std::fs::rename(&staged, &root).is_err() {
        // Another process unpacked the same SDK first.
        let _ = std::fs::remove_dir_all(&staged);
    }
    Ok(root.join("sdk"))
}

fn cache_dir() -> anyhow::Result<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("HEARTH_CACHE_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return Ok(dir.join("hearth"));
    }
    let home = var("HOME").context("no cache directory: set HEARTH_CACHE_DIR")?;
    Ok(home.join(".cache/hearth"))
}

/// A member's manifest with what it inherits from the workspace written in, and no
/// workspace lints.
fn standalone(manifest: &str) -> anyhow::Result<String> {
    let workspace: toml::Table = WORKSPACE_MANIFEST.parse()?;
    let inherited =
        |section: &str| workspace.get("workspace").and_then(|w| w.get(section)).and_then(toml::Value::as_table);
    let (package_fields, dependencies) = (inherited("package"), inherited("dependencies"));
    let mut manifest: toml::Table = manifest.parse()?;
    manifest.remove("lints");
    if let Some(package) = manifest.get_mut("package").and_then(toml::Value::as_table_mut) {
        for (key, value) in package.iter_mut() {
            if is_inherited(value) {
                *value = package_fields
                    .and_then(|fields| fields.get(key))
                    .cloned()
                    .with_context(|| format!("package.{key}"))?;
            }
        }
    }
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(deps) = manifest.get_mut(section).and_then(toml::Value::as_table_mut) else { continue };
        for (name, value) in deps.iter_mut() {
            if !is_inherited(value) {
                continue;
            }
            let base = dependencies.and_then(|deps| deps.get(name)).with_context(|| format!("dependency {name}"))?;
            let mut merged = match base {
                toml::Value::String(version) => {
                    toml::Table::from_iter([("version".to_owned(), version.clone().into())])
                }
                toml::Value::Table(table) => table.clone(),
                _ => anyhow::bail!("dependency {name}: neither a version nor a table"),
            };
            if let Some(own) = value.as_table() {
                for (key, extra) in own.iter().filter(|(key, _)| *key != "workspace") {
                    let features = merged.get("features").and_then(toml::Value::as_array).cloned();
                    match (key.as_str(), features, extra.as_array()) {
                        ("features", Some(mut features), Some(more)) => {
                            features.extend(more.iter().cloned());
                            merged.insert(key.clone(), features.into());
                        }
                        _ => {
                            merged.insert(key.clone(), extra.clone());
                        }
                    }
                }
            }
            *value = merged.into();
        }
    }
    Ok(toml::to_string(&manifest)?)
}

fn is_inherited(value: &toml::Value) -> bool {
    value.get("workspace").and_then(toml::Value::as_bool) == Some(true)
}

/// Whether `dir` holds an unpacked SDK (for messages).
pub fn is_sdk(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("testing/Cargo.toml").is_file()
}
