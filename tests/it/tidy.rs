//! The runtime's layering, checked: every `crate::X` path in `src/**/*.rs` (and every
//! `super::` chain that climbs to the crate root) is an import of the top-level module
//! `X`, and each top-level module may import only the modules [`ALLOWED`] lists for it.
//! The table is the dependency direction written in ARCHITECTURE.md: the composition
//! root (`cli`, `app`) above the front ends (`terminal`, `discord`, `web`), which never
//! import each other; below them the shared layers (`feed`, `voice`, `gm`, `narrator`,
//! `intent`, `llm`, `coordinator`, `store`) and the leaves (`config`, `clock`,
//! `shutdown`). Nothing imports upwards, so there are no cycles. A failure names the
//! file and line of each wrong-way path.
//!
//! A new top-level module must be given its place in the table (the test says so).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The front ends: they never import each other, and nothing but `app` and `cli`
/// imports them.
const FRONT_ENDS: &[&str] = &["terminal", "discord", "web"];

/// Everything a front end may use.
const SHARED: &[&str] = &[
    "table",
    "feed",
    "voice",
    "gm",
    "narrator",
    "intent",
    "llm",
    "coordinator",
    "store",
    "config",
    "clock",
    "shutdown",
];

/// Which top-level module may import which (a module never needs to list itself).
const ALLOWED: &[(&str, &[&str])] = &[
    // Leaves.
    ("config", &[]),
    ("clock", &[]),
    ("shutdown", &[]),
    // The store and the coordinator know no front end and nothing of the LLM.
    ("store", &["config", "clock"]),
    ("coordinator", &["store", "config", "clock"]),
    // LLM providers (and the LLM NPC policy, which plugs into the coordinator).
    ("llm", &["coordinator", "store", "config", "clock"]),
    (
        "narrator",
        &["llm", "coordinator", "store", "config", "clock"],
    ),
    (
        "intent",
        &["llm", "coordinator", "store", "config", "clock"],
    ),
    // The game master bundles the narrator, the intent resolver and the NPC policy.
    (
        "gm",
        &[
            "narrator",
            "intent",
            "llm",
            "coordinator",
            "store",
            "config",
            "clock",
        ],
    ),
    // The table feed: one story per campaign for every front end.
    (
        "feed",
        &[
            "gm",
            "narrator",
            "intent",
            "llm",
            "coordinator",
            "store",
            "config",
            "clock",
            "shutdown",
        ],
    ),
    // Voice that is not tied to one front end: the speech-to-text pool, heard speech →
    // actions, per-campaign voice settings.
    (
        "voice",
        &[
            "feed",
            "gm",
            "narrator",
            "intent",
            "llm",
            "coordinator",
            "store",
            "config",
            "clock",
            "shutdown",
        ],
    ),
    // The table's door (links, kicks, presence): below every front end, above the
    // feed, the coordinator and the store.
    (
        "table",
        &[
            "feed",
            "coordinator",
            "store",
            "config",
            "clock",
            "shutdown",
        ],
    ),
    // Front ends.
    ("terminal", SHARED),
    ("discord", SHARED),
    ("web", SHARED),
    // The composition root starts the front ends; the command line dispatches to it.
    (
        "app",
        &[
            "terminal",
            "discord",
            "web",
            "table",
            "feed",
            "voice",
            "gm",
            "narrator",
            "intent",
            "llm",
            "coordinator",
            "store",
            "config",
            "clock",
            "shutdown",
        ],
    ),
    (
        "cli",
        &[
            "app",
            "terminal",
            "discord",
            "web",
            "table",
            "feed",
            "voice",
            "gm",
            "narrator",
            "intent",
            "llm",
            "coordinator",
            "store",
            "config",
            "clock",
            "shutdown",
        ],
    ),
];

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    ALLOWED
        .iter()
        .map(|(m, deps)| (*m, deps.iter().copied().collect()))
        .collect()
}

/// One `crate::X` use found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Import {
    file: String,
    line: usize,
    /// The importing top-level module.
    from: String,
    /// The imported top-level module.
    to: String,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under `src/` (`discord/voice/mod.rs` → `discord::voice`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_string());
    }
    parts
}

/// The source with comments blanked out (strings are kept: a `crate::` inside a string
/// literal is rare and would only make the test stricter).
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let b = src.as_bytes();
    let mut i = 0;
    let mut block = 0usize;
    while i < b.len() {
        if block > 0 {
            if b[i..].starts_with(b"*/") {
                block -= 1;
                i += 2;
            } else if b[i..].starts_with(b"/*") {
                block += 1;
                i += 2;
            } else {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            continue;
        }
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if b[i..].starts_with(b"/*") {
            block += 1;
            i += 2;
            continue;
        }
        let ch = src[i..].chars().next().expect("a char");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn ident_at(s: &str) -> &str {
    let end = s.bytes().position(|c| !is_ident_byte(c)).unwrap_or(s.len());
    &s[..end]
}

/// The first names of a `{a, b::c, d as e}` group (`s` starts after the `{`).
fn group_heads(s: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0usize;
    let mut expect_head = true;
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        let c = b[i];
        match c {
            b'{' => depth += 1,
            b'}' if depth == 0 => break,
            b'}' => depth -= 1,
            b',' if depth == 0 => expect_head = true,
            c if c.is_ascii_whitespace() => {}
            c if is_ident_byte(c) && depth == 0 && expect_head => {
                let id = ident_at(&s[i..]);
                heads.push(id.to_string());
                expect_head = false;
                i += id.len();
                continue;
            }
            _ => {
                if depth == 0 {
                    expect_head = false;
                }
            }
        }
        i += 1;
    }
    heads
}

/// Every import of another top-level module in one file.
fn imports_in(rel: &Path, src: &str) -> Vec<Import> {
    let module = module_path(rel);
    let from = module.first().cloned().unwrap_or_else(|| "lib".into());
    let text = strip_comments(src);
    let mut out = Vec::new();
    let line_of = |pos: usize| text[..pos].bytes().filter(|&c| c == b'\n').count() + 1;
    let mut push = |pos: usize, to: &str| {
        if !to.is_empty() && to != from && to != "self" && to != "super" {
            out.push(Import {
                file: rel.display().to_string(),
                line: line_of(pos),
                from: from.clone(),
                to: to.to_string(),
            });
        }
    };
    let bytes = text.as_bytes();
    let names_at = |pos: usize, rest: &str, push: &mut dyn FnMut(usize, &str)| {
        if let Some(group) = rest.strip_prefix('{') {
            for h in group_heads(group) {
                push(pos, &h);
            }
        } else {
            push(pos, ident_at(rest));
        }
    };
    // `crate::X`, not `$crate::X` nor `my_crate::X`.
    for (pos, _) in text.match_indices("crate::") {
        if pos > 0 && (is_ident_byte(bytes[pos - 1]) || bytes[pos - 1] == b'$') {
            continue;
        }
        let rest = &text[pos + "crate::".len()..];
        names_at(pos, rest, &mut push);
    }
    // `super::super::X` chains that reach the crate root.
    let depth = module.len();
    let mut i = 0;
    while let Some(off) = text[i..].find("super::") {
        let pos = i + off;
        if (pos > 0 && is_ident_byte(bytes[pos - 1])) || (pos > 1 && &bytes[pos - 2..pos] == b"::")
        {
            i = pos + 1;
            continue;
        }
        let mut end = pos;
        let mut ups = 0;
        while text[end..].starts_with("super::") {
            ups += 1;
            end += "super::".len();
        }
        if depth > 0 && ups >= depth {
            names_at(pos, &text[end..], &mut push);
        }
        i = end;
    }
    out
}

fn all_imports() -> (Vec<Import>, BTreeSet<String>) {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    assert!(
        files.len() > 10,
        "found the sources under {}",
        src.display()
    );
    let mut imports = Vec::new();
    let mut modules = BTreeSet::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let m = module_path(rel);
        if let Some(top) = m.first() {
            modules.insert(top.clone());
        }
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        imports.extend(imports_in(rel, &text));
    }
    (imports, modules)
}

/// A cycle in `graph`, if there is one (as the modules on it, first repeated last).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let start = stack.iter().position(|s| s == m).expect("on the stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

/// What is wrong with a set of imports, one line per problem.
fn problems(imports: &[Import], modules: &BTreeSet<String>) -> Vec<String> {
    let table = allowed();
    let mut out = Vec::new();
    for m in modules {
        if m != "lib" && m != "main" && !table.contains_key(m.as_str()) {
            out.push(format!(
                "src/{m}: a new top-level module; give it its place in ALLOWED (tests/it/tidy.rs) \
                 and in ARCHITECTURE.md's dependency direction"
            ));
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for imp in imports {
        // The crate root declares the modules; the binary may use any of them.
        if imp.from == "lib" || imp.from == "main" {
            continue;
        }
        if !modules.contains(&imp.to) {
            continue; // not a module (a macro or an item of lib.rs)
        }
        graph
            .entry(imp.from.clone())
            .or_default()
            .insert(imp.to.clone());
        let ok = table
            .get(imp.from.as_str())
            .is_some_and(|deps| deps.contains(imp.to.as_str()));
        if !ok {
            let why = if FRONT_ENDS.contains(&imp.from.as_str())
                && FRONT_ENDS.contains(&imp.to.as_str())
            {
                "front ends never import each other"
            } else if FRONT_ENDS.contains(&imp.to.as_str()) {
                "only app and cli may import a front end"
            } else if imp.to == "app" || imp.to == "cli" {
                "nothing imports the composition root or the command line"
            } else {
                "not in the allow-list (a wrong-way import?)"
            };
            out.push(format!(
                "src/{}:{}: {} imports {}: {why}",
                imp.file, imp.line, imp.from, imp.to
            ));
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        out.push(format!(
            "an import cycle between top-level modules: {}",
            cycle.join(" → ")
        ));
    }
    out
}

#[test]
fn src_imports_follow_the_layering() {
    let (imports, modules) = all_imports();
    assert!(
        imports
            .iter()
            .any(|i| i.from == "app" && i.to == "coordinator"),
        "the scanner finds imports (app uses the coordinator)"
    );
    let problems = problems(&imports, &modules);
    assert!(
        problems.is_empty(),
        "{} layering problem(s) in src/:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_allow_list_is_a_layering() {
    let table = allowed();
    let graph: BTreeMap<String, BTreeSet<String>> = table
        .iter()
        .map(|(m, deps)| (m.to_string(), deps.iter().map(|d| d.to_string()).collect()))
        .collect();
    assert_eq!(find_cycle(&graph), None, "the allow-list has a cycle");
    for (m, deps) in &table {
        for d in deps {
            assert!(
                table.contains_key(d),
                "{m} may import {d}, which has no row"
            );
            if !FRONT_ENDS.contains(m) && !["app", "cli"].contains(m) {
                assert!(
                    !FRONT_ENDS.contains(d) && !["app", "cli"].contains(d),
                    "{m} is below the front ends but may import {d}"
                );
            }
        }
    }
    for f in FRONT_ENDS {
        for g in FRONT_ENDS {
            assert!(
                !table[f].contains(g),
                "front end {f} may import front end {g}"
            );
        }
    }
    for low in ["coordinator", "store"] {
        for d in &table[low] {
            assert!(
                !["feed", "voice", "gm", "narrator", "intent", "llm"].contains(d),
                "{low} may import {d}"
            );
        }
    }
}

#[test]
fn the_scanner_sees_every_form_of_path() {
    let src = "use crate::coordinator::{Coordinator, Origin};\n\
               use crate::{config::Config, store as s};\n\
               // use crate::discord::nothing;\n\
               /* crate::web */ fn f() { crate::terminal::play(); $crate::x; my_crate::app; }\n\
               use super::super::cli::Args;\n";
    let found: Vec<(usize, String)> = imports_in(Path::new("feed/task.rs"), src)
        .into_iter()
        .map(|i| (i.line, i.to))
        .collect();
    assert_eq!(
        found,
        vec![
            (1, "coordinator".to_string()),
            (2, "config".to_string()),
            (2, "store".to_string()),
            (4, "terminal".to_string()),
            (5, "cli".to_string()),
        ]
    );
    // One `super::` from a top-level file's own module is the crate root too.
    let found = imports_in(Path::new("feed/mod.rs"), "use super::store::Store;");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].to, "store");
}

// Typed campaign ids: a campaign id is a `CampaignId` everywhere in `src/`; a raw
// `i64` becomes one only where it enters from outside (a database row, a URL, a
// command line argument, a Discord custom id), never in a signature.

/// A name that holds campaign ids.
fn is_campaign_name(name: &str) -> bool {
    matches!(
        name,
        "campaign" | "campaign_id" | "campaigns" | "campaign_ids"
    )
}

/// The tokens of a type as written: identifiers (`i64`, `Option`), lifetimes (`'a`)
/// and single punctuation characters.
fn type_tokens(ty: &str) -> Vec<&str> {
    let b = ty.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if is_ident_byte(c) || (c == b'\'' && i + 1 < b.len() && is_ident_byte(b[i + 1])) {
            let start = i;
            i += 1;
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
            out.push(&ty[start..i]);
        } else {
            let ch = ty[i..].chars().next().expect("a char");
            out.push(&ty[i..i + ch.len_utf8()]);
            i += ch.len_utf8();
        }
    }
    out
}

/// Whether a type is a raw `i64` or holds raw `i64`s in its first place: `i64`,
/// `&i64`, `Option<i64>`, `&[i64]`, `HashMap<i64, _>`, `Result<(i64, u64), E>`.
/// (`i64::MAX` or `CampaignId(5)` in an expression is not a type.)
fn is_raw_i64(ty: &str) -> bool {
    let t = type_tokens(ty);
    let mut i = 0;
    while i < t.len() {
        let tok = t[i];
        let next = t.get(i + 1).copied();
        let after = t.get(i + 2).copied();
        if tok == "i64" {
            return !(next == Some(":") && after == Some(":"));
        }
        if matches!(tok, "&" | "[" | "(" | "mut" | "dyn" | "impl") || tok.starts_with('\'') {
            i += 1;
        } else if tok.bytes().all(is_ident_byte) && next == Some("<") {
            i += 2;
        } else if tok.bytes().all(is_ident_byte) && next == Some(":") && after == Some(":") {
            i += 3;
        } else {
            return false;
        }
    }
    false
}

/// The text from `pos` up to the end of the type that starts there: a `,` `;` `=`
/// `{` `|` at depth 0, or a closing bracket of an enclosing group; `where` ends it too.
fn type_at(text: &str, pos: usize) -> &str {
    let b = text.as_bytes();
    let mut depth = 0i32;
    let mut i = pos;
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'>') => {
                i += 2;
                continue;
            }
            b'<' | b'(' | b'[' => depth += 1,
            b'>' | b')' | b']' => {
                depth -= 1;
                if depth < 0 {
                    break;
                }
            }
            b',' | b';' | b'=' | b'{' | b'|' if depth == 0 => break,
            b'w' if depth == 0
                && text[i..].starts_with("where")
                && !is_ident_byte(b[i - 1])
                && !b.get(i + 5).is_some_and(|&c| is_ident_byte(c)) =>
            {
                break;
            }
            _ => {}
        }
        i += 1;
    }
    &text[pos..i]
}

/// The index just past the bracket group that opens at `open` (`(`, `<` or `[`).
fn group_end(b: &[u8], open: usize) -> usize {
    let mut depth = 0i32;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'>') => {
                i += 2;
                continue;
            }
            b'(' | b'<' | b'[' => depth += 1,
            b')' | b'>' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// Every raw campaign id in one file, as `file:line: what`: a name for campaign ids
/// (`campaign`, `campaign_id`, `campaigns`) typed with a raw `i64` (a parameter, a field,
/// a binding, a closure's argument), and in a function named `*campaign*` an `id: i64`
/// parameter or an `i64` returned.
fn raw_campaign_ids(rel: &Path, src: &str) -> Vec<String> {
    let text = strip_comments(src);
    let b = text.as_bytes();
    let line_of = |pos: usize| text[..pos].bytes().filter(|&c| c == b'\n').count() + 1;
    let mut out = Vec::new();
    let mut flag = |pos: usize, what: String| {
        out.push(format!("{}:{}: {what}", rel.display(), line_of(pos)));
    };
    // Typed names.
    let mut i = 0;
    while i < b.len() {
        if !is_ident_byte(b[i]) || (i > 0 && is_ident_byte(b[i - 1])) {
            i += 1;
            continue;
        }
        let name = ident_at(&text[i..]);
        let start = i;
        i += name.len().max(1);
        if !is_campaign_name(name) {
            continue;
        }
        let rest = &text[i..];
        let trimmed = rest.trim_start();
        if !trimmed.starts_with(':') || trimmed.starts_with("::") {
            continue;
        }
        let ty_pos = i + (rest.len() - trimmed.len()) + 1;
        let ty = type_at(&text, ty_pos);
        if is_raw_i64(ty) {
            flag(
                start,
                format!("`{name}:{ty}` is a raw campaign id (use CampaignId)"),
            );
        }
    }
    // Functions named for campaigns.
    for (pos, _) in text.match_indices("fn ") {
        if pos > 0 && is_ident_byte(b[pos - 1]) {
            continue;
        }
        let name_pos = pos + 3 + (text[pos + 3..].len() - text[pos + 3..].trim_start().len());
        let name = ident_at(&text[name_pos..]);
        if !name.contains("campaign") {
            continue;
        }
        let mut j = name_pos + name.len();
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if b.get(j) == Some(&b'<') {
            j = group_end(b, j);
        }
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        if b.get(j) != Some(&b'(') {
            continue;
        }
        let close = group_end(b, j);
        // `id: i64` parameters.
        let params = &text[j + 1..close.saturating_sub(1)];
        let mut k = 0;
        while let Some(off) = params[k..].find("id") {
            let p = k + off;
            k = p + 2;
            let pb = params.as_bytes();
            if (p > 0 && is_ident_byte(pb[p - 1]))
                || pb.get(p + 2).is_some_and(|&c| is_ident_byte(c))
            {
                continue;
            }
            let rest = params[p + 2..].trim_start();
            if rest.starts_with(':') && !rest.starts_with("::") {
                let ty_pos = j + 1 + p + 2 + (params[p + 2..].len() - rest.len()) + 1;
                let ty = type_at(&text, ty_pos);
                if is_raw_i64(ty) {
                    flag(
                        j + 1 + p,
                        format!("`fn {name}` takes `id:{ty}`, a raw campaign id"),
                    );
                }
            }
        }
        // The return type.
        let rest = text[close..].trim_start();
        if rest.starts_with("->") {
            let ty_pos = close + (text[close..].len() - rest.len()) + 2;
            let ty = type_at(&text, ty_pos);
            if is_raw_i64(ty) {
                flag(
                    pos,
                    format!("`fn {name}` returns `{}`, a raw campaign id", ty.trim()),
                );
            }
        }
    }
    out
}

#[test]
fn src_has_no_raw_campaign_ids() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        problems.extend(raw_campaign_ids(rel, &text));
    }
    assert!(
        problems.is_empty(),
        "{} raw campaign id(s) in src/ (a campaign id is a CampaignId; a raw number \
         becomes one where it enters from outside):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_campaign_id_scanner_sees_raw_ids() {
    let src = "pub async fn events(&self, campaign_id: i64, after: u64) {}\n\
               struct S { pub campaign: Option<i64>, n: i64 }\n\
               fn f(campaigns: &[i64], c: CampaignId) -> i64 { let x = S { campaign: 5 }; }\n\
               fn end_campaign(&self, id: i64, at_ms: i64) {}\n\
               fn latest_campaign<'a>(x: &'a str) -> Result<Option<i64>, E> {}\n\
               let ok = |campaign: &'static i64| campaign;\n\
               fn g(campaign: CampaignId, campaign_id: HashMap<CampaignId, i64>) -> i64 {\n\
               let campaign = CampaignId(i64::try_from(n)?); }\n\
               fn campaign_count() -> u64 { i64::MAX }\n\
               // fn h(campaign: i64)\n\
               fn campaign_here(ctx: C<'_>) -> Result<Option<CampaignId>, Error> {}\n";
    let found = raw_campaign_ids(Path::new("x.rs"), src);
    let lines: Vec<&str> = found
        .iter()
        .map(|p| p.split(": ").next().expect("a place"))
        .collect();
    assert_eq!(
        lines,
        vec!["x.rs:1", "x.rs:2", "x.rs:3", "x.rs:6", "x.rs:4", "x.rs:5"],
        "{found:#?}"
    );
}
