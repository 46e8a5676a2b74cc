//! A plugin project on disk, in any of the languages Hearth has an SDK for: its
//! directory, language, name and manifest, and how to build and test it. The language
//! is read off the project: `Cargo.toml` (Rust), `package.json` (TypeScript),
//! `pyproject.toml` (Python).

mod python;
pub mod template;
mod typescript;

use anyhow::{Context as _, bail};
use hearth_package::Manifest;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The languages a plugin can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    #[value(name = "ts", alias = "typescript")]
    TypeScript,
    #[value(alias = "py")]
    Python,
}

impl Lang {
    /// The project file that marks a project of this language.
    fn marker(self) -> &'static str {
        match self {
            Lang::Rust => "Cargo.toml",
            Lang::TypeScript => "package.json",
            Lang::Python => "pyproject.toml",
        }
    }

    fn detect(dir: &Path) -> anyhow::Result<Lang> {
        [Lang::Rust, Lang::TypeScript, Lang::Python]
            .into_iter()
            .find(|lang| dir.join(lang.marker()).is_file())
            .with_context(|| {
                format!("{} is not a plugin project: no Cargo.toml, package.json or pyproject.toml", dir.display())
            })
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lang::Rust => "Rust",
            Lang::TypeScript => "TypeScript",
            Lang::Python => "Python",
        })
    }
}

/// A plugin project: its directory, language, package name and manifest.
pub struct PluginProject {
    pub dir: PathBuf,
    pub lang: Lang,
    pub name: String,
    pub manifest_text: String,
    pub manifest: Manifest,
}

impl PluginProject {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        // Absolute: the toolchains run inside the project with paths into it.
        let dir = &dir.canonicalize().with_context(|| format!("no plugin project at {}", dir.display()))?;
        let lang = Lang::detect(dir)?;
        let name = match lang {
            Lang::Rust => toml_name(dir, "Cargo.toml", "package")?,
            Lang::TypeScript => typescript::package_name(dir)?,
            Lang::Python => toml_name(dir, "pyproject.toml", "project")?,
        };
        let manifest_text = std::fs::read_to_string(dir.join("hearth.toml"))
            .with_context(|| format!("{} has no hearth.toml", dir.display()))?;
        let manifest = manifest_text.parse()?;
        Ok(PluginProject { dir: dir.to_owned(), lang, name, manifest_text, manifest })
    }

    /// Builds the component and checks it as an install would.
    pub fn build(&self) -> anyhow::Result<PathBuf> {
        eprintln!("building {} ({}) for wasm32-wasip2 …", self.name, self.lang);
        let started = std::time::Instant::now();
        let component = match self.lang {
            Lang::Rust => hearth_package::build::build_component(&self.dir)?,
            Lang::TypeScript => typescript::build(self)?,
            Lang::Python => python::build(self)?,
        };
        let bytes = std::fs::read(&component)?;
        let notices = hearth_host::runtime::component::validate(&self.manifest, &bytes)
            .with_context(|| format!("{} would be refused at install", component.display()))?;
        for notice in notices {
            eprintln!("note: {notice}");
        }
        eprintln!(
            "{}: {} KiB, a valid {} component, built in {:.1} s",
            component.display(),
            bytes.len().div_ceil(1024),
            self.manifest.plugin.id,
            started.elapsed().as_secs_f64()
        );
        Ok(component)
    }

    /// Runs the project's tests (which start this binary as their host) after a build.
    pub fn test(&self) -> anyhow::Result<()> {
        self.build()?;
        let mut command = match self.lang {
            Lang::Rust => {
                let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
                cargo.args(["test", "--release"]);
                cargo
            }
            Lang::TypeScript => typescript::test_command(self)?,
            Lang::Python => python::test_command(self)?,
        };
        // The tests' host is this very binary (the test helpers run `hearth serve`).
        let status = command.current_dir(&self.dir).env("HEARTH_BIN", std::env::current_exe()?).status()?;
        if !status.success() {
            bail!("the tests of {} failed", self.name);
        }
        Ok(())
    }

    /// Where build output goes: `target/hearth` in the project.
    fn out_dir(&self) -> anyhow::Result<PathBuf> {
        let out = self.dir.join("target/hearth");
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        Ok(out)
    }
}

/// `[section] name` of a TOML project file.
fn toml_name(dir: &Path, file: &str, section: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(dir.join(file)).with_context(|| format!("reading {file}"))?;
    let table: toml::Table = text.parse().with_context(|| format!("{file} is not TOML"))?;
    let name = table.get(section).and_then(|s| s.get("name")).and_then(toml::Value::as_str);
    Ok(name.with_context(|| format!("{file} has no [{section}] name"))?.to_owned())
}

/// Runs a toolchain step, its output shown as it goes; fails naming the step.
fn run(step: &str, command: &mut Command) -> anyhow::Result<()> {
    let status = command.status().with_context(|| format!("{step}: cannot run {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    Ok(())
}

/// Writes the WIT of the world this binary hosts into `dir` (the version the
/// component is built against is the host's own).
fn write_wit(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (path, bytes) in crate::sdk::FILES {
        if let Some(name) = path.strip_prefix("wit/").filter(|name| !name.contains('/')) {
            std::fs::write(dir.join(name), bytes)?;
        }
    }
    Ok(())
}
