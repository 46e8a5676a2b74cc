//! The web console's part of the set-up: its npm packages, Debian's Chromium for
//! its browser tests, building its assets (which the `hearth` binary embeds) and
//! running those tests against a real `hearth serve`.

use crate::run;
use anyhow::{Context as _, bail};
use std::path::Path;
use std::process::Command;

const CONSOLE_DIR: &str = "console";
/// The browser the tests drive (Debian's `chromium` package).
const CHROMIUM: &str = "/usr/bin/chromium";
/// Where the browser tests write a screenshot of each main view.
pub const SCREENSHOTS: &str = "target/console-screenshots";

/// Installs the console's npm packages from its lock file unless they are there.
pub fn install_packages() -> anyhow::Result<()> {
    npm_ci_if_stale(CONSOLE_DIR)
}

/// `npm ci` in `dir` unless its installed packages are newer than its lock file.
pub fn npm_ci_if_stale(dir: &str) -> anyhow::Result<()> {
    let installed = Path::new(dir).join("node_modules/.package-lock.json");
    let lock = Path::new(dir).join("package-lock.json");
    let fresh = match (installed.metadata(), lock.metadata()) {
        (Ok(installed), Ok(lock)) => installed.modified()? >= lock.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    eprintln!("installing the npm packages of {dir} ({dir}/package-lock.json) …");
    npm(dir, &["ci", "--no-audit", "--no-fund"])
}

/// Installs Debian's Chromium for the browser tests unless it is there (or
/// `CHROMIUM` names another).
pub fn install_chromium() -> anyhow::Result<()> {
    if std::env::var_os("CHROMIUM").is_some() || Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    eprintln!("installing Debian's chromium for the console's browser tests …");
    run("apt-get", &["update", "-qq"]).context("apt-get update (run as root, or set CHROMIUM to a Chromium binary)")?;
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!("installing chromium failed ({status}); set CHROMIUM to a Chromium binary instead");
    }
    Ok(())
}

/// Type-checks and builds the console into `console/dist`, which the `hearth`
/// binary embeds when it is compiled.
pub fn build() -> anyhow::Result<()> {
    install_packages()?;
    npm(CONSOLE_DIR, &["run", "build"])
}

/// Builds what the browser tests start — `hearth`, `hearth-registry` — and the plugin
/// components they install (`hearth-test-components` builds them into target/plugins).
/// `cargo xtask test` skips it: its `cargo test` built all of them already.
pub fn build_for_browser_tests() -> anyhow::Result<()> {
    run("cargo", &["build", "--release", "-p", "hearth-cli", "-p", "hearth-registry", "-p", "hearth-test-components"])
}

/// Runs the browser tests: a real `hearth serve` and `hearth-registry` on loopback,
/// driven in Chromium by playwright; screenshots go to `target/console-screenshots`.
pub fn browser_tests() -> anyhow::Result<()> {
    install_chromium()?;
    let screenshots = std::env::current_dir()?.join(SCREENSHOTS);
    std::fs::create_dir_all(&screenshots)?;
    eprintln!("$ npx playwright test (console/, screenshots in {SCREENSHOTS})");
    let status = Command::new("npx")
        .args(["playwright", "test"])
        .current_dir(CONSOLE_DIR)
        .env("HEARTH_CONSOLE_ARTIFACTS", &screenshots)
        .env_remove("RUST_BACKTRACE")
        .status()
        .context("running npx playwright")?;
    if !status.success() {
        bail!("the console's browser tests failed (traces in console/test-results)");
    }
    Ok(())
}

fn npm(dir: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ npm {} (in {dir}/)", args.join(" "));
    let status = Command::new("npm").args(args).current_dir(dir).status().context("running npm: is node installed?")?;
    if !status.success() {
        bail!("`npm {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
