//! The `.hpkg` package: one uncompressed tar file holding exactly three entries,
//!
//! - `hearth.toml`: the manifest,
//! - `plugin.wasm`: the component,
//! - `hearth.sig`: a detached ed25519 signature (JSON: `algorithm`, `key`, `signature`).
//!
//! What is signed is the message [`signed_message`] builds: the line
//! `hearth-package-v1`, then `manifest-sha256:<hex>` and `component-sha256:<hex>`,
//! each line ending in `\n`. Changing a byte of either file changes its digest, so the
//! signature no longer verifies. A package is only read into memory, never extracted.

use crate::Manifest;
use crate::manifest::ManifestError;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;

/// Largest package accepted anywhere (a component is capped at 16 MiB by the host).
/// The largest package read.
pub const MAX_PACKAGE_BYTES: usize = DEFAULT_MAX_COMPONENT_BYTES + PACKAGE_OVERHEAD_BYTES;
/// The largest component a host accepts unless its operator says otherwise
/// (`hearth serve --max-component-mb`): room for interpreters compiled to
/// WebAssembly (a Python plugin's component is about 17.5 MiB).
pub const DEFAULT_MAX_COMPONENT_BYTES: usize = 32 << 20;
/// What a package holds beside its component: the manifest, the signature, tar headers.
pub const PACKAGE_OVERHEAD_BYTES: usize = 1 << 20;
const MAX_MANIFEST_BYTES: u64 = 64 << 10;
const MAX_SIGNATURE_BYTES: u64 = 4 << 10;

/// The manifest's entry in the archive.
pub const MANIFEST_ENTRY: &str = "hearth.toml";
/// The component's entry in the archive.
pub const COMPONENT_ENTRY: &str = "plugin.wasm";
/// The signature's entry in the archive.
pub const SIGNATURE_ENTRY: &str = "hearth.sig";

/// Why a package was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PackageError {
    /// Not a package archive, or one with missing, extra or oversized entries.
    #[error("not a Hearth package: {0}")]
    Malformed(String),
    /// Its manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Its component is not a component.
    #[error("invalid component: {0}")]
    InvalidComponent(String),
    /// It carries no signature.
    #[error("the package is not signed (no {SIGNATURE_ENTRY}); sign it with `hearth plugin pack --key`")]
    Unsigned,
    /// Nobody trusts its publisher.
    #[error("publisher {0:?} is not in the trust store; an operator must trust its key first")]
    UnknownPublisher(String),
    /// Signed, but not with a key trusted for its publisher.
    #[error("the package is signed with key {key}, which is not a trusted key of publisher {publisher:?}")]
    UntrustedKey {
        /// The manifest's publisher.
        publisher: String,
        /// The signing key, hex.
        key: String,
    },
    /// The signature does not verify.
    #[error("the signature does not match the package contents: it was tampered with or forged")]
    BadSignature,
    #[error("invalid key: {0}")]
    /// A key that is not an ed25519 key.
    InvalidKey(String),
}

/// The detached signature as stored in `hearth.sig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSignature {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The signer's public key, hex.
    pub key: String,
    /// The signature over [`signed_message`], hex.
    pub signature: String,
}

/// A package read into memory: its manifest is valid; its signature is not yet checked.
#[derive(Debug, Clone)]
pub struct Package {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The manifest as signed.
    pub manifest_text: String,
    /// The component bytes.
    pub component: Vec<u8>,
    /// The signature, if signed.
    pub signature: Option<PackageSignature>,
}

/// Hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The exact bytes a package signature covers.
pub fn signed_message(manifest: &[u8], component: &[u8]) -> Vec<u8> {
    format!("hearth-package-v1\nmanifest-sha256:{}\ncomponent-sha256:{}\n", sha256_hex(manifest), sha256_hex(component))
        .into_bytes()
}

impl Package {
    /// Reads a package whose component is at most [`DEFAULT_MAX_COMPONENT_BYTES`].
    pub fn read(bytes: &[u8]) -> Result<Package, PackageError> {
        Package::read_within(bytes, DEFAULT_MAX_COMPONENT_BYTES)
    }

    /// Reads a package whose component is at most `max_component_bytes`; refuses
    /// anything but the three expected entries.
    pub fn read_within(bytes: &[u8], max_component_bytes: usize) -> Result<Package, PackageError> {
        let malformed = |reason: String| PackageError::Malformed(reason);
        let max_package_bytes = max_component_bytes + PACKAGE_OVERHEAD_BYTES;
        if bytes.len() > max_package_bytes {
            return Err(malformed(format!("it is {} bytes; the limit is {max_package_bytes}", bytes.len())));
        }
        let mut archive = tar::Archive::new(bytes);
        let (mut manifest, mut component, mut signature) = (None, None, None);
        let entries = archive.entries().map_err(|error| malformed(format!("not a tar archive: {error}")))?;
        for entry in entries {
            let entry = entry.map_err(|error| malformed(format!("a damaged entry: {error}")))?;
            if !entry.header().entry_type().is_file() {
                return Err(malformed("it holds something other than plain files".into()));
            }
            let path = entry.path().map_err(|error| malformed(format!("an unreadable entry name: {error}")))?;
            let name = path.to_string_lossy().into_owned();
            let (slot, cap) = match name.as_str() {
                MANIFEST_ENTRY => (&mut manifest, MAX_MANIFEST_BYTES),
                COMPONENT_ENTRY => (&mut component, max_component_bytes as u64),
                SIGNATURE_ENTRY => (&mut signature, MAX_SIGNATURE_BYTES),
                other => {
                    return Err(malformed(format!(
                        "unexpected entry {other:?}; a package holds {MANIFEST_ENTRY}, {COMPONENT_ENTRY} and {SIGNATURE_ENTRY}"
                    )));
                }
            };
            if slot.is_some() {
                return Err(malformed(format!("{name} appears twice")));
            }
            if entry.size() > cap {
                return Err(malformed(format!("{name} is {} bytes; the limit is {cap}", entry.size())));
            }
            let mut content = Vec::with_capacity(entry.size() as usize);
            entry.take(cap).read_to_end(&mut content).map_err(|error| malformed(format!("reading {name}: {error}")))?;
            *slot = Some(content);
        }
        let manifest = manifest.ok_or_else(|| malformed(format!("no {MANIFEST_ENTRY}")))?;
        let component = component.ok_or_else(|| malformed(format!("no {COMPONENT_ENTRY}")))?;
        let manifest_text =
            String::from_utf8(manifest).map_err(|_| malformed(format!("{MANIFEST_ENTRY} is not UTF-8")))?;
        let signature = match signature {
            None => None,
            Some(bytes) => Some(
                serde_json::from_slice(&bytes)
                    .map_err(|error| malformed(format!("{SIGNATURE_ENTRY} is not a signature: {error}")))?,
            ),
        };
        let manifest: Manifest = manifest_text.parse()?;
        check_component(&component, &manifest.plugin.api)?;
        Ok(Package { manifest, manifest_text, component, signature })
    }

    /// Builds a package, signed when a key is given. The manifest is packed as given;
    /// [`Package::read`] validates it.
    pub fn build(manifest_text: &str, component: &[u8], key: Option<&SigningKey>) -> Result<Vec<u8>, PackageError> {
        let mut entries =
            vec![(MANIFEST_ENTRY, manifest_text.as_bytes().to_vec()), (COMPONENT_ENTRY, component.to_vec())];
        if let Some(key) = key {
            let signature = sign(key, manifest_text.as_bytes(), component);
            entries.push((SIGNATURE_ENTRY, serde_json::to_vec_pretty(&signature).unwrap_or_default()));
        }
        let mut builder = tar::Builder::new(Vec::new());
        for (name, content) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, name, content.as_slice())
                .map_err(|error| PackageError::Malformed(format!("writing {name}: {error}")))?;
        }
        builder.into_inner().map_err(|error| PackageError::Malformed(format!("finishing the archive: {error}")))
    }

    /// Checks the signature against the keys trusted for the manifest's publisher
    /// (`None` when the publisher is unknown). Returns the key that signed.
    pub fn verify(&self, trusted: Option<&[VerifyingKey]>) -> Result<VerifyingKey, PackageError> {
        let signature = self.signature.as_ref().ok_or(PackageError::Unsigned)?;
        let publisher = &self.manifest.plugin.publisher;
        let trusted = trusted.ok_or_else(|| PackageError::UnknownPublisher(publisher.clone()))?;
        let key = parse_public_key(&signature.key)?;
        if !trusted.contains(&key) {
            return Err(PackageError::UntrustedKey { publisher: publisher.clone(), key: signature.key.clone() });
        }
        if signature.algorithm != "ed25519" {
            return Err(PackageError::Malformed(format!("unsupported signature algorithm {:?}", signature.algorithm)));
        }
        let bytes: [u8; 64] = hex::decode(&signature.signature)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(PackageError::BadSignature)?;
        let message = signed_message(self.manifest_text.as_bytes(), &self.component);
        key.verify_strict(&message, &Signature::from_bytes(&bytes)).map_err(|_| PackageError::BadSignature)?;
        Ok(key)
    }

    /// Hex SHA-256 of the component: its identity in the host and the registry.
    pub fn component_hash(&self) -> String {
        sha256_hex(&self.component)
    }
}

/// The handler interface a component exports names the WIT version it was built
/// against: it must be one this release loads, and the one the manifest states.
fn check_component(component: &[u8], api: &str) -> Result<(), PackageError> {
    let malformed = |reason: String| Err(PackageError::InvalidComponent(reason));
    if component.len() < 8 || &component[..4] != b"\0asm" {
        return malformed("not a WebAssembly file".into());
    }
    if component[4..8] != [0x0d, 0, 1, 0] {
        return malformed("not a WebAssembly component (a core module? build for wasm32-wasip2)".into());
    }
    let mut depth = 0usize;
    let mut handlers = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        let payload = match payload {
            Ok(payload) => payload,
            Err(error) => return malformed(format!("cannot be parsed: {error}")),
        };
        match payload {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
            wasmparser::Payload::ComponentExportSection(exports) if depth == 1 => {
                for export in exports {
                    let export =
                        export.map_err(|error| PackageError::InvalidComponent(format!("an export: {error}")))?;
                    if let Some(version) = export.name.name.strip_prefix("hearth:plugin/handler@") {
                        handlers.push(version.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let Some(version) = handlers.first() else {
        return malformed("exports no hearth:plugin/handler; build it with hearth-sdk and register_plugin!".into());
    };
    let built_for = version.rsplit_once('.').map_or(version.as_str(), |(major_minor, _)| major_minor);
    if built_for != api {
        return malformed(format!("built against hearth:plugin@{version}, but hearth.toml says api = {api:?}"));
    }
    Ok(())
}

fn sign(key: &SigningKey, manifest: &[u8], component: &[u8]) -> PackageSignature {
    PackageSignature {
        algorithm: "ed25519".into(),
        key: hex::encode(key.verifying_key().as_bytes()),
        signature: hex::encode(key.sign(&signed_message(manifest, component)).to_bytes()),
    }
}

/// A fresh signing key from the operating system's randomness.
pub fn generate_key() -> Result<SigningKey, PackageError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| PackageError::InvalidKey(format!("no randomness: {error}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// A public key from its hex form (64 hex digits).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, PackageError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| PackageError::InvalidKey("a public key is 64 hex digits".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|error| PackageError::InvalidKey(error.to_string()))
}

/// A signing key from its hex form (the 32-byte seed, 64 hex digits).
pub fn parse_secret_key(text: &str) -> Result<SigningKey, PackageError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| PackageError::InvalidKey("a secret key is 64 hex digits".into()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str =
        "[plugin]\nid = \"com.example.recipes\"\nversion = \"1.0.0\"\npublisher = \"example\"\napi = \"0.2\"\n";
    fn component() -> Vec<u8> {
        hearth_test_components::read(hearth_test_components::NOOP_PLUGIN)
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn signed() -> Package {
        Package::read(&Package::build(MANIFEST, &component(), Some(&key(1))).unwrap()).unwrap()
    }

    #[test]
    fn a_signed_package_round_trips_and_verifies() {
        let package = signed();
        assert_eq!(package.manifest.plugin.id, "com.example.recipes");
        assert_eq!(package.component, component());
        assert_eq!(
            package.verify(Some(&[key(2).verifying_key(), key(1).verifying_key()])).unwrap(),
            key(1).verifying_key()
        );
    }

    #[test]
    fn the_signed_message_is_as_documented() {
        let message = String::from_utf8(signed_message(b"m", b"c")).unwrap();
        assert_eq!(
            message,
            format!("hearth-package-v1\nmanifest-sha256:{}\ncomponent-sha256:{}\n", sha256_hex(b"m"), sha256_hex(b"c"))
        );
    }

    #[test]
    fn each_broken_trust_is_refused_by_name() {
        let trusted = [key(1).verifying_key()];
        let unsigned = Package::read(&Package::build(MANIFEST, &component(), None).unwrap()).unwrap();
        assert_eq!(unsigned.verify(Some(&trusted)), Err(PackageError::Unsigned));
        assert_eq!(signed().verify(None), Err(PackageError::UnknownPublisher("example".into())));
        assert!(matches!(signed().verify(Some(&[key(3).verifying_key()])), Err(PackageError::UntrustedKey { .. })));

        let mut tampered = signed();
        tampered.component.push(0);
        assert_eq!(tampered.verify(Some(&trusted)), Err(PackageError::BadSignature));
        let mut tampered = signed();
        tampered.manifest_text = tampered.manifest_text.replace("1.0.0", "1.0.1");
        assert_eq!(tampered.verify(Some(&trusted)), Err(PackageError::BadSignature));

        // A signature made with another key but claiming a trusted one.
        let mut forged = signed();
        let other = sign(&key(3), MANIFEST.as_bytes(), &component());
        forged.signature = Some(PackageSignature { signature: other.signature, ..forged.signature.clone().unwrap() });
        assert_eq!(forged.verify(Some(&trusted)), Err(PackageError::BadSignature));
    }

    #[test]
    fn malformed_archives_are_refused() {
        let error = |bytes: &[u8]| Package::read(bytes).unwrap_err().to_string();
        assert!(error(&[7u8; 600]).starts_with("not a Hearth package"), "{}", error(&[7u8; 600]));
        assert!(error(&[0u8; 1024]).contains("no hearth.toml"), "an empty archive: {}", error(&[0u8; 1024]));
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_size(1);
        header.set_cksum();
        builder.append_data(&mut header, "etc/passwd", &b"x"[..]).unwrap();
        assert!(error(&builder.into_inner().unwrap()).contains("unexpected entry"));
        let package = Package::build(MANIFEST, &component(), None).unwrap();
        assert!(error(&package[..700]).contains("damaged") || error(&package[..700]).contains("no "));
        let invalid = MANIFEST.replace("com.example.recipes", "recipes");
        let package = Package::build(&invalid, &component(), None).unwrap();
        assert!(matches!(Package::read(&package), Err(PackageError::Manifest(_))));
    }

    #[test]
    fn the_component_must_export_the_handler_of_the_manifests_api() {
        let error = |bytes: &[u8], manifest: &str| {
            Package::read(&Package::build(manifest, bytes, None).unwrap()).unwrap_err().to_string()
        };
        assert!(error(b"\0asm\x01\0\0\0", MANIFEST).contains("not a WebAssembly component"));
        assert!(error(b"PK\x03\x04", MANIFEST).contains("not a WebAssembly file"));
        let other_world = hearth_test_components::read(hearth_test_components::OTHER_WORLD);
        assert!(error(&other_world, MANIFEST).contains("exports no hearth:plugin/handler"));
        let mut truncated = component();
        truncated.truncate(truncated.len() / 2);
        assert!(error(&truncated, MANIFEST).contains("cannot be parsed"));
        // Nested core modules are skipped: only the component's own exports count.
        assert!(Package::read(&Package::build(MANIFEST, &component(), None).unwrap()).is_ok());
        // A plugin built against 0.1 packs with `api = "0.1"`, and only with it.
        let old = hearth_test_components::read(hearth_test_components::V0_1_RECORDER);
        let old_manifest = MANIFEST.replace("api = \"0.2\"", "api = \"0.1\"");
        assert!(Package::read(&Package::build(&old_manifest, &old, None).unwrap()).is_ok());
        assert!(
            error(&old, MANIFEST).contains("built against hearth:plugin@0.1.0, but hearth.toml says api = \"0.2\"")
        );
        assert!(error(&component(), &old_manifest).contains("built against hearth:plugin@0.2.0"));
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let secret = key(7);
        assert_eq!(parse_secret_key(&hex::encode(secret.to_bytes())).unwrap().to_bytes(), secret.to_bytes());
        let public = hex::encode(secret.verifying_key().as_bytes());
        assert_eq!(parse_public_key(&public).unwrap(), secret.verifying_key());
        assert!(parse_public_key("abc").is_err());
        assert_ne!(generate_key().unwrap().to_bytes(), generate_key().unwrap().to_bytes());
    }
}
