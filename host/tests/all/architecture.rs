//! The shape of the host's source: modules depend on each other one way (no import
//! cycle between files) and no file grows past what a reader takes in at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file, in lines (tests included).
const MAX_FILE_LINES: usize = 500;

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// `events/log/sled.rs` → `events::log::sled`; `mod.rs` and `lib.rs` name their directory.
fn module_of(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|last| last == "mod" || last == "lib") {
        parts.pop();
    }
    parts.join("::")
}

/// Test code may reach anywhere, and comments only mention: only code before
/// `#[cfg(test)]`, without comment lines, counts.
fn non_test_code(text: &str) -> String {
    let code = text.find("#[cfg(test)]").map_or(text, |at| &text[..at]);
    code.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

#[test]
fn host_modules_have_no_import_cycle_and_no_file_is_too_long() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&root, &mut files);
    let modules: BTreeMap<String, PathBuf> = files.iter().map(|file| (module_of(&root, file), file.clone())).collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let lines = text.lines().count();
        assert!(lines <= MAX_FILE_LINES, "{} has {lines} lines", file.display());
        let code = non_test_code(&text);
        for (at, _) in code.match_indices("crate::") {
            let path: String =
                code[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
            // The longest module that `path` starts with.
            let segments: Vec<&str> = path.split("::").filter(|segment| !segment.is_empty()).collect();
            let target = (1..=segments.len())
                .rev()
                .map(|len| segments[..len].join("::"))
                .find(|candidate| modules.contains_key(candidate));
            if let Some(target) = target
                && target != *module
                && !module.starts_with(&format!("{target}::"))
            {
                let target = modules.get_key_value(&target).unwrap().0.as_str();
                edges.entry(module.as_str()).or_default().insert(target);
            }
        }
    }
    // The facade and the crate root may name anything; nothing names them back.
    for facade in ["", "host", "erasure"] {
        for (module, targets) in &edges {
            assert!(
                !targets.contains(facade) || ["", "host", "erasure"].contains(module),
                "{module} depends on the facade {facade:?}"
            );
        }
    }
    // Depth-first search for a cycle.
    fn visit<'a>(
        module: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(module) {
            return;
        }
        if let Some(start) = path.iter().position(|on_path| *on_path == module) {
            panic!("import cycle: {} -> {module}", path[start..].join(" -> "));
        }
        path.push(module);
        for target in edges.get(module).into_iter().flatten() {
            visit(target, edges, path, done);
        }
        path.pop();
        done.insert(module);
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        visit(module, &edges, &mut Vec::new(), &mut done);
    }
    assert!(modules.len() > 30, "found only {} modules", modules.len());
}
