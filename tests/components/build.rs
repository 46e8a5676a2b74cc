#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // a build script fails by panicking
//! Builds the example plugins and the hostile test fixtures for wasm32-wasip2 once,
//! into `target/plugins`, and generates constants with the paths of the components
//! (see wasmtime's `crates/test-programs/artifacts/build.rs` for the pattern).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (package, constant name, manifest of the package's plugin, relative to the workspace)
const COMPONENTS: &[(&str, &str, Option<&str>)] = &[
    ("recipe-service", "RECIPE_SERVICE", Some("example-plugins/recipe-service/hearth.toml")),
    ("ingredient-shop", "INGREDIENT_SHOP", Some("example-plugins/ingredient-shop/hearth.toml")),
    ("water-filter", "WATER_FILTER", Some("example-plugins/water-filter/hearth.toml")),
    ("air-care", "AIR_CARE", Some("example-plugins/air-care/hearth.toml")),
    ("hostile-plugin", "HOSTILE_PLUGIN", Some("tests/fixtures/hostile/hearth.toml")),
    ("recorder-plugin", "RECORDER_PLUGIN", Some("tests/fixtures/recorder/hearth.toml")),
    ("noop-plugin", "NOOP_PLUGIN", Some("tests/fixtures/noop/hearth.toml")),
    ("probe-plugin", "PROBE_PLUGIN", Some("tests/fixtures/probe/hearth.toml")),
    ("other-world", "OTHER_WORLD", None),
];

/// (folder under `tests/frozen/v0.1`, constant name) of the plugins built against WIT 0.1.
const V0_1_FIXTURES: &[(&str, &str)] = &[
    ("recipe-service", "RECIPE_SERVICE"),
    ("ingredient-shop", "INGREDIENT_SHOP"),
    ("water-filter", "WATER_FILTER"),
    ("air-care", "AIR_CARE"),
    ("recorder", "RECORDER"),
    ("noop", "NOOP"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.join("../..").canonicalize().expect("workspace root");
    let target_dir = workspace.join("target/plugins");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target_dir)
        // Plugins are shipped, not debugged in place: keep them small.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "true")
        // Flags meant for the host build must not leak into the wasm build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    for (package, _, _) in COMPONENTS {
        command.args(["--package", package]);
    }
    let status = command.status().expect("running cargo for the wasm components");
    assert!(
        status.success(),
        "building the plugin components failed; is the target installed? \
         (`rustup target add wasm32-wasip2`, or `cargo xtask setup`)"
    );

    let mut constants = String::new();
    for (package, constant, manifest) in COMPONENTS {
        let artifact = package.replace('-', "_");
        let release = target_dir.join("wasm32-wasip2/release");
        let wasm = release.join(format!("{artifact}.wasm"));
        assert!(wasm.exists(), "{} was not built", wasm.display());
        writeln!(constants, "/// `{package}` built for wasm32-wasip2.").unwrap();
        writeln!(constants, "pub const {constant}: &str = {:?};", wasm.display().to_string()).unwrap();
        if let Some(manifest) = manifest {
            writeln!(constants, "/// The hearth.toml of `{package}`.").unwrap();
            let path = workspace.join(manifest);
            writeln!(constants, "pub const {constant}_MANIFEST: &str = {:?};", path.display().to_string()).unwrap();
            println!("cargo:rerun-if-changed={}", path.display());
        }
        for dependency in dep_info(&release.join(format!("{artifact}.d"))) {
            println!("cargo:rerun-if-changed={}", dependency.display());
        }
    }
    // Plugins built against older WIT versions, kept as binaries (never rebuilt).
    for (folder, constant) in V0_1_FIXTURES {
        let dir = workspace.join("tests/frozen/v0.1").join(folder);
        for (suffix, file) in [("", "plugin.wasm"), ("_MANIFEST", "hearth.toml")] {
            let path = dir.join(file);
            assert!(path.exists(), "{} is missing", path.display());
            writeln!(constants, "/// `tests/frozen/v0.1/{folder}/{file}`: built against WIT 0.1.").unwrap();
            writeln!(constants, "pub const V0_1_{constant}{suffix}: &str = {:?};", path.display().to_string()).unwrap();
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    // The memory hog: the recorder with extra core modules, each with a memory of its
    // own that its start function grows and touches (see `memory_hog`).
    let recorder = std::fs::read(target_dir.join("wasm32-wasip2/release/recorder_plugin.wasm")).expect("recorder");
    let hog = target_dir.join("memory_hog.wasm");
    std::fs::write(&hog, memory_hog(&recorder, HOG_MODULES, HOG_PAGES)).expect("writing memory_hog.wasm");
    writeln!(
        constants,
        "/// The recorder plus {HOG_MODULES} core modules that each fill a memory of their own with \
         {HOG_PAGES} pages (64 KiB) at instantiation: written straight against the component \
         binary format, no SDK. Installed with the recorder's manifest."
    )
    .unwrap();
    writeln!(constants, "pub const MEMORY_HOG: &str = {:?};", hog.display().to_string()).unwrap();
    writeln!(constants, "/// Extra memories of [`MEMORY_HOG`].\npub const MEMORY_HOG_MODULES: u32 = {HOG_MODULES};")
        .unwrap();
    writeln!(
        constants,
        "/// Pages each extra memory of [`MEMORY_HOG`] fills.\npub const MEMORY_HOG_PAGES: u32 = {HOG_PAGES};"
    )
    .unwrap();

    // Many modules: the recorder with as many extra (empty) core modules as a Python
    // plugin has in all, each instantiated: a guest that takes many core instances.
    let many = target_dir.join("many_modules.wasm");
    std::fs::write(&many, with_extra_modules(&recorder, MANY_MODULES, &wasm_encoder::Module::new()))
        .expect("writing many_modules.wasm");
    writeln!(
        constants,
        "/// The recorder plus {MANY_MODULES} empty core modules, each instantiated (a Python \
         plugin built with componentize-py has 14 core modules): written straight against \
         the component binary format. Installed with the recorder's manifest."
    )
    .unwrap();
    writeln!(constants, "pub const MANY_MODULES: &str = {:?};", many.display().to_string()).unwrap();
    writeln!(
        constants,
        "/// Extra core modules of [`MANY_MODULES`].\npub const MANY_MODULES_EXTRA: u32 = {MANY_MODULES};"
    )
    .unwrap();

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("components.rs");
    std::fs::write(out, constants).expect("writing components.rs");
}

/// Extra memories of the memory hog, and the 64 KiB pages each fills (16 MiB): each
/// memory alone stays under a 64 MiB limit, together they pass it.
const HOG_MODULES: u32 = 6;
const HOG_PAGES: u32 = 256;

/// Extra core modules of the many-modules component.
const MANY_MODULES: u32 = 14;

/// `component` with `modules` more top-level core modules and an instance of each.
/// Each module's start function grows its own memory to `pages` pages and writes a
/// byte into every page, so the memory is really resident.
fn memory_hog(component: &[u8], modules: u32, pages: u32) -> Vec<u8> {
    use wasm_encoder::{
        CodeSection, Function, FunctionSection, Instruction, MemArg, MemorySection, MemoryType, Module, StartSection,
        TypeSection, ValType,
    };
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    module.section(&types);
    let mut functions = FunctionSection::new();
    functions.function(0);
    module.section(&functions);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
    module.section(&memories);
    module.section(&StartSection { function_index: 0 });
    let mut fill = Function::new([(1, ValType::I32)]);
    let store = MemArg { offset: 0, align: 0, memory_index: 0 };
    for instruction in [
        Instruction::I32Const(pages as i32 - 1),
        Instruction::MemoryGrow(0),
        Instruction::Drop,
        Instruction::Loop(wasm_encoder::BlockType::Empty),
        Instruction::LocalGet(0),
        Instruction::I32Const(65_536),
        Instruction::I32Mul,
        Instruction::I32Const(1),
        Instruction::I32Store8(store),
        Instruction::LocalGet(0),
        Instruction::I32Const(1),
        Instruction::I32Add,
        Instruction::LocalTee(0),
        Instruction::I32Const(pages as i32),
        Instruction::I32LtU,
        Instruction::BrIf(0),
        Instruction::End,
        Instruction::End,
    ] {
        fill.instruction(&instruction);
    }
    let mut code = CodeSection::new();
    code.function(&fill);
    module.section(&code);
    with_extra_modules(component, modules, &module)
}

/// `component` with `modules` copies of `module` at its top level and an instance of each.
fn with_extra_modules(component: &[u8], modules: u32, module: &wasm_encoder::Module) -> Vec<u8> {
    use wasm_encoder::{ComponentSectionId, Encode, ModuleSection};
    // Core modules are numbered in the order their sections appear at the top level.
    let mut depth = 0i32;
    let mut existing = 0u32;
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        match payload.expect("the recorder component parses") {
            wasmparser::Payload::ModuleSection { .. } => {
                existing += u32::from(depth == 0);
                depth += 1;
            }
            wasmparser::Payload::ComponentSection { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            _ => {}
        }
    }
    let mut bytes = component.to_vec();
    for n in 0..modules {
        bytes.push(ComponentSectionId::CoreModule as u8);
        ModuleSection(module).encode(&mut bytes);
        let mut instances = wasm_encoder::InstanceSection::new();
        instances.instantiate(existing + n, Vec::<(&str, wasm_encoder::ModuleArg)>::new());
        bytes.push(ComponentSectionId::CoreInstance as u8);
        instances.encode(&mut bytes);
    }
    bytes
}

/// The source files cargo recorded for one artifact (`target: dep dep ...`).
fn dep_info(path: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let Some((_, deps)) = text.lines().next().and_then(|line| line.split_once(": ")) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => current.push(chars.next().unwrap_or(' ')),
            ' ' => {
                if !current.is_empty() {
                    paths.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        paths.push(PathBuf::from(current));
    }
    paths
}
