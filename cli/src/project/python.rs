//! Python plugins: made a component by `componentize-py` (CPython inside, the app and
//! the SDK's Python sources frozen in). `pyproject.toml` may say, under `[tool.hearth]`,
//! `module` (the module defining `Handler`, `app` by default) and `sdk` (a directory
//! with the `hearth_sdk` and `hearth_testing` packages; by default the SDK this binary
//! carries).

use super::{PluginProject, run, write_wit};
use anyhow::{Context as _, bail};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The componentize-py release the SDK is built and tested with (`sdk/python/requirements.txt`).
pub const COMPONENTIZE_PY: &str = "0.25.1";

struct Settings {
    module: String,
    sdk: PathBuf,
}

fn settings(dir: &Path) -> anyhow::Result<Settings> {
    let text = std::fs::read_to_string(dir.join("pyproject.toml")).context("reading pyproject.toml")?;
    let table: toml::Table = text.parse().context("pyproject.toml is not TOML")?;
    let hearth = table.get("tool").and_then(|tool| tool.get("hearth"));
    let setting = |key: &str| hearth.and_then(|hearth| hearth.get(key)).and_then(toml::Value::as_str);
    let sdk = match setting("sdk") {
        Some(sdk) => dir.join(sdk),
        None => crate::sdk::unpack().context("unpacking the SDK this binary carries")?.join("python"),
    };
    if !sdk.join("hearth_sdk/__init__.py").is_file() {
        bail!("{} has no hearth_sdk package ([tool.hearth] sdk in pyproject.toml)", sdk.display());
    }
    Ok(Settings { module: setting("module").unwrap_or("app").to_owned(), sdk })
}

/// The directory of the SDK the project builds against.
pub fn sdk_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    Ok(settings(dir)?.sdk)
}

/// A tool from the project's virtual environment (`.venv`), else from the PATH.
fn find(dir: &Path, name: &str) -> OsString {
    let local = dir.join(".venv/bin").join(name);
    if local.is_file() { local.into_os_string() } else { name.into() }
}

pub fn build(project: &PluginProject) -> anyhow::Result<PathBuf> {
    let dir = &project.dir;
    let Settings { module, sdk } = settings(dir)?;
    if !dir.join(format!("{module}.py")).is_file() && !dir.join(&module).join("__init__.py").is_file() {
        bail!(
            "{} has no {module}.py ([tool.hearth] module in pyproject.toml names the module defining Handler)",
            dir.display()
        );
    }
    let componentize = find(dir, "componentize-py");
    let version = Command::new(&componentize).arg("--version").output().map_err(|error| {
        anyhow::anyhow!(
            "cannot run componentize-py ({error}): install it with `pip install componentize-py=={COMPONENTIZE_PY}` \
             (into the project's .venv, or anywhere on the PATH)"
        )
    })?;
    let version = String::from_utf8_lossy(&version.stdout);
    if !version.contains(COMPONENTIZE_PY) {
        eprintln!("warning: {} found; the SDK is tested with componentize-py {COMPONENTIZE_PY}", version.trim());
    }
    let out = project.out_dir()?;
    let wit = out.join("wit");
    write_wit(&wit)?;
    // A copy of the SDK's package: componentize-py writes `__pycache__` beside the
    // sources it imports, and the SDK (in the binary's cache or a checkout) stays as it is.
    let sdk = copy_package(&sdk.join("hearth_sdk"), &out.join("sdk"))?;
    let component = out.join(format!("{}.wasm", project.name));
    run(
        "componentize-py",
        Command::new(&componentize)
            .current_dir(dir)
            .arg("--wit-path")
            .arg(&wit)
            .args(["--world", "partner-plugin", "componentize", &module, "--python-path"])
            .arg(dir)
            .arg("--python-path")
            .arg(&sdk)
            .arg("--output")
            .arg(&component),
    )?;
    Ok(component)
}

/// Copies the Python sources of `package` into `into/<package name>`; returns `into`.
fn copy_package(package: &Path, into: &Path) -> anyhow::Result<PathBuf> {
    let target = into.join(package.file_name().context("a package has a name")?);
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(&target)?;
    for entry in std::fs::read_dir(package).with_context(|| format!("reading {}", package.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "py") {
            std::fs::copy(&path, target.join(path.file_name().context("a file has a name")?))?;
        }
    }
    Ok(into.to_owned())
}

/// `python -m unittest` over `tests/`, with the SDK's `hearth_testing` importable.
pub fn test_command(project: &PluginProject) -> anyhow::Result<Command> {
    let Settings { sdk, .. } = settings(&project.dir)?;
    let mut path = vec![project.dir.clone(), sdk];
    path.extend(
        std::env::var_os("PYTHONPATH").map(|old| std::env::split_paths(&old).collect::<Vec<_>>()).unwrap_or_default(),
    );
    let mut command = Command::new(find(&project.dir, "python3"));
    command.args(["-m", "unittest", "discover", "--start-directory", "tests"]);
    command.env("PYTHONPATH", std::env::join_paths(path)?);
    // No `__pycache__` written into the SDK's directory.
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    Ok(command)
}
