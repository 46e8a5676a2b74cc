//! `hearth plugin new`: a project in each language from the templates in
//! `cli/templates/`, the same plugin in all three (a kv-only fridge-door counter with
//! a `stats` service), built against the SDK this binary carries.

use super::Lang;
use anyhow::{Context as _, bail};
use hearth_package::Manifest;
use std::path::Path;

const MANIFEST: &str = include_str!("../../templates/hearth.toml");

/// Each language's files: (path in the project, template).
fn files(lang: Lang) -> &'static [(&'static str, &'static str)] {
    match lang {
        Lang::Rust => &[
            ("Cargo.toml", include_str!("../../templates/rust/Cargo.toml")),
            ("src/lib.rs", include_str!("../../templates/rust/lib.rs")),
            ("tests/plugin.rs", include_str!("../../templates/rust/plugin.rs")),
            // The dependency versions the SDK is tested with; cargo drops what is unused.
            ("Cargo.lock", include_str!("../../../Cargo.lock")),
            (".gitignore", "/target\n*.hpkg\n*.key\n.hearth-dev.json\n"),
        ],
        Lang::TypeScript => &[
            ("package.json", include_str!("../../templates/ts/package.json")),
            ("tsconfig.json", include_str!("../../templates/ts/tsconfig.json")),
            ("src/plugin.ts", include_str!("../../templates/ts/plugin.ts")),
            ("tests/plugin.test.mjs", include_str!("../../templates/ts/plugin.test.mjs")),
            (".gitignore", "/target\n/node_modules\n*.hpkg\n*.key\n.hearth-dev.json\n"),
        ],
        Lang::Python => &[
            ("pyproject.toml", include_str!("../../templates/python/pyproject.toml")),
            ("app.py", include_str!("../../templates/python/app.py")),
            ("tests/test_plugin.py", include_str!("../../templates/python/test_plugin.py")),
            ("requirements-dev.txt", include_str!("../../templates/python/requirements-dev.txt")),
            (".gitignore", "/target\n/.venv\n__pycache__/\n*.hpkg\n*.key\n.hearth-dev.json\n"),
        ],
    }
}

pub fn create(lang: Lang, name: &str, id: &str, publisher: &str, dir: &Path, sdk: Option<&Path>) -> anyhow::Result<()> {
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
    let manifest = fill(MANIFEST);
    let _: Manifest = manifest.parse().with_context(|| format!("--id {id:?} or --publisher {publisher:?}"))?;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("hearth.toml"), manifest)?;
    for (path, template) in files(lang) {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().context("a file has a directory")?)?;
        // The lock file is copied as it is: it holds no placeholders.
        std::fs::write(&target, if *path == "Cargo.lock" { (*template).to_owned() } else { fill(template) })?;
    }
    Ok(())
}
