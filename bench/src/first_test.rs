//! A partner's first test: `hearth plugin new`, then `hearth plugin test` in a clean
//! target directory (crates already downloaded), timed, and timed again after it. The
//! `hearth` binary is the one built beside this benchmark (`target/release/hearth`).

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What `hearth plugin test` may take the first time, on two cores.
const TARGET: Duration = Duration::from_secs(120);

/// The `hearth` binary built beside this benchmark, run as a partner runs it: with an
/// SDK cache of its own and the plugin's own target directory (nothing of this
/// workspace's build).
pub struct PartnerCli {
    binary: PathBuf,
    cache: PathBuf,
}

impl PartnerCli {
    pub fn new(cache: &Path) -> anyhow::Result<Self> {
        let binary = std::env::current_exe()?.with_file_name(format!("hearth{}", std::env::consts::EXE_SUFFIX));
        if !binary.is_file() {
            bail!("no {}: cargo build --release -p hearth-cli", binary.display());
        }
        Ok(PartnerCli { binary, cache: cache.to_owned() })
    }

    /// Runs `hearth ARGS` and returns its standard output; fails with its standard error.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = Command::new(&self.binary)
            .args(args)
            .env("HEARTH_CACHE_DIR", &self.cache)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running hearth {args:?}"))?;
        if !output.status.success() {
            bail!("hearth {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

pub fn first_test() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let hearth = PartnerCli::new(&dir.path().join("cache"))?;
    let plugin = dir.path().join("door-counter");
    let run = |args: &[&str]| -> anyhow::Result<Duration> {
        let started = Instant::now();
        hearth.run(args)?;
        Ok(started.elapsed())
    };
    let path = plugin.display().to_string();
    run(&["plugin", "new", "door-counter", "--publisher", "bench", "--dir", &path])?;
    let first = run(&["plugin", "test", "--path", &path])?;
    let again = run(&["plugin", "test", "--path", &path])?;
    println!("\n== A new plugin's first test (hearth plugin new, then hearth plugin test) ==");
    println!(
        "first run, clean target directory: {:.1} s ({:.2}× the {} s target); the next run: {:.1} s",
        first.as_secs_f64(),
        first.as_secs_f64() / TARGET.as_secs_f64(),
        TARGET.as_secs(),
        again.as_secs_f64()
    );
    Ok(())
}
