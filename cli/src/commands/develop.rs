//! The partner's side of `hearth plugin`: a new plugin from the template, build,
//! test, pack and publish. None of it needs a running host.

use anyhow::{Context as _, bail};
use clap::Subcommand;
use hearth_package::Manifest;
use hearth_package::package::{Package, parse_secret_key};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A plugin crate on disk: its directory, package name and manifest.
pub struct PluginCrate {
    pub dir: PathBuf,
    pub name: String,
    pub manifest_text: String,
    pub manifest: Manifest,
}

impl PluginCrate {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let cargo: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
            .with_context(|| format!("{} is not a plugin crate (no Cargo.toml)", dir.display()))?
            .parse()?;
        let name = cargo
            .get("package")
            .and_then(|package| package.get("name"))
            .and_then(|name| name.as_str())
            .context("Cargo.toml has no [package] name")?
            .to_owned();
        let manifest_text = std::fs::read_to_string(dir.join("hearth.toml"))
            .with_context(|| format!("{} has no hearth.toml", dir.display()))?;
        let manifest = manifest_text.parse()?;
        Ok(PluginCrate { dir: dir.to_owned(), name, manifest_text, manifest })
    }

    /// Builds the component (release, wasm32-wasip2) and checks it as an install would.
    pub fn build(&self) -> anyhow::Result<PathBuf> {
        eprintln!("building {} for wasm32-wasip2 …", self.name);
        let component = hearth_package::build::build_component(&self.dir)?;
        let bytes = std::fs::read(&component)?;
        let notices = hearth_host::runtime::component::validate(&self.manifest, &bytes)
            .with_context(|| format!("{} would be refused at install", component.display()))?;
        for notice in notices {
            eprintln!("note: {notice}");
        }
        eprintln!(
            "{}: {} KiB, a valid {} component",
            component.display(),
            bytes.len().div_ceil(1024),
            self.manifest.plugin.id
        );
        Ok(component)
    }
}

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Create a plugin crate from the template; it builds and passes its tests as is.
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
    },
    /// Build the plugin in PATH for wasm32-wasip2 and validate it as an install would.
    Build {
        #[arg(long, default_value = ".")]
        path: PathBuf,
    },
    /// Build, then run the crate's tests (which load the component into a real host).
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
        PartnerCommand::New { name, id, publisher, dir, sdk } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            let id = id.unwrap_or_else(|| format!("com.{publisher}.{name}"));
            new_plugin(&name, &id, &publisher, &dir, sdk.as_deref())?;
            println!("created {} ({id}); next: cd {} && hearth plugin test", dir.display(), dir.display());
        }
        PartnerCommand::Build { path } => {
            let plugin = PluginCrate::open(&path)?;
            warn_unmatched(&plugin.manifest_text.parse()?);
            let built = plugin.build()?;
            println!("{}", built.display());
        }
        PartnerCommand::Test { path } => {
            let plugin = PluginCrate::open(&path)?;
            plugin.build()?;
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            // The tests' host is this very binary (hearth-testing runs `hearth serve`).
            let status = Command::new(cargo)
                .current_dir(&plugin.dir)
                .args(["test", "--release"])
                .env("HEARTH_BIN", std::env::current_exe()?)
                .status()?;
            if !status.success() {
                bail!("the tests of {} failed", plugin.name);
            }
        }
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
            let plugin = PluginCrate::open(path)?;
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

fn new_plugin(name: &str, id: &str, publisher: &str, dir: &Path, sdk: Option<&Path>) -> anyhow::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid {
        bail!("{name:?}: a plugin name is a-z, 0-9 and '-', starting with a letter");
    }
    if dir.exists() {
        bail!("{} exists", dir.display());
    }
    let sdk = match sdk {
        Some(sdk) if crate::sdk::is_sdk(sdk) => sdk.canonicalize()?,
        Some(sdk) => bail!("{} is not the Hearth SDK (its sdk/ directory, with testing/ inside)", sdk.display()),
        None => crate::sdk::unpack().context("unpacking the SDK this binary carries")?,
    };
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{id}}", id)
            .replace("{{publisher}}", publisher)
            .replace("{{sdk}}", &sdk.display().to_string())
            .replace("{{api}}", hearth_package::api_version!())
    };
    let manifest = fill(TEMPLATE_MANIFEST);
    let _: Manifest = manifest.parse().with_context(|| format!("--id {id:?} or --publisher {publisher:?}"))?;
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::create_dir_all(dir.join("tests"))?;
    std::fs::write(dir.join("Cargo.toml"), fill(TEMPLATE_CARGO))?;
    std::fs::write(dir.join("hearth.toml"), manifest)?;
    std::fs::write(dir.join("src/lib.rs"), fill(TEMPLATE_LIB))?;
    std::fs::write(dir.join("tests/plugin.rs"), fill(TEMPLATE_TEST))?;
    std::fs::write(dir.join(".gitignore"), "/target\n*.hpkg\n*.key\n.hearth-dev.json\n")?;
    // The dependency versions the SDK is tested with; cargo drops what is unused.
    std::fs::write(dir.join("Cargo.lock"), TEMPLATE_LOCK)?;
    Ok(())
}

const TEMPLATE_LOCK: &str = include_str!("../../../Cargo.lock");

const TEMPLATE_CARGO: &str = r#"[package]
name = "{{name}}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
hearth-sdk = { path = "{{sdk}}" }
serde_json = "1"

[dev-dependencies]
hearth-testing = { path = "{{sdk}}/testing" }
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

# A crate of its own, not part of an enclosing workspace.
[workspace]

# Tests run in release: the host compiles the component with an optimised Cranelift.
[profile.release]
incremental = true
debug = "line-tables-only"
"#;

const TEMPLATE_MANIFEST: &str = r#"[plugin]
id = "{{id}}"
version = "0.1.0"
publisher = "{{publisher}}"
api = "{{api}}"
description = "Counts how often each household opens its fridge"

[subscriptions]
topics = ["appliance.fridge.door"]

[services]
provides = ["{{name}}.stats"]

[capabilities]
kv = true
"#;

const TEMPLATE_LIB: &str = r#"//! {{name}}: counts how often each household opens its fridge, and answers
//! `{{name}}.stats` with the count for the calling household.

use hearth_sdk::{DoorState, Event, EventBody, Plugin, PluginError, ServiceRequest, ServiceResponse, kv};

#[derive(Default)]
struct Counter;

impl Plugin for Counter {
    fn on_event(&mut self, event: Event) -> hearth_sdk::Result<()> {
        if let EventBody::FridgeDoor(DoorState::Open) = event.body {
            let key = kv::household_key(&event.household, "opens");
            let opens: u64 = kv::get(&key)?.unwrap_or(0);
            kv::set(&key, &(opens + 1))?;
        }
        Ok(())
    }

    fn handle(&mut self, request: ServiceRequest) -> hearth_sdk::Result<ServiceResponse> {
        if request.operation != "stats" {
            return Err(PluginError::NotFound(format!("no operation {}.{}", request.service, request.operation)));
        }
        let household = request.require_household()?;
        let opens: u64 = kv::get(&kv::household_key(household, "opens"))?.unwrap_or(0);
        ServiceResponse::json(&serde_json::json!({ "fridge_opens": opens }))
    }
}

hearth_sdk::register_plugin!(Counter);
"#;

const TEMPLATE_TEST: &str = r#"//! The plugin in a real host: `hearth plugin test` (or `cargo test --release`).

use hearth_testing::{TestHost, events};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_fridge_openings_per_household() -> Result<(), hearth_testing::TestError> {
    let mut host = TestHost::new().await?;
    host.install_crate(env!("CARGO_MANIFEST_DIR")).await?;
    host.add_device("fridge-1", "fridge").await?;

    host.send("fridge-1", vec![events::fridge_door("open"), events::fridge_door("closed"), events::fridge_door("open")])
        .await?;

    let stats = host.call("{{name}}", "stats", serde_json::json!({})).await?;
    assert_eq!(stats["fridge_opens"], 2);
    Ok(())
}
"#;
