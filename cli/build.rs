//! Lists the SDK's sources (`sdk/`: the Rust crates, `typescript/` and `python/`;
//! `wit/`) for `sdk_sources.rs`, so that the `hearth` binary carries the SDK of its own
//! version (`hearth plugin new`
//! writes it to a cache directory). `include_bytes!` makes a changed file rebuild the
//! binary; the directories are watched for added and removed files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The file kinds the SDKs are made of.
const SOURCES: [&str; 11] = [
    "Cargo.toml",
    ".rs",
    ".wit",
    ".ts",
    ".js",
    ".mjs",
    "package.json",
    "tsconfig.json",
    ".py",
    "pyproject.toml",
    ".txt",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir.parent().ok_or("the cli is a workspace member")?.to_owned();
    let mut files = Vec::new();
    for dir in ["sdk", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    let mut out = String::from(
        "/// The SDK's sources: (path from the workspace root, contents).\npub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for file in &files {
        let relative = file.strip_prefix(&root)?;
        writeln!(out, "    ({:?}, include_bytes!({:?})),", relative.display().to_string(), file.display().to_string())?;
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR")?).join("sdk_sources.rs");
    std::fs::write(target, out)?;
    Ok(())
}

/// Sources only, no build output or installed packages.
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !["target", "node_modules", "__pycache__"].contains(&name.as_str()) && !name.starts_with('.') {
                collect(&path, files);
            }
        } else if SOURCES.iter().any(|suffix| name.ends_with(suffix)) {
            files.push(path);
        }
    }
}
