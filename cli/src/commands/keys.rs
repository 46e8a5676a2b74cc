//! `hearth keys`: signing keys (partners) and the server's trust store (operators).

use crate::client::{Client, Connection};
use anyhow::{Context as _, bail};
use clap::Subcommand;
use hearth_package::package::generate_key;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an ed25519 signing key: NAME.key (secret, mode 0600) and NAME.pub.
    Generate {
        name: String,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Trust a publisher's public key on a running server (operator token).
    Trust {
        publisher: String,
        /// The public key, hex, or a path to a NAME.pub file.
        key: String,
    },
    /// Stop trusting a key (operator token).
    Distrust { publisher: String, key: String },
    /// The trusted keys by publisher (operator token).
    List,
}

/// Reads a key given as hex or as a path to a file holding the hex.
pub fn key_text(key: &str) -> anyhow::Result<String> {
    let path = Path::new(key);
    if path.exists() {
        return Ok(std::fs::read_to_string(path).with_context(|| format!("reading {key}"))?.trim().to_owned());
    }
    Ok(key.trim().to_owned())
}

pub fn generate(name: &str, dir: &Path) -> anyhow::Result<()> {
    let key = generate_key()?;
    std::fs::create_dir_all(dir)?;
    let secret = dir.join(format!("{name}.key"));
    let public = dir.join(format!("{name}.pub"));
    if secret.exists() {
        bail!("{} exists; not overwriting a key", secret.display());
    }
    write_secret(&secret, &format!("{}\n", hex::encode(key.to_bytes())))?;
    let public_hex = hex::encode(key.verifying_key().as_bytes());
    std::fs::write(&public, format!("{public_hex}\n"))?;
    eprintln!("wrote {} (keep it secret) and {}", secret.display(), public.display());
    println!("{public_hex}");
    Ok(())
}

#[cfg(unix)]
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    Ok(std::fs::write(path, text)?)
}

/// Keys on the server's trust store.
pub fn run(connection: &Connection, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Generate { name, dir } => generate(&name, &dir),
        KeysCommand::Trust { publisher, key } => {
            let client = Client::new(connection)?;
            let key = key_text(&key)?;
            let answer = client.json("POST", &format!("/v1/trust/{publisher}"), json!({ "key": key }))?;
            let already = if answer["added"] == true { "" } else { " (already trusted)" };
            println!("trusted {key} for {publisher}{already}");
            Ok(())
        }
        KeysCommand::Distrust { publisher, key } => {
            let client = Client::new(connection)?;
            client.json("DELETE", &format!("/v1/trust/{publisher}/{}", key_text(&key)?), Value::Null)?;
            println!("no longer trusting that key for {publisher}");
            Ok(())
        }
        KeysCommand::List => {
            let client = Client::new(connection)?;
            let trusted = client.json("GET", "/v1/trust", Value::Null)?;
            for (publisher, keys) in trusted.as_object().into_iter().flatten() {
                for key in keys.as_array().into_iter().flatten() {
                    println!("{publisher:<24} {}", key.as_str().unwrap_or("?"));
                }
            }
            Ok(())
        }
    }
}
