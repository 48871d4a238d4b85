//! The workspace's module graph, read from the source text (std only): which source
//! file uses which, the pairs of files that use each other (a two-file import cycle),
//! and the functions longer than a limit. Tests keep the architecture's rules with it
//! (issue 14): a concept defined in one file that another file only uses.
//!
//! # Implementation rationale
//! A reader of Rust text, not a parser: comments and string literals are blanked, test
//! modules (`#[cfg(test)] mod …`) are left out, and a path is any `crate::…`, `super::…`,
//! `self::…` or `child::…` (a module the file declares), in a `use` item (brace groups
//! expanded) or in code; a `pub use` re-export is no use of its own (a facade publishes
//! what its modules define; its users depend on them, not it). A path resolves to the file of its longest module prefix.
//! `super` inside an inline module (`mod money { … }`) means the file itself. A binary
//! (`main.rs`) and the modules it declares form a crate of their own. This is exact for
//! the workspace's style (no `#[path]`, no macros that build paths) and errs towards
//! reporting an edge rather than missing one.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// One crate's source files and the files each one uses.
#[derive(Debug, Default)]
pub struct Graph {
    /// For each file, the files its paths lead to (itself excluded).
    pub uses: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
}

impl Graph {
    /// Reads the crate rooted at `src/lib.rs` and the one at `src/main.rs` (either may
    /// be missing) under `src`.
    pub fn read(src: &Path) -> Self {
        let mut graph = Self::default();
        for root in ["lib.rs", "main.rs"] {
            let root = src.join(root);
            if root.is_file() {
                let mut modules = BTreeMap::new();
                collect(&root, &[], &mut modules);
                for (module, file) in &modules {
                    let used = uses(file, module, &modules);
                    graph.uses.entry(file.clone()).or_default().extend(used);
                }
            }
        }
        graph
    }

    /// Pairs of files that use each other, each pair once.
    pub fn cycles(&self) -> Vec<(PathBuf, PathBuf)> {
        let mut pairs = Vec::new();
        for (a, used) in &self.uses {
            for b in used {
                if a < b && self.uses.get(b).is_some_and(|back| back.contains(a)) {
                    pairs.push((a.clone(), b.clone()));
                }
            }
        }
        pairs
    }
}

/// The modules of a crate: module path → file, following `mod name;` declarations.
fn collect(file: &Path, module: &[String], modules: &mut BTreeMap<Vec<String>, PathBuf>) {
    modules.insert(module.to_vec(), file.to_path_buf());
    let Ok(text) = fs::read_to_string(file) else { return };
    let code = without_tests(&blank(&text));
    // A module's children live beside `mod.rs`/`lib.rs`/`main.rs`, else in a directory
    // named after the file.
    let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let dir = file.parent().unwrap_or(Path::new("."));
    let children_dir = if matches!(name, "mod" | "lib" | "main") { dir.to_path_buf() } else { dir.join(name) };
    for child in declared_children(&code) {
        let candidates = [children_dir.join(format!("{child}.rs")), children_dir.join(&child).join("mod.rs")];
        if let Some(found) = candidates.iter().find(|c| c.is_file()) {
            let mut path = module.to_vec();
            path.push(child);
            collect(found, &path, modules);
        }
    }
}

/// `mod name;` declarations (not inline modules).
fn declared_children(code: &str) -> Vec<String> {
    let mut children = Vec::new();
    let mut rest = code;
    while let Some(at) = find_word(rest, "mod") {
        let after = rest[at + 3..].trim_start();
        let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() && after[name.len()..].trim_start().starts_with(';') {
            children.push(name);
        }
        rest = &rest[at + 3..];
    }
    children
}

/// The files `file` (module `module`) uses.
fn uses(file: &Path, module: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> BTreeSet<PathBuf> {
    let Ok(text) = fs::read_to_string(file) else { return BTreeSet::new() };
    let code = without_tests(&blank(&text));
    let children: BTreeSet<String> = declared_children(&code).into_iter().collect();
    let mut used = BTreeSet::new();
    for (path, inline) in paths(&code) {
        let segments: Vec<&str> = path.split("::").collect();
        // Where the path starts: `super` inside an inline module is the file itself.
        let (mut base, rest) = match segments[0] {
            "crate" => (Vec::new(), &segments[1..]),
            "self" => (module.to_vec(), &segments[1..]),
            "super" => {
                let ups = segments.iter().take_while(|s| **s == "super").count();
                let mut base = module.to_vec();
                let inline_ups = ups.min(inline);
                base.truncate(base.len().saturating_sub(ups - inline_ups));
                (base, &segments[ups..])
            }
            child if children.contains(child) && inline == 0 => (module.to_vec(), &segments[..]),
            _ => continue,
        };
        base.extend(rest.iter().map(|s| (*s).to_owned()));
        let target = (0..=base.len()).rev().find_map(|n| modules.get(&base[..n]));
        if let Some(target) = target.filter(|t| *t != file) {
            used.insert(target.clone());
        }
    }
    used
}

/// Every path in the code, with how many inline modules deep it stands; the trees of
/// `use` items are expanded (`use a::{b, c::d}` gives `a::b` and `a::c::d`).
fn paths(code: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    let mut inline_depths: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if inline_depths.last() == Some(&depth) {
                    inline_depths.pop();
                }
            }
            _ => {}
        }
        let at_word = i == 0 || !is_ident(bytes[i - 1]);
        if at_word && code[i..].starts_with("mod ") {
            let after = code[i + 4..].trim_start();
            let name_len = after.bytes().take_while(|b| is_ident(*b)).count();
            if after[name_len..].trim_start().starts_with('{') {
                inline_depths.push(depth);
            }
        }
        if at_word && code[i..].starts_with("use ") {
            let end = code[i..].find(';').map_or(code.len(), |e| i + e);
            // `pub use` publishes what another module defines (a facade): the module
            // does not depend on it, its users do.
            if !code[..i].trim_end().ends_with("pub") && !code[..i].trim_end().ends_with(')') {
                for path in expand(code[i + 4..end].trim()) {
                    found.push((path, inline_depths.len()));
                }
            }
            i = end;
            continue;
        }
        if at_word && is_ident(bytes[i]) {
            let len = code[i..].bytes().take_while(|b| is_ident(*b) || *b == b':').count();
            let word = code[i..i + len].trim_end_matches(':');
            if word.contains("::") {
                found.push((word.to_owned(), inline_depths.len()));
            }
            i += len.max(1);
            continue;
        }
        i += 1;
    }
    found
}

/// A `use` tree as its paths.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = without_renames(tree).chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree.trim_end_matches("::").to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut parts = Vec::new();
    let (mut level, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => level += 1,
            '}' => level -= 1,
            ',' if level == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(expand)
        .map(|p| if p == "self" { prefix.to_owned() } else { format!("{prefix}::{p}") })
        .collect()
}

/// A `use` tree without its renames (`Foo as Bar` is `Foo`: the same item).
fn without_renames(tree: &str) -> String {
    let mut out = String::with_capacity(tree.len());
    let mut rest = tree;
    while let Some(at) = find_word(rest, "as") {
        out.push_str(&rest[..at]);
        let after = rest[at + 2..].trim_start();
        let alias = after.bytes().take_while(|b| is_ident(*b)).count();
        rest = &after[alias..];
    }
    out.push_str(rest);
    out
}

/// The code without `#[cfg(test)] mod … { … }` blocks.
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        let is_module = trimmed.starts_with("mod ") || trimmed.starts_with("pub(crate) mod ");
        match (is_module, trimmed.find('{')) {
            (true, Some(open)) if !trimmed[..open].contains(';') => {
                let start = after.len() - trimmed.len() + open;
                let end = matching_brace(after, start).unwrap_or(after.len());
                rest = &after[end..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// The index just past the brace that closes the one at `open`.
fn matching_brace(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in code.bytes().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The text with comments, the contents of string and character literals, and every
/// non-ASCII character replaced by spaces (lines and braces outside them stay where
/// they were).
pub fn blank(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let skip = if rest.starts_with(b"//") {
            rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            rest.windows(2).position(|w| w == b"*/").map_or(rest.len(), |p| p + 2)
        } else if rest[0] == b'r'
            && (rest.starts_with(b"r\"") || rest.starts_with(b"r#"))
            && (i == 0 || !is_ident(bytes[i - 1]))
        {
            raw_string_len(rest).unwrap_or(1)
        } else if rest[0] == b'"' {
            quoted_len(rest, b'"')
        } else if rest[0] == b'\'' && rest.len() > 2 && (rest[1] == b'\\' || rest[2] == b'\'') {
            quoted_len(rest, b'\'')
        } else {
            // Only ASCII is code that matters here; the rest (in identifiers it is rare)
            // becomes a space, so every index of the result is a character boundary.
            out.push(if rest[0].is_ascii() { rest[0] } else { b' ' });
            i += 1;
            continue;
        };
        out.extend(rest[..skip].iter().map(|b| if *b == b'\n' { b'\n' } else { b' ' }));
        i += skip;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The length of a `"…"` or `'…'` literal starting at `text[0]`.
fn quoted_len(text: &[u8], quote: u8) -> usize {
    let mut i = 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

/// The length of a raw string `r#"…"#` starting at `text[0]`, if it is one.
fn raw_string_len(text: &[u8]) -> Option<usize> {
    let hashes = text[1..].iter().take_while(|b| **b == b'#').count();
    if text.get(1 + hashes) != Some(&b'"') {
        return None;
    }
    let mut closing = vec![b'"'];
    closing.extend(std::iter::repeat_n(b'#', hashes));
    let body = 2 + hashes;
    text[body..].windows(closing.len()).position(|w| w == closing.as_slice()).map(|p| body + p + closing.len())
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find(word).map(|p| p + from) {
        let before = at == 0 || !is_ident(bytes[at - 1]);
        let after = bytes.get(at + word.len()).is_none_or(|b| !is_ident(*b));
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Functions outside test modules longer than `limit` lines, as `(file, name, lines)`.
pub fn long_functions(file: &Path, limit: usize) -> Vec<(PathBuf, String, usize)> {
    let Ok(text) = fs::read_to_string(file) else { return Vec::new() };
    let code = without_tests(&blank(&text));
    let mut found = Vec::new();
    let mut rest_at = 0;
    while let Some(at) = find_word(&code[rest_at..], "fn").map(|p| p + rest_at) {
        let after = code[at + 2..].trim_start();
        let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let open = code[at..].find(['{', ';']).map(|p| p + at);
        match open {
            Some(open) if code.as_bytes()[open] == b'{' && !name.is_empty() => {
                let end = matching_brace(&code, open).unwrap_or(code.len());
                let lines = code[at..end].lines().count();
                if lines > limit {
                    found.push((file.to_path_buf(), name, lines));
                }
                rest_at = end;
            }
            _ => rest_at = at + 2,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_expand_to_every_path() {
        assert_eq!(expand("super::{a, b::{c, self}}"), ["super::a", "super::b::c", "super::b"]);
        assert_eq!(expand("crate::x::Y as Z"), ["crate::x::Y"]);
        assert_eq!(expand("crate::{harness::Harness, base as b}"), ["crate::harness::Harness", "crate::base"]);
    }

    #[test]
    fn comments_strings_and_test_modules_are_not_code() {
        let code = blank("let s = \"crate::a::b\"; // super::c\nlet r = r#\"self::d\"#; let c = '{';\n");
        assert!(!code.contains("crate::") && !code.contains("super::") && !code.contains("self::"), "{code}");
        assert!(!code.contains('{'), "{code}");
        let kept = without_tests("fn a() {}\n#[cfg(test)]\nmod tests {\n use super::x;\n}\nfn b() {}\n");
        assert!(kept.contains("fn a()") && kept.contains("fn b()") && !kept.contains("super::x"), "{kept}");
    }

    #[test]
    fn a_pair_of_files_that_use_each_other_is_a_cycle_and_super_in_an_inline_module_is_the_file() {
        let dir = std::env::temp_dir().join(format!("glase-devkit-imports-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src")).unwrap();
        let write = |name: &str, text: &str| fs::write(dir.join("src").join(name), text).unwrap();
        write("lib.rs", "mod a;\nmod b;\nmod c;\npub fn top() {}\n");
        write("a.rs", "use crate::b::B;\npub struct A;\n");
        write("b.rs", "use super::a::A;\npub struct B;\n");
        write("c.rs", "pub fn f() {}\nmod inner {\n    use super::f;\n}\nfn g() { crate::top(); }\n");
        let graph = Graph::read(&dir.join("src"));
        let cycles = graph.cycles();
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        assert!(cycles[0].0.ends_with("a.rs") && cycles[0].1.ends_with("b.rs"), "{cycles:?}");
        let c_uses = &graph.uses[&dir.join("src/c.rs")];
        assert_eq!(c_uses.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect::<Vec<_>>(), ["lib.rs"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn functions_over_the_limit_are_named_with_their_length() {
        let dir = std::env::temp_dir().join(format!("glase-devkit-long-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f.rs");
        let body = "    x += 1;\n".repeat(5);
        fs::write(
            &file,
            format!("fn short() {{\n}}\nfn long() {{\n{body}}}\n#[cfg(test)]\nmod t {{\n fn x() {{\n{body}}}\n}}\n"),
        )
        .unwrap();
        let long = long_functions(&file, 4);
        assert_eq!(long.iter().map(|(_, n, l)| (n.as_str(), *l)).collect::<Vec<_>>(), [("long", 7)]);
        let _ = fs::remove_dir_all(&dir);
    }
}
