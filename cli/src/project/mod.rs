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

    /// Builds the component and checks it as an install would. A TypeScript or Python
    /// build (tens of seconds: a JavaScript engine or CPython frozen in, then compiled
    /// to check it) is skipped while nothing it is made from changed since the last
    /// one; a Rust build is cargo's to skip.
    pub fn build(&self) -> anyhow::Result<PathBuf> {
        let stamp = match self.lang {
            Lang::Rust => None,
            Lang::TypeScript | Lang::Python => Some(Stamp::of(self)?),
        };
        if let Some(component) = stamp.as_ref().and_then(Stamp::fresh) {
            eprintln!("{}: up to date (nothing it is built from changed)", component.display());
            return Ok(component);
        }
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
        if let Some(stamp) = stamp {
            stamp.record(&component)?;
        }
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

/// What a TypeScript or Python component was built from — the project's sources
/// (`hearth.toml` among them), the SDK it builds against, this binary (whose WIT it
/// was built with) — and where the last build's component is: `target/hearth/build.stamp`.
struct Stamp {
    file: PathBuf,
    sources: u64,
}

impl Stamp {
    fn of(project: &PluginProject) -> anyhow::Result<Stamp> {
        let sdk = match project.lang {
            Lang::TypeScript => typescript::sdk_dir(&project.dir),
            _ => python::sdk_dir(&project.dir)?,
        };
        let sources = fingerprint(&[&project.dir, &sdk, &std::env::current_exe()?]);
        Ok(Stamp { file: project.out_dir()?.join("build.stamp"), sources })
    }

    /// The last build's component, if it was built from what is there now.
    fn fresh(&self) -> Option<PathBuf> {
        let recorded = std::fs::read_to_string(&self.file).ok()?;
        let (sources, component) = recorded.split_once(' ')?;
        let component = PathBuf::from(component);
        (sources == self.sources.to_string() && component.is_file()).then_some(component)
    }

    fn record(&self, component: &Path) -> anyhow::Result<()> {
        std::fs::write(&self.file, format!("{} {}", self.sources, component.display()))
            .with_context(|| format!("writing {}", self.file.display()))
    }
}

/// What the files under `roots` look like now: each one's path, size and modification
/// time (build output, installed packages and hidden entries left out), hashed. A root
/// may be a single file.
pub fn fingerprint(roots: &[&Path]) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut hash_file = |path: &Path, meta: &std::fs::Metadata| {
        path.hash(&mut hasher);
        meta.len().hash(&mut hasher);
        meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH).hash(&mut hasher);
    };
    for root in roots {
        let mut pending = vec![root.to_path_buf()];
        while let Some(at) = pending.pop() {
            if let Ok(meta) = std::fs::metadata(&at)
                && meta.is_file()
            {
                hash_file(&at, &meta);
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&at) else { continue };
            let mut entries: Vec<_> = entries.flatten().collect();
            entries.sort_by_key(|entry| entry.file_name());
            for entry in entries {
                let name = entry.file_name();
                // Build output and installed packages are not sources.
                if name.to_string_lossy().starts_with('.')
                    || ["target", "node_modules", "__pycache__"].iter().any(|skip| name == *skip)
                {
                    continue;
                }
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    pending.push(entry.path());
                } else {
                    hash_file(&entry.path(), &meta);
                }
            }
        }
    }
    hasher.finish()
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
