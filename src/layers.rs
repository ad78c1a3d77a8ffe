//! The layering rule, checked: a module may import only modules on a lower floor, and the
//! modules inside one folder import each other without cycles. `docs/ARCHITECTURE.md` shows the
//! same floors; a new top-level module must be given one here.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

/// Every top-level module and its floor, ground first. Modules on one floor do not import each
/// other.
const FLOORS: &[(&str, u8)] = &[
    // Ground: rules and tools that know nothing of the domain.
    ("error", 0),
    ("clock", 1),
    ("config", 1),
    ("lifecycle", 2),
    ("text", 0),
    ("net", 0),
    ("httpsig", 1),
    ("urls", 0),
    ("metrics", 0),
    ("proxies", 0),
    ("guard", 0),
    // Storage, then what sits right on it.
    ("db", 2),
    ("accounts", 3),
    ("blocks", 3),
    ("keys", 3),
    ("live", 3),
    ("timetable", 3),
    ("signin", 4),
    // The handles every use case receives (also the federation library's data type).
    ("state", 5),
    // The domain, bottom up: the outgoing queue, the catalog, ActivityPub, the directory.
    ("delivery", 6),
    ("catalog", 7),
    ("federation", 8),
    ("streams", 9),
    ("listing", 6),
    ("views", 10),
    // Front ends and wiring.
    ("routes", 11),
    ("server", 12),
    ("cli", 13),
];

fn floor(module: &str) -> u8 {
    FLOORS
        .iter()
        .find(|(m, _)| *m == module)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("src/{module}: give it a floor in src/layers.rs"))
}

/// The module path of a file under `src/` (`streams/mod.rs` → `[streams]`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The paths `crate::…` and `super::…` name in `code`, use trees expanded, as module paths.
fn imports(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let base = if !starts_word {
            None
        } else if rest.starts_with("crate::") {
            Some((Vec::new(), 7))
        } else if rest.starts_with("super::") {
            let mut base = here.to_vec();
            base.pop();
            Some((base, 7))
        } else {
            None
        };
        match base {
            Some((base, skip)) => {
                i += skip;
                i = tree(code, i, &base, &mut out);
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// Reads one use tree at `i` (`a::b`, `a::{b, c::d}`, `{a, b}`) under `prefix`.
fn tree(code: &str, mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix.to_vec();
    let skip_space = |i: &mut usize| {
        while code[*i..].starts_with(char::is_whitespace) {
            *i += 1;
        }
    };
    loop {
        skip_space(&mut i);
        if code[i..].starts_with('{') {
            i += 1;
            loop {
                skip_space(&mut i);
                if code[i..].starts_with('}') {
                    return i + 1;
                }
                i = tree(code, i, &path, out);
                skip_space(&mut i);
                if code[i..].starts_with(',') {
                    i += 1;
                }
                if i >= code.len() {
                    return i;
                }
            }
        }
        let ident: String = code[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if ident.is_empty() {
            break;
        }
        i += ident.len();
        if ident != "self" {
            path.push(ident);
        }
        if code[i..].starts_with("::") {
            i += 2;
        } else {
            break;
        }
    }
    if path.len() > prefix.len() || !path.is_empty() {
        out.push(path);
    }
    i
}

/// Each file's code without comments and without its test module (tests may reach anywhere).
fn sources() -> Vec<(Vec<String>, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(Vec<String>, String)>) {
        for entry in fs::read_dir(dir).expect("src is readable").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).expect("under src");
                let module = module_of(rel);
                if module.iter().any(|p| p == "tests") {
                    continue;
                }
                let text = fs::read_to_string(&path).expect("readable");
                let code: String = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or("")
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.push((module, code));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out
}

/// Module → the modules it imports, at `depth` path segments.
fn graph(depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in sources() {
        if module.len() < depth || matches!(module[0].as_str(), "lib" | "main" | "layers") {
            continue;
        }
        let from = module[..depth].join("::");
        for path in imports(&code, &module) {
            if path.len() >= depth {
                let to = path[..depth].join("::");
                if to != from {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

#[test]
fn modules_import_only_lower_floors() {
    let mut upward = Vec::new();
    for (from, tos) in graph(1) {
        for to in tos {
            if floor(&to) >= floor(&from) {
                upward.push(format!("{from} → {to}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports that do not go down: {upward:?}");
}

/// Whether `to` can be reached from `from` (depth first).
fn reaches(edges: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from.to_owned()];
    while let Some(m) = stack.pop() {
        for next in edges.get(&m).into_iter().flatten() {
            if next == to {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn modules_of_one_folder_import_each_other_without_cycles() {
    let edges = graph(2);
    let cycles: Vec<String> = edges
        .iter()
        .flat_map(|(from, tos)| tos.iter().map(move |to| (from, to)))
        .filter(|(from, to)| {
            from.split("::").next() == to.split("::").next() && reaches(&edges, to, from)
        })
        .map(|(from, to)| format!("{from} ⇄ {to}"))
        .collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:?}");
}

#[test]
fn the_reader_sees_use_trees_and_relative_paths() {
    let here = ["streams".to_owned(), "listen_url".to_owned()];
    let found = imports(
        "use crate::{a::b, c::{d, e::f}};\nlet x = super::yp_form::clip(y); crate::g::h();",
        &here,
    );
    let found: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        found,
        ["a::b", "c::d", "c::e::f", "streams::yp_form::clip", "g::h"]
    );
}
