//! Plugins in TypeScript and Python: the toolchains the set-up installs (pinned:
//! npm lock files, `sdk/python/requirements.txt`) and the tests that build the example
//! plugins and the `hearth plugin new` templates from source and run them in a real
//! host through `hearth plugin test`.

use crate::run;
use anyhow::{Context as _, bail};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python toolchain's virtual environment (componentize-py).
pub const PYTHON_TOOLS: &str = "target/tools/python";
const PYTHON_REQUIREMENTS: &str = "sdk/python/requirements.txt";
/// npm projects whose packages the set-up installs: the SDK (type generation, checks)
/// and the TypeScript example.
const NPM_PROJECTS: [&str; 2] = ["sdk/typescript", "example-plugins/water-filter-ts"];
/// The example plugins in other languages than Rust.
pub const EXAMPLES: [&str; 2] = ["example-plugins/water-filter-ts", "example-plugins/air-care-py"];

/// Installs componentize-py into `target/tools/python` and the npm projects' packages,
/// each unless it is there already.
pub fn install_toolchains() -> anyhow::Result<()> {
    install_componentize_py()?;
    for project in NPM_PROJECTS {
        crate::console::npm_ci_if_stale(project)?;
    }
    Ok(())
}

fn install_componentize_py() -> anyhow::Result<()> {
    let requirements = std::fs::read_to_string(PYTHON_REQUIREMENTS).context(PYTHON_REQUIREMENTS)?;
    let pinned = requirements
        .lines()
        .find_map(|line| line.trim().strip_prefix("componentize-py=="))
        .context("no componentize-py== pin in sdk/python/requirements.txt")?;
    let componentize = Path::new(PYTHON_TOOLS).join("bin/componentize-py");
    let installed = Command::new(&componentize).arg("--version").output();
    if installed.is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(pinned)) {
        return Ok(());
    }
    eprintln!("installing componentize-py {pinned} (PyPI) into {PYTHON_TOOLS} …");
    run(crate::python(), &["-m", "venv", PYTHON_TOOLS])?;
    let pip = format!("{PYTHON_TOOLS}/bin/pip");
    run(&pip, &["install", "--quiet", "--disable-pip-version-check", "-r", PYTHON_REQUIREMENTS])
}

/// PATH with the Python toolchain first.
pub fn path_with_tools() -> anyhow::Result<OsString> {
    let tools = std::env::current_dir()?.join(PYTHON_TOOLS).join("bin");
    let mut paths = vec![tools];
    paths.extend(
        std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect::<Vec<_>>()).unwrap_or_default(),
    );
    Ok(std::env::join_paths(paths)?)
}

/// The `hearth` binary a `cargo build --release -p hearth-cli` (or `cargo test`) made.
pub fn hearth() -> anyhow::Result<PathBuf> {
    let hearth = std::env::current_dir()?.join("target/release/hearth");
    if !hearth.is_file() {
        bail!("{} is not built: cargo build --release -p hearth-cli", hearth.display());
    }
    Ok(hearth)
}

fn hearth_plugin(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("$ hearth plugin {}", args.join(" "));
    let status = Command::new(hearth()?)
        .arg("plugin")
        .args(args)
        .env("PATH", path_with_tools()?)
        .env_remove("RUST_BACKTRACE")
        .status()
        .context("running hearth")?;
    if !status.success() {
        bail!("`hearth plugin {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// The SDK's generated types match the WIT and type-check; each example plugin and
/// each language's `hearth plugin new` template builds from source and passes its own
/// tests against a real host; the templates request kv alone; and the scripted day of
/// `hearth demo` with the ports in place of the Rust water-filter and air-care is the
/// same day. `plugins`: where the Rust example plugins are built; the toolchains are
/// the set-up's (`install_toolchains`, run before).
pub fn tests(plugins: &str) -> anyhow::Result<()> {
    eprintln!("$ npm run check (in sdk/typescript)");
    let status = Command::new("npm").args(["run", "check"]).current_dir("sdk/typescript").status()?;
    if !status.success() {
        bail!("sdk/typescript: the generated types are stale or do not type-check");
    }
    for example in EXAMPLES {
        hearth_plugin(&["test", "--path", example])?;
    }
    let scratch = std::env::current_dir()?.join("target/tmp/templates");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    for lang in ["ts", "python"] {
        let name = format!("door-counter-{lang}");
        let dir = scratch.join(&name);
        let dir_arg = dir.to_string_lossy().into_owned();
        hearth_plugin(&["new", &name, "--lang", lang, "--dir", &dir_arg])?;
        let manifest: toml::Table = std::fs::read_to_string(dir.join("hearth.toml"))?.parse()?;
        let capabilities = manifest.get("capabilities").and_then(toml::Value::as_table).context("no [capabilities]")?;
        let calls = manifest.get("services").and_then(|services| services.get("calls"));
        if capabilities.keys().collect::<Vec<_>>() != ["kv"] || calls.is_some() {
            bail!("the {lang} template should request kv alone: {manifest:?}");
        }
        hearth_plugin(&["test", "--path", &dir_arg])?;
        rebuilt_only_when_changed(&dir, if lang == "ts" { "src/plugin.ts" } else { "app.py" })?;
    }
    demo_with_ports(plugins)
}

/// A TypeScript or Python build is skipped while nothing it is made from changed, and
/// made again once a source changes.
fn rebuilt_only_when_changed(dir: &Path, source: &str) -> anyhow::Result<()> {
    let build = || -> anyhow::Result<bool> {
        let output = Command::new(hearth()?)
            .args(["plugin", "build", "--path"])
            .arg(dir)
            .env("PATH", path_with_tools()?)
            .env_remove("RUST_BACKTRACE")
            .output()?;
        if !output.status.success() {
            bail!("hearth plugin build {}: {}", dir.display(), String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stderr).contains("building "))
    };
    if build()? {
        bail!("{}: built again though nothing changed", dir.display());
    }
    let file = std::fs::File::options().append(true).open(dir.join(source))?;
    file.set_modified(std::time::SystemTime::now())?;
    if !build()? {
        bail!("{}: not built again after {source} changed", dir.display());
    }
    eprintln!("{}: skipped while unchanged, rebuilt after {source} changed", dir.display());
    Ok(())
}

/// `hearth demo` twice, with the Rust plugins and with the ports (built by the tests
/// above): from the first event on, the timelines must be the same.
fn demo_with_ports(plugins: &str) -> anyhow::Result<()> {
    let demo = |ports: bool| -> anyhow::Result<String> {
        let mut command = Command::new(hearth()?);
        command.args(["demo", "--plugins", plugins]).env("RUST_LOG", "error").env_remove("RUST_BACKTRACE");
        if ports {
            command.args(["--ports", "example-plugins"]);
        }
        let output = command.output().context("running hearth demo")?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            bail!("hearth demo (ports: {ports}) failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        }
        // What follows the install block (whose descriptions differ) is the day itself.
        let day = stdout.split_once("revenue share").map(|(_, day)| day.to_owned());
        day.with_context(|| format!("hearth demo printed no install block:\n{stdout}"))
    };
    eprintln!("$ hearth demo, then hearth demo --ports example-plugins: the same day");
    let (rust, ports) = (demo(false)?, demo(true)?);
    if rust != ports {
        let differing: Vec<String> = rust
            .lines()
            .zip(ports.lines())
            .filter(|(a, b)| a != b)
            .take(10)
            .map(|(a, b)| format!("  rust:  {a}\n  ports: {b}"))
            .collect();
        bail!(
            "the demo's day differs with the ports ({} vs {} lines):\n{}",
            rust.lines().count(),
            ports.lines().count(),
            differing.join("\n")
        );
    }
    eprintln!("the same {} lines of the scripted day with the TypeScript and Python ports", rust.lines().count());
    Ok(())
}
