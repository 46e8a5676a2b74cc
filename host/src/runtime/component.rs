//! Turning uploaded bytes into a loadable [`Component`]: checks that say what is
//! wrong with a bad file, and the compiled-artifact cache that makes a restart
//! skip Cranelift.

use crate::HostError;
use crate::bindings::{WIT_VERSIONS, handler_interface, wit_version_of};
use crate::storage::{Bucket, BucketExt};
use sha2::{Digest, Sha256};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::Engine;
use wasmtime::component::{Component, types::ComponentItem};

/// Largest component a host accepts unless configured otherwise
/// ([`HostConfig::max_component_bytes`](crate::HostConfig::max_component_bytes)).
pub const DEFAULT_MAX_COMPONENT_BYTES: usize = hearth_package::package::DEFAULT_MAX_COMPONENT_BYTES;

const WASM_MAGIC: &[u8; 4] = b"\0asm";
const CORE_MODULE_VERSION: [u8; 4] = [1, 0, 0, 0];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0, 1, 0];

/// Hex SHA-256 of a component's bytes: its identity in the store and the cache.
pub fn content_hash(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Refuses what cannot be a plugin (or is over `max_bytes`) before any compilation
/// is spent on it.
pub fn check_bytes(bytes: &[u8], max_bytes: usize) -> Result<(), HostError> {
    let invalid = |reason: String| Err(HostError::InvalidComponent(reason));
    if bytes.len() > max_bytes {
        return invalid(format!(
            "component is {} bytes; this host accepts at most {max_bytes} (hearth serve --max-component-mb)",
            bytes.len()
        ));
    }
    if bytes.len() < 8 || &bytes[..4] != WASM_MAGIC {
        return invalid("not a WebAssembly file (it does not start with \\0asm)".into());
    }
    match <[u8; 4]>::try_from(&bytes[4..8]) {
        Ok(CORE_MODULE_VERSION) => invalid(
            "this is a core WebAssembly module, not a component; build the plugin for the \
             wasm32-wasip2 target with hearth-sdk"
                .into(),
        ),
        Ok(COMPONENT_VERSION) => Ok(()),
        _ => invalid("unsupported WebAssembly version or layer in the header".into()),
    }
}

/// Checks that a compiled component exports the Hearth handler of the WIT version its
/// manifest's `api` names, one this host loads; returns that version (`0.2.0`).
pub fn check_world(engine: &Engine, component: &Component, api: &str) -> Result<&'static str, HostError> {
    let ty = component.component_type();
    let exported: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
    let exports = |name: &str| {
        ty.get_export(engine, name).is_some_and(|export| matches!(export.ty, ComponentItem::ComponentInstance(_)))
    };
    let loaded = WIT_VERSIONS.iter().map(|version| handler_interface(version)).collect::<Vec<_>>().join(", ");
    let reason = match WIT_VERSIONS.iter().copied().find(|version| exports(&handler_interface(version))) {
        Some(version) if wit_version_of(api) == Some(version) => return Ok(version),
        Some(version) => format!(
            "component exports {}, but hearth.toml says api = {api:?}; set api = {:?}",
            handler_interface(version),
            version.rsplit_once('.').map_or(version, |(minor, _)| minor)
        ),
        None => match exported.iter().find(|name| name.starts_with("hearth:plugin/handler@")) {
            Some(other) => format!(
                "component exports {other}, built against a WIT version this host does not load \
                 (it loads {loaded})"
            ),
            None => format!(
                "component does not export a Hearth handler ({loaded}): it was built for a different \
                 world (exports: {}); build it with hearth-sdk and register_plugin!",
                if exported.is_empty() { "none".to_owned() } else { exported.join(", ") }
            ),
        },
    };
    Err(HostError::InvalidComponent(reason))
}

/// Everything an install checks, without a host: the header, compilation, the world,
/// and linking. For `hearth plugin build` and `pack`, so a partner finds out before
/// publishing. Returns notices that do not stop an install: the capabilities the
/// component imports but the manifest does not request ([`not_requested`]).
pub fn validate(manifest: &hearth_package::Manifest, bytes: &[u8]) -> Result<Vec<String>, HostError> {
    check_bytes(bytes, DEFAULT_MAX_COMPONENT_BYTES)?;
    let (engine, _) = crate::runtime::engine::new_engine(&crate::runtime::engine::EngineConfig::default())?;
    let component =
        Component::new(&engine, bytes).map_err(|error| HostError::InvalidComponent(format!("{error:#}")))?;
    check_world(&engine, &component, &manifest.plugin.api)?;
    let linker = crate::runtime::state::linker(&engine).map_err(|error| HostError::Engine(format!("{error:#}")))?;
    linker.instantiate_pre(&component).map_err(|error| HostError::InvalidComponent(link_error(&error)))?;
    Ok(not_requested(manifest, &engine, &component))
}

/// The Hearth capabilities `component` imports that `manifest` does not request, each
/// with the line that would: the plugin runs, and each such call is refused with
/// `not-granted` (toolchains for other languages import every interface, so this is
/// a notice, not an error).
pub fn not_requested(manifest: &hearth_package::Manifest, engine: &Engine, component: &Component) -> Vec<String> {
    use crate::capabilities::manifest_line;
    let requested = &manifest.capabilities;
    let capabilities: [(&str, bool, &str); 4] = [
        ("hearth:plugin/kv@", requested.kv, manifest_line::KV),
        ("hearth:plugin/notify@", requested.notify, manifest_line::NOTIFY),
        ("hearth:plugin/commerce@", requested.commerce, manifest_line::COMMERCE),
        ("hearth:plugin/services@", !manifest.services.calls.is_empty(), manifest_line::SERVICES),
    ];
    let imports: Vec<String> = component.component_type().imports(engine).map(|(name, _)| name.to_owned()).collect();
    capabilities
        .iter()
        .filter(|(prefix, granted, _)| !granted && imports.iter().any(|import| import.starts_with(prefix)))
        .map(|(prefix, _, line)| {
            format!(
                "the component imports {}, which hearth.toml does not request: any call of it will be refused \
                 (add `{line}` if the plugin uses it)",
                prefix.trim_end_matches('@')
            )
        })
        .collect()
}

/// Explains a link failure: every Hearth capability is linked, so what is missing is
/// an interface this host does not offer (e.g. `wasi:sockets`).
pub fn link_error(error: &wasmtime::Error) -> String {
    format!("the component cannot be linked against this host: {error:#}")
}

/// Compiled components in the `artifacts` bucket, keyed by content hash and engine fingerprint, so a
/// restart (or a second install of the same bytes) deserializes instead of compiling.
/// Loaded components are also kept in memory by hash: plugins built from the same
/// component share one copy of its code.
pub struct ArtifactCache {
    bucket: Arc<dyn Bucket>,
    engine_fingerprint: String,
    loaded: std::sync::Mutex<std::collections::HashMap<String, Component>>,
    hits: AtomicU64,
    compiles: AtomicU64,
}

impl ArtifactCache {
    /// A cache over `bucket` for `engine`.
    pub fn new(bucket: Arc<dyn Bucket>, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        ArtifactCache {
            bucket,
            engine_fingerprint: format!("{:016x}", hasher.finish()),
            loaded: std::sync::Mutex::default(),
            hits: AtomicU64::new(0),
            compiles: AtomicU64::new(0),
        }
    }

    /// Loads a component from the cache, or compiles and caches it.
    pub fn load(&self, engine: &Engine, hash: &str, bytes: &[u8]) -> Result<Component, HostError> {
        if let Some(component) = self.loaded().get(hash) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(component.clone());
        }
        let component = self.load_stored(engine, hash, bytes)?;
        self.loaded().insert(hash.to_owned(), component.clone());
        Ok(component)
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Component>> {
        crate::sync::lock(&self.loaded)
    }

    /// Forgets the in-memory copy of a component no plugin uses any more.
    pub fn unload(&self, hash: &str) {
        self.loaded().remove(hash);
    }

    fn load_stored(&self, engine: &Engine, hash: &str, bytes: &[u8]) -> Result<Component, HostError> {
        let key = format!("{hash}/{}", self.engine_fingerprint);
        if let Some(artifact) = self.bucket.value(key.as_bytes())? {
            match deserialize(engine, &artifact) {
                Ok(component) => {
                    self.hits.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(component = hash, "artifact cache hit");
                    return Ok(component);
                }
                Err(error) => {
                    tracing::warn!(component = hash, %error, "cached artifact unusable, recompiling")
                }
            }
        }
        let started = std::time::Instant::now();
        let artifact =
            engine.precompile_component(bytes).map_err(|error| HostError::InvalidComponent(format!("{error:#}")))?;
        let component = deserialize(engine, &artifact)
            .map_err(|error| HostError::Engine(format!("loading a fresh artifact: {error:#}")))?;
        self.bucket.put(key.as_bytes(), &artifact)?;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        tracing::info!(component = hash, elapsed = ?started.elapsed(), "compiled component");
        Ok(component)
    }

    /// Deletes the stored artifacts of a component no installed plugin uses any more.
    pub fn forget(&self, hash: &str) -> Result<(), HostError> {
        self.unload(hash);
        self.bucket.delete_prefix(format!("{hash}/").as_bytes())?;
        Ok(())
    }

    /// Components served from the cache since this host started.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Components compiled since this host started.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: artifacts are only ever written by `precompile_component` of an engine
    // with the same fingerprint, into this host's own database; wasmtime checks the
    // header and engine compatibility again before loading.
    unsafe { Component::deserialize(engine, artifact) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_told_apart() {
        let error = |bytes: &[u8]| check_bytes(bytes, DEFAULT_MAX_COMPONENT_BYTES).unwrap_err().to_string();
        assert!(error(b"PK\x03\x04 a zip file").contains("not a WebAssembly file"));
        assert!(error(b"\0asm\x01\0\0\0").contains("core WebAssembly module"));
        assert!(error(b"\0asm\x02\0\0\0").contains("unsupported"));
        assert!(check_bytes(b"\0asm\x0d\0\x01\0", DEFAULT_MAX_COMPONENT_BYTES).is_ok());
        let oversize = vec![0u8; DEFAULT_MAX_COMPONENT_BYTES + 1];
        assert!(error(&oversize).contains("this host accepts at most 33554432 (hearth serve --max-component-mb)"));
        assert!(check_bytes(b"\0asm\x0d\0\x01\0", 7).is_err(), "the host's setting, not a constant");
    }
}
