//! The partner's side of `hearth plugin`: a new plugin from the template, build,
//! test, pack and publish. None of it needs a running host.

use crate::project::{Lang, PluginProject};
use anyhow::Context as _;
use clap::Subcommand;
use hearth_package::Manifest;
use hearth_package::package::{Package, parse_secret_key};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Create a plugin project from the template (Rust, TypeScript or Python); it builds
    /// and passes its tests as is.
    New {
        /// Crate and directory name: a-z, 0-9 and '-'.
        name: String,
        /// Plugin id (reverse-DNS); `com.PUBLISHER.NAME` by default.
        #[arg(long)]
        id: Option<String>,
        #[arg(long, default_value = "example")]
        publisher: String,
        /// Where to create it; `./NAME` by default.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The Hearth SDK sources to build against; by default the SDK this binary
        /// carries, unpacked into a cache directory.
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// The language: rust, ts (TypeScript) or python.
        #[arg(long, value_enum, default_value = "rust")]
        lang: Lang,
    },
    /// Build the plugin in PATH (Rust, TypeScript or Python, read off its project file)
    /// into a component and validate it as an install would.
    Build {
        #[arg(long, default_value = ".")]
        path: PathBuf,
    },
    /// Build, then run the project's tests (which load the component into a real host):
    /// `cargo test`, `npm test` or `python -m unittest`.
    Test {
        #[arg(long, default_value = ".")]
        path: PathBuf,
    },
    /// Build (unless --component is given) and write a signed package.
    Pack {
        #[arg(long, default_value = ".")]
        path: PathBuf,
        /// A built component to pack instead of building PATH.
        #[arg(long)]
        component: Option<PathBuf>,
        /// The manifest; PATH/hearth.toml by default.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// The publisher's secret key (`hearth keys generate`).
        #[arg(long)]
        key: PathBuf,
        /// The package file; ID-VERSION.hpkg by default.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Upload a package to a registry (publisher token).
    Publish {
        package: PathBuf,
        #[arg(long, env = "HEARTH_REGISTRY")]
        registry: String,
        #[arg(long, env = "HEARTH_REGISTRY_TOKEN", hide_env_values = true)]
        registry_token: String,
    },
}

pub fn run(command: PartnerCommand) -> anyhow::Result<()> {
    match command {
        PartnerCommand::New { name, id, publisher, dir, sdk, lang } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let id = id.unwrap_or_else(|| format!("com.{publisher}.{name}"));
            crate::project::template::create(lang, &name, &id, &publisher, &dir, sdk.as_deref())?;
            println!("created {} ({id}); next: cd {} && hearth plugin test", dir.display(), dir.display());
        }
        PartnerCommand::Build { path } => {
            let plugin = PluginProject::open(&path)?;
            warn_unmatched(&plugin.manifest);
            let built = plugin.build()?;
            println!("{}", built.display());
        }
        PartnerCommand::Test { path } => PluginProject::open(&path)?.test()?,
        PartnerCommand::Pack { path, component, manifest, key, out } => {
            let written = pack(&path, component.as_deref(), manifest.as_deref(), &key, out)?;
            println!("{}", written.display());
        }
        PartnerCommand::Publish { package, registry, registry_token } => {
            let bytes = std::fs::read(&package).with_context(|| format!("reading {}", package.display()))?;
            let id = Package::read(&bytes)?.manifest.plugin.id;
            let published = hearth_registry_client::Registry::new(&registry).publish(&registry_token, bytes)?;
            println!("published {id} {} (package {})", published.version, published.package);
        }
    }
    Ok(())
}

fn pack(
    path: &Path,
    component: Option<&Path>,
    manifest: Option<&Path>,
    key: &Path,
    out: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    let key = parse_secret_key(&std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?)?;
    let (manifest_text, component) = match component {
        Some(component) => {
            let manifest_path = manifest.map_or_else(|| path.join("hearth.toml"), Path::to_path_buf);
            let text = std::fs::read_to_string(&manifest_path)
                .with_context(|| format!("reading {}", manifest_path.display()))?;
            let bytes = std::fs::read(component).with_context(|| format!("reading {}", component.display()))?;
            for notice in hearth_host::runtime::component::validate(&text.parse()?, &bytes)? {
                eprintln!("note: {notice}");
            }
            (text, bytes)
        }
        None => {
            let plugin = PluginProject::open(path)?;
            let built = plugin.build()?;
            (plugin.manifest_text, std::fs::read(built)?)
        }
    };
    let manifest: Manifest = manifest_text.parse()?;
    warn_unmatched(&manifest);
    let package = Package::build(&manifest_text, &component, Some(&key))?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}-{}.hpkg", manifest.plugin.id, manifest.plugin.version)));
    std::fs::write(&out, &package).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "packed {} {} ({} KiB), signed by {}",
        manifest.plugin.id,
        manifest.plugin.version,
        package.len().div_ceil(1024),
        hex::encode(key.verifying_key().as_bytes())
    );
    Ok(out)
}

/// Subscriptions no event can match are packed anyway (the catalogue grows), but the
/// partner hears of them first.
pub fn warn_unmatched(manifest: &Manifest) {
    for warning in hearth_host::events::catalog::unmatched_subscriptions(manifest) {
        eprintln!("warning: {warning}");
    }
}
