#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // a build script fails by panicking
//! Builds the example plugins and the hostile test fixtures for wasm32-wasip2 once,
//! into `target/plugins`, and generates constants with the paths of the components
//! (see wasmtime's `crates/test-programs/artifacts/build.rs` for the pattern).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, constant name, manifest of the package's plugin, relative to the workspace)
const COMPONENTS: &[(&str, &str, Option<&str>)] = &[
    ("recipe-service", "RECIPE_SERVICE", Some("example-plugins/recipe-service/hearth.toml")),
    ("ingredient-shop", "INGREDIENT_SHOP", Some("example-plugins/ingredient-shop/hearth.toml")),
    ("water-filter", "WATER_FILTER", Some("example-plugins/water-filter/hearth.toml")),
    ("air-care", "AIR_CARE", Some("example-plugins/air-care/hearth.toml")),
    ("hostile-plugin", "HOSTILE_PLUGIN", Some("tests/fixtures/hostile/hearth.toml")),
    ("recorder-plugin", "RECORDER_PLUGIN", Some("tests/fixtures/recorder/hearth.toml")),
    ("noop-plugin", "NOOP_PLUGIN", Some("tests/fixtures/noop/hearth.toml")),
    ("probe-plugin", "PROBE_PLUGIN", Some("tests/fixtures/probe/hearth.toml")),
    ("other-world", "OTHER_WORLD", None),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.join("../..").canonicalize().expect("workspace root");
    let target_dir = workspace.join("target/plugins");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        // Plugins are shipped, not debugged in place: keep them small.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for (package, _, _) in COMPONENTS {
        command.args(["--package", package]);
    }
    let status = command.status().expect("running cargo for the wasm components");
    assert!(
        status.success(),
        "building the plugin components failed; is the target installed? \
         (`rustup target add wasm32-wasip2`, or `cargo xtask setup`)"
    );

    let mut constants = String::new();
    for (package, constant, manifest) in COMPONENTS {
        let artifact = package.replace('-', "_");
        let release = target_dir.join("wasm32-wasip2/release");
        let wasm = release.join(format!("{artifact}.wasm"));
        assert!(wasm.exists(), "{} was not built", wasm.display());
        writeln!(constants, "/// `{package}` built for wasm32-wasip2.").unwrap();
        writeln!(constants, "pub const {constant}: &str = {:?};", wasm.display().to_string()).unwrap();
        if let Some(manifest) = manifest {
            writeln!(constants, "/// The hearth.toml of `{package}`.").unwrap();
            let path = workspace.join(manifest);
            writeln!(constants, "pub const {constant}_MANIFEST: &str = {:?};", path.display().to_string()).unwrap();
            println!("cargo:rerun-if-changed={}", path.display());
        }
        for dependency in dep_info(&release.join(format!("{artifact}.d"))) {
            println!("cargo:rerun-if-changed={}", dependency.display());
        }
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("components.rs");
    std::fs::write(out, constants).expect("writing components.rs");
}

/// The source files cargo recorded for one artifact (`target: dep dep ...`).
fn dep_info(path: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let Some((_, deps)) = text.lines().next().and_then(|line| line.split_once(": ")) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => current.push(chars.next().unwrap_or(' ')),
            ' ' => {
                if !current.is_empty() {
                    paths.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        paths.push(PathBuf::from(current));
    }
    paths
}
