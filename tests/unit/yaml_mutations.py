"""Hypothesis strategies that turn a valid YAML file into a broken one: the data mutated (keys
renamed, added and removed, values of the wrong type, size or nesting) and then the text (cut
short, hostile snippets, NUL, Latin-1 and random bytes). Valid files stay valid often enough
that the happy path is exercised too."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import Any

import yaml
from hypothesis import strategies as st

# Scalars that trip validators: the edges of types, sizes and names.
ODD_SCALARS: list[Any] = [
    None,
    True,
    0,
    -1,
    2**63,
    10**200,
    -(10**30),
    0.0,
    -2.5,
    3.1,
    float("nan"),
    float("inf"),
    "",
    " ",
    "3.10",
    "-rf",
    ".hidden",
    "a b",
    "a\nb",
    "\t",
    "é日本\u202e",
    "~nosuchuser/key",
    "$(reboot)",
    "x" * 5000,
    "/dev/null/x",
]
SCALARS = st.one_of(
    st.sampled_from(ODD_SCALARS),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.booleans(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)

# Fragments inserted as lines: each breaks a rule of YAML or of the loader.
SNIPPETS = [
    "? [a, b]\n: 1\n",
    "? {a: 1}\n: 2\n",
    "[a]: 1\n",
    "x: &a [*a]\n",
    "x: *undefined\n",
    "<<: 5\n",
    "x: !!python/object/apply:os.system [echo hi]\n",
    "x: !!binary '%%%'\n",
    "x: 2024-13-45\n",
    "x: " + "9" * 5000 + "\n",
    "x: " + "[" * 200 + "]" * 200 + "\n",
    "x: " + "{a: " * 100 + "1" + "}" * 100 + "\n",
    "x: '\n",
    'x: "\\0"\n',
    "\tx: 1\n",
    "- a\n",
    "x: |\n  text\n",
    "--- \nx: 1\n",
    "%YAML 1.1\n",
    "x: &a [l, l, l, l, l, l, l, l, l]\n"
    "y: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "z: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "w: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "v: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "u: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "t: [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
]


def _containers(data: Any) -> Iterator[Any]:
    """Every mapping and list inside `data`, itself first."""
    if isinstance(data, (dict, list)):
        yield data
        for value in data.values() if isinstance(data, dict) else data:
            yield from _containers(value)


def _typo(key: str, draw: Any) -> str:
    if not key:
        return "x"
    i = draw(st.integers(0, len(key) - 1))
    return key[:i] + key[i + 1 :] if draw(st.booleans()) else key[:i] + key[i] * 2 + key[i:]


@st.composite
def mutated_data(draw: Any, base: dict[str, Any], keys: Sequence[str]) -> Any:
    """`base` with a few structural changes at random places."""
    data = copy.deepcopy(base)
    if draw(st.integers(0, 19)) == 0:
        return draw(VALUES)  # the whole file one odd value
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(list(_containers(data))))
        op = draw(st.sampled_from(["set", "add", "delete", "rename", "wrap", "nest"]))
        if isinstance(target, list):
            if target and op == "delete":
                target.pop(draw(st.integers(0, len(target) - 1)))
            elif target and op in ("set", "wrap"):
                i = draw(st.integers(0, len(target) - 1))
                target[i] = [target[i]] if op == "wrap" else draw(VALUES)
            else:
                target.append(draw(VALUES))
            continue
        names = list(target)
        key = draw(st.sampled_from(names)) if names else None
        if op == "add" or key is None:
            new_key = draw(
                st.one_of(st.sampled_from(list(keys)), st.text(max_size=10), st.integers())
            )
            target[new_key] = draw(VALUES)
        elif op == "delete":
            del target[key]
        elif op == "rename":
            value = target.pop(key)
            target[draw(st.sampled_from([_typo(str(key), draw), *keys]))] = value
        elif op == "wrap":
            target[key] = draw(st.sampled_from([[target[key]], {"x": target[key]}]))
        elif op == "nest":
            depth = draw(st.integers(1, 80))
            value = target[key]
            for _ in range(depth):
                value = [value]
            target[key] = value
        else:
            target[key] = draw(VALUES)
    return data


# libyaml's emitter when PyYAML has it: writing the file is most of a case's time otherwise.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1000)


@st.composite
def mutated_bytes(draw: Any, text: str) -> bytes:
    """The file's text with at most two textual mutations, as bytes on disk."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["snippet", "duplicate", "cut", "bytes", "nul", "latin1"]))
        i = draw(st.integers(0, len(lines) - 1))
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip(" "))]
        if op == "snippet":
            snippet = draw(st.sampled_from(SNIPPETS))
            lines.insert(i, "".join(indent + part for part in snippet.splitlines(keepends=True)))
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "cut":
            joined = "".join(lines)
            lines = [joined[: draw(st.integers(0, len(joined)))]]
        elif op == "nul":
            lines[i] = lines[i][:-1] + "\0" + lines[i][-1:]
    raw = "".join(lines).encode("utf-8")
    last = draw(st.sampled_from(["none", "none", "none", "bytes", "latin1"]))
    if last == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    elif last == "latin1":
        raw = (raw.decode("utf-8") + "# café\n").encode("latin-1", errors="replace")
    return raw


@st.composite
def broken_file(draw: Any, base: dict[str, Any], keys: Sequence[str]) -> bytes:
    """A file that started as `base`: mutated as data, then as text."""
    return draw(mutated_bytes(dump(draw(mutated_data(base, keys)))))
