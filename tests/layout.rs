//! The layout rules of the connection crates, checked on their source: no import cycle between
//! files (a file's `use crate::…`/`use super::…` lines and `mod` declarations are its arrows)
//! and no function longer than a screen (80 lines) in `rk-ssh`, `rk-connect` and `rk-cp`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: &[&str] = &["crates/rk-ssh", "crates/rk-connect", "crates/rk-cp"];
const MAX_FUNCTION_LINES: usize = 80;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `src` (`connect/handler.rs` → `connect::handler`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod" && p != "lib" && p != "main")
        .collect();
    parts.join("::")
}

/// The modules a file names in its `use` lines: `crate::…`, `super::…`, and paths relative to
/// the file's own module (`use settings::Plan;` in lib.rs). The longest prefix that is a module
/// of the crate counts; a name the crate root re-exports counts as the root itself, so that
/// importing through lib.rs shows up as the loop it is.
fn imports(module: &str, text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let super_of = module
        .rsplit_once("::")
        .map_or(String::new(), |(p, _)| p.to_string());
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}::{b}")
        }
    };
    let mut statement = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        if statement.is_empty()
            && !(line.starts_with("use ")
                || line.starts_with("pub(crate) use ")
                || line.starts_with("pub use "))
        {
            continue;
        }
        statement.push_str(line);
        if !line.ends_with(';') {
            continue;
        }
        let body = std::mem::take(&mut statement);
        let body = body
            .split("use ")
            .nth(1)
            .unwrap_or_default()
            .trim_end_matches(';');
        let (root, rest) = match body.split_once("::") {
            Some(("crate", rest)) => (String::new(), rest.to_string()),
            Some(("super", rest)) => (super_of.clone(), rest.to_string()),
            Some((first, _)) if modules.contains(&join(module, first)) => {
                (module.to_string(), body.to_string())
            }
            _ => continue,
        };
        for path in expand(&rest) {
            let mut best = None;
            let mut current = root.clone();
            for part in path.split("::") {
                current = join(&current, part);
                if modules.contains(&current) {
                    best = Some(current.clone());
                }
            }
            // Nothing deeper: the name lives in `root` itself (the crate root re-exports it).
            let target = best.unwrap_or_else(|| root.clone());
            if target != module {
                out.insert(target);
            }
        }
    }
    out
}

/// `a::{b, c::{d}}` → `a::b`, `a::c::d`.
fn expand(rest: &str) -> Vec<String> {
    let rest = rest.trim();
    let Some(open) = rest.find('{') else {
        return vec![rest.split(" as ").next().unwrap_or(rest).to_string()];
    };
    let prefix = &rest[..open];
    let inner = &rest[open + 1..rest.rfind('}').unwrap_or(rest.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    let parts: Vec<&str> = parts.into_iter().map(str::trim).collect();
    // `a::{self, b}` names `a` itself too.
    let itself = parts
        .contains(&"self")
        .then(|| prefix.trim_end_matches("::").to_string());
    parts
        .into_iter()
        .filter(|p| !p.is_empty() && *p != "self")
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .chain(itself)
        .collect()
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycle_between_files() {
    for krate in CRATES {
        let src = rk_e2e::workspace_root().join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let modules: BTreeSet<String> = files.iter().map(|f| module_of(&src, f)).collect();
        let mut graph = BTreeMap::new();
        for file in &files {
            let module = module_of(&src, file);
            let text = std::fs::read_to_string(file).unwrap();
            // A module's root (lib.rs, mod.rs) declares its children: not an import.
            let used = imports(&module, &text, &modules);
            graph.insert(module, used);
        }
        assert!(graph.len() > 3, "{krate}: no modules found");
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "{krate}: files import each other in a circle: {}",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn no_function_longer_than_a_screen() {
    let mut long = Vec::new();
    for krate in CRATES {
        let src = rk_e2e::workspace_root().join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let code = line.trim_start();
                let indent = line.len() - code.len();
                let is_fn = [
                    "fn ",
                    "pub fn ",
                    "pub(crate) fn ",
                    "pub(super) fn ",
                    "async fn ",
                    "pub async fn ",
                    "pub(crate) async fn ",
                    "pub(super) async fn ",
                ]
                .iter()
                .any(|p| code.starts_with(p));
                if !is_fn || code.ends_with(';') {
                    continue;
                }
                let close = format!("{}}}", " ".repeat(indent));
                let Some(end) = lines[i..].iter().position(|l| *l == close) else {
                    continue;
                };
                if end + 1 > MAX_FUNCTION_LINES {
                    long.push(format!("{}:{} ({} lines)", file.display(), i + 1, end + 1));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions longer than {MAX_FUNCTION_LINES} lines: {long:#?}"
    );
}
