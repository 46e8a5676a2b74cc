//! A partner's first test: `hearth plugin new`, then `hearth plugin test` in a clean
//! target directory (crates already downloaded), timed, and timed again after it. The
//! `hearth` binary is the one built beside this benchmark (`target/release/hearth`).

use anyhow::{Context as _, bail};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What `hearth plugin test` may take the first time, on two cores.
const TARGET: Duration = Duration::from_secs(120);

pub fn first_test() -> anyhow::Result<()> {
    let hearth = std::env::current_exe()?.with_file_name(format!("hearth{}", std::env::consts::EXE_SUFFIX));
    if !hearth.is_file() {
        bail!("no {}: cargo build --release -p hearth-cli", hearth.display());
    }
    let dir = tempfile::tempdir()?;
    let plugin = dir.path().join("door-counter");
    let run = |args: &[&str]| -> anyhow::Result<Duration> {
        let started = Instant::now();
        let status = Command::new(&hearth)
            .args(args)
            .env("HEARTH_CACHE_DIR", dir.path().join("cache"))
            // The plugin's own target directory: nothing of this workspace's build.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .with_context(|| format!("running hearth {args:?}"))?;
        if !status.success() {
            bail!("hearth {args:?} failed");
        }
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
