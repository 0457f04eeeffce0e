//! The layering of `server/src`, read from the sources: no file-level import cycle (a
//! `crate::…` or `super::…` path in file a naming file b, and back, directly or through
//! others), `state.rs` at the bottom (it names neither `app` nor a route file), and no route
//! file naming `app` (the top) or `openapi` (which lists the internal routes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every source file as its module path (`crate`, `app`, `routes`, `routes::push`) and text.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                let mut p = prefix.to_vec();
                p.push(stem);
                walk(&path, &p, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let mut p = prefix.to_vec();
                if stem != "mod" && stem != "lib" {
                    p.push(stem);
                }
                let name = if p.is_empty() {
                    "crate".to_owned()
                } else {
                    p.join("::")
                };
                out.insert(name, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut out,
    );
    out
}

/// The text without comments (line comments only: the sources have no block comments).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // `//` inside a string (a URL) is rare; cutting there only loses paths, and no
            // source names a module after a URL on one line.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a `{…}` group at the start of `s` lists, each with its prefix.
fn group(prefix: &str, s: &str, out: &mut Vec<String>) -> usize {
    let mut depth = 0;
    let mut item = String::new();
    for (i, c) in s.char_indices() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    push_items(prefix, &item, out);
                    return i + 1;
                }
            }
            _ => {}
        }
        item.push(c);
    }
    s.len()
}

fn push_items(prefix: &str, items: &str, out: &mut Vec<String>) {
    // Split on top-level commas.
    let (mut depth, mut start) = (0, 0);
    let bytes: Vec<char> = items.chars().collect();
    let mut parts = Vec::new();
    for (i, c) in bytes.iter().enumerate() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(bytes[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(bytes[start..].iter().collect::<String>());
    for part in parts {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let full = format!("{prefix}::{part}");
        paths_in(&full, out);
    }
}

/// Every `crate::…` path in `text` (a group's prefix, then each of its paths).
fn paths_in(text: &str, out: &mut Vec<String>) {
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        // Not part of a longer identifier (`wxopen_crate::`).
        let before = rest[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            rest = &rest[i + 7..];
            continue;
        }
        let mut path = String::from("crate");
        let mut s = &rest[i + 7..];
        loop {
            if s.starts_with('{') {
                let used = group(&path, s, out);
                s = &s[used..];
                break;
            }
            let len = s
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(s.len());
            if len == 0 {
                break;
            }
            path.push_str("::");
            path.push_str(&s[..len]);
            s = &s[len..];
            match s.strip_prefix("::") {
                Some(next) => s = next,
                None => break,
            }
        }
        out.push(path);
        rest = s;
    }
}

/// The file-level graph: module → modules it names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let names: BTreeSet<String> = mods.keys().cloned().collect();
    let mut g = BTreeMap::new();
    for (name, text) in &mods {
        let mut text = code(text);
        // `super::` from a file's own `mod tests` is the file itself; from `a::b`, it is `a`.
        let parent = match name.rsplit_once("::") {
            Some((p, _)) => format!("crate::{p}"),
            None => "crate".to_owned(),
        };
        if let Some(i) = text.find("#[cfg(test)]\nmod tests") {
            text.truncate(i);
        }
        let text = text.replace("super::", &format!("{parent}::"));
        let mut paths = Vec::new();
        paths_in(&text, &mut paths);
        let mut targets = BTreeSet::new();
        for p in paths {
            // The longest prefix naming a file.
            let segs: Vec<&str> = p.split("::").skip(1).collect();
            let target = (1..=segs.len())
                .rev()
                .map(|n| segs[..n].join("::"))
                .find(|m| names.contains(m));
            if let Some(t) = target {
                if &t != name {
                    targets.insert(t);
                }
            }
        }
        g.insert(name.clone(), targets);
    }
    g
}

/// A cycle in `g`, if there is one.
fn cycle(g: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_owned());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_owned());
        for next in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(c) = visit(n, g, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_parser_sees_groups_nested_groups_and_inline_paths() {
    let mut out = Vec::new();
    paths_in(
        "use crate::state::{AppState, Component};\nuse crate::{a::b, c::{d, e::f}};\nlet x = crate::metrics::name::PUSHES; wxopen_crate::x",
        &mut out,
    );
    out.sort();
    assert_eq!(
        out,
        [
            "crate",
            "crate::a::b",
            "crate::c",
            "crate::c::d",
            "crate::c::e::f",
            "crate::metrics::name::PUSHES",
            "crate::state",
            "crate::state::AppState",
            "crate::state::Component",
        ]
    );
    // And a cycle is found when there is one.
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert!(cycle(&g).is_some());
}

#[test]
fn no_file_level_import_cycle_state_at_the_bottom_app_at_the_top() {
    let g = graph();
    let shown: Vec<String> = g
        .iter()
        .map(|(k, v)| {
            format!(
                "{k} -> {}",
                v.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    let shown = shown.join("\n");
    assert!(g.contains_key("state") && g.contains_key("app"), "{shown}");
    assert!(
        g.keys().filter(|k| k.starts_with("routes::")).count() >= 6,
        "{shown}"
    );
    assert_eq!(cycle(&g), None, "import cycle; the graph:\n{shown}");
    for t in &g["state"] {
        assert!(
            t != "app" && t != "routes" && !t.starts_with("routes::"),
            "state.rs names {t}:\n{shown}"
        );
    }
    for (m, targets) in &g {
        if m != "crate" && m != "app" {
            assert!(!targets.contains("app"), "{m} names app:\n{shown}");
        }
    }
    // The route files reach the state; the top assembles them: the public ones itself, the
    // internal ones through `openapi` (their one list, router and document), which no route
    // file names.
    assert!(g["routes::push"].contains("state"), "{shown}");
    assert!(g["app"].contains("routes::push"), "{shown}");
    assert!(g["app"].contains("openapi"), "{shown}");
    assert!(g["openapi"].contains("routes::tokens"), "{shown}");
    for (m, targets) in &g {
        if m.starts_with("routes") {
            assert!(!targets.contains("openapi"), "{m} names openapi:\n{shown}");
        }
    }
}
