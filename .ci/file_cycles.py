#!/usr/bin/env python3
"""file_cycles.py: file-level import cycles inside each Rust crate of a workspace.

Usage: python3 file_cycles.py [REPO_ROOT] [--explain] [--edges] [--no-facade]

  REPO_ROOT   the workspace root (default: the current directory). Every directory below it
              with a Cargo.toml holding [package] and a src/ directory is a crate (target/,
              hidden directories and node_modules are skipped).
  --explain   under each cycle, print the evidence (file:line and the path written there) for
              every edge between members of the cycle's strongly connected component.
  --edges     print every intra-crate file edge (with its first piece of evidence) instead
              of the cycle lines; the total line and the exit code are as below.
  --no-facade drop "facade" edges: a lib.rs/main.rs/mod.rs whose only references to one of
              its own descendant files are `pub use` re-exports of names it does not itself
              use (e.g. `pub use builder::ComponentClientBuilder;` in component/mod.rs).
              Default: such a `pub use` is an edge like any other.

Output: one line per strongly connected component of >= 2 files (Tarjan), sorted by crate
then by first member:

  crate: a.rs -> b.rs -> a.rs                        (SCC == that shortest cycle)
  crate: a.rs -> b.rs -> a.rs | all 8 files: a.rs, b.rs, ...   (SCC larger than it)

then `file cycles: N`. Exit code 1 if N > 0, else 0. Standard library only; deterministic.

What is an edge A -> B (A, B files under the same crate's src/):
  * a `use` item in A (any visibility, any nesting: `use crate::{a, b::{c, d}}`, `use super::x`,
    `use self::m::x`, `use child::x`, `pub use`, aliases `as`), or a path written in code
    (`crate::x::y`, `super::x`, `self::x`, `child_mod::x`, or `Alias::x` where Alias was
    brought in by a `use`), that names an item *defined* in B. Re-exports and imports are
    followed to the file that defines the item: `use crate::Error` where lib.rs says
    `pub use error::Error` is an edge to error.rs (lib.rs gets its own edge lib.rs -> error.rs
    from its `pub use`). A name that cannot be found (macro-made items, say) falls back to the
    file of the module it was looked up in.
  * a glob import `use m::*` is an edge to the file of module m.
  * a path that names only a module (`use crate::engine;`) is no edge by itself: what is then
    used through it (`engine::Engine`) is.
  * `mod x;` (and `mod x { ... }`) is containment, never an edge. Module files are resolved as
    rustc does: `x.rs` / `x/mod.rs` next to a lib.rs/main.rs/mod.rs, `foo/x.rs` / `foo/x/mod.rs`
    under a non-mod-rs `foo.rs`, nested inline modules, `#[path = "..."]`.
  * a reference from a file to itself is dropped (e.g. `use super::*` in an inline module).
Test code is skipped: an item carrying `#[cfg(test)]` (or `#[cfg(all(test, ...))]`) is skipped
whole, brace-matched -- in practice the `#[cfg(test)] mod tests { ... }` block at the end of a
file, whose `use super::*` is the same file. `#[cfg(test)] mod x;` files are not part of the tree.
Comments, string/char literals and doc comments are stripped before anything is read.
Crate roots: src/lib.rs, src/main.rs, src/bin/*.rs, src/bin/*/main.rs, and [lib]/[[bin]] `path`
entries of Cargo.toml that lie under src/. Each root has its own `crate::`.
"""

import os
import re
import sys
from collections import defaultdict, deque

KEYWORD_ITEMS = {"fn", "struct", "enum", "trait", "type", "const", "static", "union"}
NON_NAMES = {"fn", "mut", "unsafe", "async", "extern", "impl", "dyn", "_"}


# ----------------------------------------------------------------------------------------------
# Lexing
# ----------------------------------------------------------------------------------------------

IDENT_START = re.compile(r"[A-Za-z_]")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER = re.compile(r"[0-9][A-Za-z0-9_]*(\.[0-9][A-Za-z0-9_]*)?")


def lex(src):
    """Tokens (kind, text, line): kind in {'id', 'p', 'str'}; comments dropped."""
    toks = []
    i, n, line = 0, len(src), 1
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c in " \t\r":
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            line += src.count("\n", i, j)
            i = j
            continue
        # raw strings r"..", r#".."#, br#".."#, cr".."
        m = re.match(r'(b|c)?r(#*)"', src[i:i + 300]) if c in "bcr" else None
        if m:
            close = '"' + m.group(2)
            j = src.find(close, i + m.end())
            j = n if j < 0 else j + len(close)
            line += src.count("\n", i, j)
            toks.append(("str", "", line))
            i = j
            continue
        if c == '"' or (c in "bc" and i + 1 < n and src[i + 1] == '"'):
            j = i + (1 if c == '"' else 2)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            line += src.count("\n", i, j)
            toks.append(("str", "", line))
            i = j
            continue
        if c == "'" or (c == "b" and i + 1 < n and src[i + 1] == "'"):
            k = i + (1 if c == "'" else 2)
            if k < n and src[k] == "\\":  # escaped char literal
                j = src.find("'", k + 2)
                i = n if j < 0 else j + 1
                toks.append(("str", "", line))
                continue
            if k + 1 < n and src[k + 1] == "'":  # 'x'
                i = k + 2
                toks.append(("str", "", line))
                continue
            if c == "'":  # lifetime or label: skip the quote and the name
                m = IDENT.match(src, k)
                i = m.end() if m else k
                continue
        if c == "r" and src.startswith("r#", i) and i + 2 < n and IDENT_START.match(src[i + 2]):
            m = IDENT.match(src, i + 2)
            toks.append(("id", m.group(0), line))
            i = m.end()
            continue
        if c == "$" and i + 1 < n and IDENT_START.match(src[i + 1]):
            m = IDENT.match(src, i + 1)
            toks.append(("id", "$" + m.group(0), line))
            i = m.end()
            continue
        if IDENT_START.match(c):
            m = IDENT.match(src, i)
            toks.append(("id", m.group(0), line))
            i = m.end()
            continue
        if c.isdigit():
            m = NUMBER.match(src, i)
            i = m.end()
            continue
        if src.startswith("::", i):
            toks.append(("p", "::", line))
            i += 2
            continue
        toks.append(("p", c, line))
        i += 1
    return toks


# ----------------------------------------------------------------------------------------------
# Parsing one file
# ----------------------------------------------------------------------------------------------

class Scope:
    """One module body inside a file: the file's top level (rel == ()) or an inline `mod x {}`."""

    def __init__(self, rel):
        self.rel = rel                # module path relative to the file's module
        self.mod_decls = {}           # name -> (line, path_attr or None)   `mod x;`
        self.inline = set()           # names of inline child modules
        self.defs = set()             # item names defined at this module's top level
        self.imports = []             # (alias, raw_path, glob, line) at module level
        self.uses = []                # every use (any nesting): (alias, raw_path, glob, line, pub)
        self.code_paths = []          # (raw_path, line)
        self.idents = set()           # file top-level scope only: identifiers outside `use`


def matching(toks, i, open_c, close_c):
    """Index just past the token closing the bracket opened at toks[i]."""
    depth = 0
    n = len(toks)
    while i < n:
        t = toks[i][1] if toks[i][0] == "p" else None
        if t == open_c:
            depth += 1
        elif t == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def skip_item(toks, i):
    """Index just past the item starting at i (ends at `;` or at the first top-level `{...}`)."""
    n = len(toks)
    nest = 0
    while i < n:
        kind, t, _ = toks[i]
        if kind == "p":
            if t in "([":
                nest += 1
            elif t in ")]":
                nest -= 1
            elif t == ";" and nest == 0:
                return i + 1
            elif t == "{" and nest == 0:
                return matching(toks, i, "{", "}")
        i += 1
    return n


def attr_is_test(attr):
    """attr: token texts inside #[ ... ]."""
    s = "".join(attr)
    return s == "cfg(test)" or s.startswith("cfg(all(test,") or s == "cfg(all(test))"


def attr_path(attr):
    s = "".join(attr)
    return s.startswith("path=")


def parse_use_tree(toks, i, prefix, out, line):
    """Parse a use tree at toks[i]; append (alias, path, glob, line). Return next index."""
    path = list(prefix)
    n = len(toks)
    if i < n and toks[i][1] == "::":
        i += 1  # leading `::` (extern): keep as is, it will not resolve
        path.append("::")
    while i < n:
        kind, t, ln = toks[i]
        if kind == "id" and t != "as":
            path.append(t)
            i += 1
            if i < n and toks[i][1] == "::":
                i += 1
                continue
            # end of a simple path, maybe `as alias`
            alias = path[-1]
            if i + 1 < n and toks[i][1] == "as":
                alias = toks[i + 1][1]
                i += 2
            if path[-1] == "self" and len(path) > 1:
                path = path[:-1]
                if alias == "self":
                    alias = path[-1]
            out.append((alias, tuple(path), False, ln))
            return i
        if t == "*":
            out.append((None, tuple(path), True, ln))
            return i + 1
        if t == "{":
            i += 1
            while i < n and toks[i][1] != "}":
                if toks[i][1] == ",":
                    i += 1
                    continue
                i = parse_use_tree(toks, i, path, out, line)
            return i + 1
        # anything else: stop
        return i + 1
    return i


def parse_file(src):
    toks = lex(src)
    scopes = {(): Scope(())}
    stack = [((), 0)]            # (rel module path, brace depth at which its items sit)
    depth = 0
    n = len(toks)
    i = 0
    pending_test = False
    pending_path = None
    while i < n:
        kind, t, ln = toks[i]
        cur_rel, base = stack[-1]
        scope = scopes[cur_rel]
        if kind == "p":
            if t == "#" and i + 1 < n and toks[i + 1][1] in ("[", "!"):
                j = i + 1
                inner = toks[j][1] == "!"
                if inner:
                    j += 1
                end = matching(toks, j, "[", "]")
                attr = [x[1] for x in toks[j + 1:end - 1]]
                if attr_is_test(attr):
                    if inner:
                        # `#![cfg(test)]`: the whole enclosing module is test code.
                        if len(stack) == 1:
                            return scopes, True
                        # inline module: skip to its end
                        close = matching_from_depth(toks, end, depth)
                        i = close
                        continue
                    pending_test = True
                elif attr_path(attr):
                    pending_path = PATH_ATTR.get(ln)
                i = end
                continue
            if pending_test:
                i = skip_item(toks, i)
                pending_test = False
                continue
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
                if len(stack) > 1 and depth < stack[-1][1]:
                    stack.pop()
            elif t == ";":
                pending_path = None
            i += 1
            continue
        if kind == "str":
            i += 1
            continue
        # identifiers
        if pending_test:
            i = skip_item(toks, i)
            pending_test = False
            pending_path = None
            continue
        if t != "use":
            scopes[()].idents.add(t)
        if t == "mod" and i + 1 < n and toks[i + 1][0] == "id":
            name = toks[i + 1][1]
            nxt = toks[i + 2][1] if i + 2 < n else ""
            if nxt == ";":
                scope.mod_decls[name] = (ln, pending_path)
                pending_path = None
                i += 3
                continue
            if nxt == "{":
                rel = cur_rel + (name,)
                scope.inline.add(name)
                scopes[rel] = Scope(rel)
                depth += 1
                stack.append((rel, depth))
                pending_path = None
                i += 3
                continue
        if t == "use" and (i == 0 or toks[i - 1][1] != "::"):
            is_pub = i > 0 and toks[i - 1][1] == "pub"
            if i > 0 and toks[i - 1][1] == ")":
                k = i - 1
                while k > 0 and toks[k][1] != "(":
                    k -= 1
                is_pub = k > 0 and toks[k - 1][1] == "pub"
            out = []
            j = parse_use_tree(toks, i + 1, [], out, ln)
            # advance to the `;`
            while j < n and toks[j][1] != ";":
                j += 1
            for alias, path, glob, l2 in out:
                scope.uses.append((alias, path, glob, l2, is_pub))
                if depth == base:
                    scope.imports.append((alias, path, glob, l2))
            i = j + 1
            continue
        if depth == base:
            if t in KEYWORD_ITEMS and i + 1 < n and toks[i + 1][0] == "id":
                name = toks[i + 1][1]
                if name not in KEYWORD_ITEMS and name not in NON_NAMES:
                    scope.defs.add(name)
            elif t == "macro_rules" and i + 2 < n and toks[i + 1][1] == "!":
                scope.defs.add(toks[i + 2][1])
        # a path in code: ident (:: ident)+, not preceded by `::`
        if i + 1 < n and toks[i + 1][1] == "::" and (i == 0 or toks[i - 1][1] != "::"):
            path = [t]
            j = i + 1
            while j + 1 < n and toks[j][1] == "::" and toks[j + 1][0] == "id":
                path.append(toks[j + 1][1])
                j += 2
            scopes[()].idents.update(path)
            if len(path) >= 2:
                scope.code_paths.append((tuple(path), ln))
            i = j
            continue
        i += 1
    return scopes, False


def matching_from_depth(toks, i, depth):
    """Index just past the `}` that brings `depth` below its current value."""
    d = depth
    while i < len(toks):
        t = toks[i][1] if toks[i][0] == "p" else None
        if t == "{":
            d += 1
        elif t == "}":
            d -= 1
            if d < depth:
                return i + 1
        i += 1
    return len(toks)


# `#[path = "x.rs"]`: the string is stripped by the lexer, so it is read from the raw line.
PATH_ATTR = {}
PATH_ATTR_RE = re.compile(r'#\[\s*path\s*=\s*"([^"]+)"\s*\]')


# ----------------------------------------------------------------------------------------------
# One crate root: the module tree
# ----------------------------------------------------------------------------------------------

class Module:
    def __init__(self, path, file, scope):
        self.path = path
        self.file = file
        self.scope = scope
        self.children = {}     # name -> module path


class Tree:
    def __init__(self, root_file, parsed):
        self.modules = {}
        self.parsed = parsed   # file -> (scopes, is_test)
        self.file_mods = defaultdict(list)   # file -> [(module path of the file, scopes)]
        self._build(root_file)

    def _scopes(self, f):
        if f not in self.parsed:
            with open(f, encoding="utf-8", errors="replace") as fh:
                src = fh.read()
            PATH_ATTR.clear()
            for k, l in enumerate(src.split("\n"), 1):
                m = PATH_ATTR_RE.search(l)
                if m:
                    PATH_ATTR[k] = m.group(1)
            self.parsed[f] = parse_file(src)
        return self.parsed[f]

    def _build(self, root):
        queue = deque([((), root, True)])
        while queue:
            mpath, f, is_modrs = queue.popleft()
            if not os.path.isfile(f):
                continue
            scopes, is_test = self._scopes(f)
            if is_test:
                continue
            self.file_mods[f].append(mpath)
            fdir = os.path.dirname(f)
            stem = os.path.splitext(os.path.basename(f))[0]
            own_dir = fdir if is_modrs else os.path.join(fdir, stem)
            for rel in sorted(scopes):
                sc = scopes[rel]
                full = mpath + rel
                self.modules[full] = Module(full, f, sc)
                if rel:
                    self.modules[full[:-1]].children[rel[-1]] = full
                child_dir = os.path.join(own_dir, *rel)
                for name, (ln, pattr) in sorted(sc.mod_decls.items()):
                    if pattr:
                        base = fdir if (is_modrs and not rel) else child_dir
                        cand = [(os.path.normpath(os.path.join(base, pattr)), True)]
                    else:
                        cand = [(os.path.join(child_dir, name + ".rs"), False),
                                (os.path.join(child_dir, name, "mod.rs"), True)]
                    for cf, modrs in cand:
                        if os.path.isfile(cf):
                            queue.append((full + (name,), cf, modrs))
                            self.modules[full].children[name] = full + (name,)
                            break
        # children links for file modules added after their parent module objects exist
        for p in list(self.modules):
            if p:
                par = self.modules.get(p[:-1])
                if par is not None:
                    par.children[p[-1]] = p

    # -- name resolution -----------------------------------------------------------------------

    def absolutize(self, raw, mpath):
        """Absolute module-tree path for a path written in module `mpath`, or None (extern)."""
        if not raw:
            return None
        first = raw[0]
        if first in ("crate", "$crate"):
            return tuple(raw[1:])
        if first == "self":
            return mpath + tuple(raw[1:])
        if first == "super":
            k = 0
            while k < len(raw) and raw[k] == "super":
                k += 1
            if k > len(mpath):
                return None
            return mpath[:len(mpath) - k] + tuple(raw[k:])
        if first == "::":
            return None
        mod = self.modules.get(mpath)
        if mod is None:
            return None
        if first in mod.children:
            return mpath + tuple(raw)
        if first in mod.scope.defs:
            return mpath + tuple(raw)
        for alias, p, glob, _ in mod.scope.imports:
            if not glob and alias == first and p != raw:
                target = self.absolutize(p, mpath)
                if target is None:
                    return None
                return target + tuple(raw[1:])
        return None

    def resolve(self, path, seen=None):
        """(file, found) for the item an absolute path names; (None, _) for a bare module."""
        if seen is None:
            seen = set()
        if path in seen:
            return None, False
        seen.add(path)
        k = len(path)
        while k > 0 and path[:k] not in self.modules:
            k -= 1
        mp = path[:k]
        mod = self.modules.get(mp)
        if mod is None:
            return None, False
        rest = path[k:]
        if not rest:
            return None, True   # a module only
        name = rest[0]
        if name in mod.scope.defs:
            return mod.file, True
        for alias, p, glob, _ in mod.scope.imports:
            if not glob and alias == name:
                target = self.absolutize(p, mp)
                if target is None:
                    return None, True   # an extern item re-exported: no edge
                return self.resolve(target + tuple(rest[1:]), seen)
        for alias, p, glob, _ in mod.scope.imports:
            if glob:
                target = self.absolutize(p, mp)
                if target is None or target not in self.modules:
                    continue
                g = self.modules[target]
                if name in g.scope.defs or name in g.children or any(
                        a == name for a, _, gl, _ in g.scope.imports if not gl):
                    return self.resolve(target + tuple(rest), seen)
        return mod.file, False


# ----------------------------------------------------------------------------------------------
# A crate: its roots, its edges
# ----------------------------------------------------------------------------------------------

def crate_roots(crate_dir):
    src = os.path.join(crate_dir, "src")
    roots = []
    for r in ("lib.rs", "main.rs"):
        p = os.path.join(src, r)
        if os.path.isfile(p):
            roots.append(p)
    bind = os.path.join(src, "bin")
    if os.path.isdir(bind):
        for e in sorted(os.listdir(bind)):
            p = os.path.join(bind, e)
            if e.endswith(".rs") and os.path.isfile(p):
                roots.append(p)
            elif os.path.isfile(os.path.join(p, "main.rs")):
                roots.append(os.path.join(p, "main.rs"))
    try:
        with open(os.path.join(crate_dir, "Cargo.toml"), encoding="utf-8") as fh:
            toml = fh.read()
        for m in re.finditer(r'^\s*path\s*=\s*"([^"]+\.rs)"', toml, re.M):
            p = os.path.normpath(os.path.join(crate_dir, m.group(1)))
            if p.startswith(src + os.sep) and p not in roots:
                roots.append(p)
    except OSError:
        pass
    return roots


def crate_edges(crate_dir):
    """{(a, b): [(line, text, found, reexport_only), ...]} for files a != b (relative to src/)."""
    src = os.path.join(crate_dir, "src")
    edges = defaultdict(list)
    parsed = {}
    for root in crate_roots(crate_dir):
        tree = Tree(root, parsed)
        for f, mpaths in sorted(tree.file_mods.items()):
            scopes, _ = parsed[f]
            for mpath in mpaths:
                for rel in sorted(scopes):
                    sc = scopes[rel]
                    mp = mpath + rel
                    if mp not in tree.modules:
                        continue
                    # aliases visible in this scope's code: every `use` of the scope
                    aliases = {}
                    for alias, p, glob, _, _ in sc.uses:
                        if not glob and alias and alias != "_":
                            aliases[alias] = tree.absolutize(p, mp)
                    refs = []
                    for alias, p, glob, ln, is_pub in sc.uses:
                        ab = tree.absolutize(p, mp)
                        if ab is None:
                            continue
                        kw = "pub use " if is_pub else "use "
                        # a `pub use` whose name the file does not use itself: a re-export only
                        reexp = is_pub and (glob or alias not in scopes[()].idents)
                        if glob:
                            if ab in tree.modules:
                                refs.append((tree.modules[ab].file, True, ln,
                                             kw + "::".join(p) + "::*", reexp))
                            else:
                                tf, found = tree.resolve(ab)
                                if tf:
                                    refs.append((tf, found, ln, kw + "::".join(p) + "::*",
                                                 reexp))
                            continue
                        tf, found = tree.resolve(ab)
                        if tf:
                            refs.append((tf, found, ln, kw + "::".join(p), reexp))
                    mod = tree.modules[mp]
                    for p, ln in sc.code_paths:
                        first = p[0]
                        if first in ("crate", "$crate", "self", "super"):
                            ab = tree.absolutize(p, mp)
                        elif first in mod.children or first in sc.defs:
                            ab = mp + p
                        elif first in aliases:
                            t = aliases[first]
                            ab = None if t is None else t + p[1:]
                        else:
                            ab = None
                        if ab is None:
                            continue
                        tf, found = tree.resolve(ab)
                        if tf:
                            refs.append((tf, found, ln, "::".join(p), False))
                    for tf, found, ln, text, reexp in refs:
                        if tf != f:
                            a = os.path.relpath(f, src)
                            b = os.path.relpath(tf, src)
                            ev = (ln, text, found, reexp)
                            if ev not in edges[(a, b)]:
                                edges[(a, b)].append(ev)
    return edges


# ----------------------------------------------------------------------------------------------
# Graph: Tarjan SCC, shortest cycle
# ----------------------------------------------------------------------------------------------

def tarjan(nodes, adj):
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(adj.get(start, ())))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(adj.get(w, ()))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))
    return out


def shortest_cycle(comp, adj):
    members = set(comp)
    best = None
    for s in comp:  # comp is sorted: deterministic
        prev = {s: None}
        q = deque([s])
        found = None
        while q and found is None:
            v = q.popleft()
            for w in adj.get(v, ()):
                if w not in members:
                    continue
                if w == s:
                    found = v
                    break
                if w not in prev:
                    prev[w] = v
                    q.append(w)
        if found is None:
            continue
        path = []
        v = found
        while v is not None:
            path.append(v)
            v = prev[v]
        cyc = list(reversed(path)) + [s]
        if best is None or len(cyc) < len(best):
            best = cyc
    return best


def find_crates(root):
    crates = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs
                         if not x.startswith(".") and x not in ("target", "node_modules"))
        if "Cargo.toml" in files and os.path.isdir(os.path.join(d, "src")):
            try:
                with open(os.path.join(d, "Cargo.toml"), encoding="utf-8") as fh:
                    if not re.search(r"^\[package\]", fh.read(), re.M):
                        continue
            except OSError:
                continue
            crates.append(d)
    return sorted(crates, key=lambda d: os.path.relpath(d, root))


def is_facade(a, b, evidence):
    """A mod-rs file (lib.rs, main.rs, mod.rs) whose only references to one of its own
    descendant files are `pub use` re-exports of names it does not use itself: the facade
    pattern (--no-facade drops these edges)."""
    base = os.path.basename(a)
    if base not in ("lib.rs", "main.rs", "mod.rs"):
        return False
    d = os.path.dirname(a)
    if d and not b.startswith(d + "/"):
        return False
    return all(reexp for _, _, _, reexp in evidence)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    unknown = flags - {"--explain", "--edges", "--no-facade", "--help"}
    if "--help" in flags or unknown or len(args) > 1:
        sys.stdout.write(__doc__)
        return 2 if unknown or len(args) > 1 else 0
    root = os.path.abspath(args[0] if args else ".")
    total = 0
    for crate in find_crates(root):
        label = os.path.relpath(crate, root)
        label = os.path.basename(root) if label == "." else label
        edges = crate_edges(crate)
        if "--no-facade" in flags:
            edges = {k: v for k, v in edges.items() if not is_facade(k[0], k[1], v)}
        adj = defaultdict(list)
        nodes = set()
        for (a, b) in edges:
            adj[a].append(b)
            nodes.update((a, b))
        for a in adj:
            adj[a].sort()

        def evidence(a, b):
            ev = edges[(a, b)]
            ln, text, found, _ = ev[0]
            return "%s:%d: %s%s%s" % (a, ln, text, "" if found else " [unresolved]",
                                      "  (+%d more)" % (len(ev) - 1) if len(ev) > 1 else "")

        if "--edges" in flags:
            for (a, b) in sorted(edges):
                print("%s: %s -> %s   %s" % (label, a, b, evidence(a, b)))
        comps = [c for c in tarjan(sorted(nodes), adj) if len(c) >= 2]
        comps.sort()
        for comp in comps:
            total += 1
            cyc = shortest_cycle(comp, adj)
            line = "%s: %s" % (label, " -> ".join(cyc))
            if len(comp) > len(cyc) - 1:
                line += " | all %d files: %s" % (len(comp), ", ".join(comp))
            if "--edges" not in flags:
                print(line)
            if "--explain" in flags:
                members = set(comp)
                for (a, b) in sorted(edges):
                    if a in members and b in members:
                        print("    %s -> %s   %s" % (a, b, evidence(a, b)))
    print("file cycles: %d" % total)
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
