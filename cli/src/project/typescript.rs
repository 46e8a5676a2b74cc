//! TypeScript plugins: type-checked with `tsc`, bundled into one ES module with
//! `esbuild` (the SDK and any npm packages inlined, the WIT imports left to the
//! component), then made a component by `componentize-js` (SpiderMonkey inside). The
//! tools are the project's own npm dev-dependencies, pinned in its `package.json`.
//!
//! jco's `componentize` reads WIT through a WASI shim that starts with no preopened
//! directory; `componentize-js` called directly with an absolute WIT path does not
//! have that problem, so that is what this calls. componentize-js 0.23 imports
//! `@bytecodealliance/preview2-shim` at run time but declares it only as a development
//! dependency, so a clean `npm ci` lacks it: projects list it themselves (the template
//! does), and a build without it stops with the line to add.

use super::{PluginProject, run, write_wit};
use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tools a TypeScript plugin project needs in `node_modules/.bin`.
const TOOLS: [&str; 3] = ["componentize-js", "esbuild", "tsc"];
/// What componentize-js imports without declaring it (see above).
const SHIM: &str = "node_modules/@bytecodealliance/preview2-shim";

pub fn package_name(dir: &Path) -> anyhow::Result<String> {
    let package = package_json(dir)?;
    let name = package["name"].as_str().context("package.json has no name")?;
    // A scoped name (`@acme/filters`) makes a file name without the scope.
    Ok(name.rsplit('/').next().unwrap_or(name).to_owned())
}

fn package_json(dir: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("package.json")).context("reading package.json")?;
    serde_json::from_str(&text).context("package.json is not JSON")
}

/// The SDK the project builds against: `@hearth/sdk` as npm installed it (a link to
/// the SDK's directory for a `file:` dependency).
pub fn sdk_dir(dir: &Path) -> PathBuf {
    let installed = dir.join("node_modules/@hearth/sdk");
    installed.canonicalize().unwrap_or(installed)
}

fn npm() -> Command {
    Command::new(std::env::var_os("NPM").unwrap_or_else(|| "npm".into()))
}

fn tool(dir: &Path, name: &str) -> PathBuf {
    dir.join("node_modules/.bin").join(name)
}

/// Installs the project's dev-dependencies when a tool is missing (a fresh clone).
fn ensure_tools(dir: &Path) -> anyhow::Result<()> {
    if TOOLS.iter().all(|name| tool(dir, name).is_file()) && dir.join(SHIM).is_dir() {
        return Ok(());
    }
    let locked = dir.join("package-lock.json").is_file();
    eprintln!("installing the project's npm packages ({}) …", if locked { "npm ci" } else { "npm install" });
    let mut install = npm();
    install.current_dir(dir).args([if locked { "ci" } else { "install" }, "--no-audit", "--no-fund"]);
    run("npm", &mut install).context("installing the TypeScript toolchain needs Node.js 20+ and npm")?;
    if !dir.join(SHIM).is_dir() {
        bail!(
            "{} is missing: add \"@bytecodealliance/preview2-shim\": \"0.25.0\" to the devDependencies in \
             package.json (componentize-js needs it and does not install it)",
            dir.join(SHIM).display()
        );
    }
    for name in TOOLS {
        if !tool(dir, name).is_file() {
            bail!(
                "{} is missing after npm install: add {} to the devDependencies in package.json",
                tool(dir, name).display(),
                match name {
                    "componentize-js" => "\"@bytecodealliance/componentize-js\"",
                    "tsc" => "\"typescript\"",
                    other => other,
                }
            );
        }
    }
    Ok(())
}

pub fn build(project: &PluginProject) -> anyhow::Result<PathBuf> {
    let dir = &project.dir;
    ensure_tools(dir)?;
    let entry = package_json(dir)?["main"].as_str().unwrap_or("src/plugin.ts").to_owned();
    if !dir.join(&entry).is_file() {
        bail!("{} has no {entry} (the plugin's entry: package.json \"main\")", dir.display());
    }
    let out = project.out_dir()?;
    run("type check (tsc --noEmit)", Command::new(tool(dir, "tsc")).current_dir(dir).arg("--noEmit"))?;
    let bundle = out.join("plugin.js");
    run(
        "bundle (esbuild)",
        Command::new(tool(dir, "esbuild"))
            .current_dir(dir)
            .args([&entry, "--bundle", "--format=esm", "--platform=neutral", "--target=es2022", "--log-level=warning"])
            // The component's imports stay imports; everything else is inlined.
            .arg("--external:hearth:plugin/*")
            .arg(format!("--outfile={}", bundle.display())),
    )?;
    let wit = out.join("wit");
    write_wit(&wit)?;
    let component = out.join(format!("{}.wasm", project.name));
    run(
        "componentize-js",
        Command::new(tool(dir, "componentize-js"))
            .current_dir(dir)
            .arg(&bundle)
            .arg("--wit")
            .arg(&wit)
            .args(["--world-name", "partner-plugin", "--out"])
            .arg(&component),
    )?;
    Ok(component)
}

/// `npm test`: the project's tests, e.g. `node --test` with `@hearth/sdk/testing`.
pub fn test_command(project: &PluginProject) -> anyhow::Result<Command> {
    if package_json(&project.dir)?["scripts"]["test"].as_str().is_none() {
        bail!("package.json has no \"test\" script (e.g. \"node --test tests/\")");
    }
    let mut command = npm();
    command.args(["test", "--silent"]);
    Ok(command)
}
