"""A Hypothesis strategy that turns a valid YAML file into a broken one: the data mutated (keys
renamed, added and removed, values of the wrong type, size or nesting) and then the text (cut
short, hostile snippets, NUL, Latin-1 and random bytes). Valid files stay valid often enough
that the happy path is exercised too.

Hypothesis draws one seed per case and a seeded Random makes the choices: drawing each choice
through Hypothesis cost ten times the loading itself, and 2,000 cases per file kind must fit
in CI's time. A failing case is still reported with its file's bytes."""

from __future__ import annotations

import copy
import random
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


def _text(rng: random.Random) -> str:
    """Short text from all of Unicode but surrogates (which no UTF-8 file can hold)."""
    points = (rng.choice([rng.randrange(32, 127), rng.randrange(0x10FFFF)]) for _ in range(9))
    return "".join(chr(p) for p in points if not 0xD800 <= p <= 0xDFFF)[: rng.randrange(10)]


def _scalar(rng: random.Random) -> Any:
    kind = rng.randrange(5)
    if kind == 0:
        return rng.choice(ODD_SCALARS)
    if kind == 1:
        return rng.randint(-(2**70), 2**70) >> rng.randrange(70)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    return _text(rng) if kind == 3 else rng.random() < 0.5


def _value(rng: random.Random, depth: int = 0) -> Any:
    """A scalar, or a small list or mapping of values."""
    kind = rng.randrange(6) if depth < 3 else 0
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 5:
        return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return _scalar(rng)


def _typo(rng: random.Random, key: str) -> str:
    if not key:
        return "x"
    i = rng.randrange(len(key))
    return key[:i] + key[i + 1 :] if rng.random() < 0.5 else key[:i] + key[i] * 2 + key[i:]


def mutate_data(rng: random.Random, base: dict[str, Any], keys: Sequence[str]) -> Any:
    """`base` with a few structural changes at random places."""
    data = copy.deepcopy(base)
    if rng.randrange(20) == 0:
        return _value(rng)  # the whole file one odd value
    for _ in range(rng.randrange(4)):
        target = rng.choice(list(_containers(data)))
        op = rng.choice(["set", "add", "delete", "rename", "wrap", "nest"])
        if isinstance(target, list):
            if target and op == "delete":
                target.pop(rng.randrange(len(target)))
            elif target and op in ("set", "wrap"):
                i = rng.randrange(len(target))
                target[i] = [target[i]] if op == "wrap" else _value(rng)
            else:
                target.append(_value(rng))
            continue
        key = rng.choice(list(target)) if target else None
        if op == "add" or key is None:
            new_key = rng.choice([rng.choice(keys), _text(rng), rng.randint(-9, 99)])
            target[new_key] = _value(rng)
        elif op == "delete":
            del target[key]
        elif op == "rename":
            target[rng.choice([_typo(rng, str(key)), *keys])] = target.pop(key)
        elif op == "wrap":
            target[key] = rng.choice([[target[key]], {"x": target[key]}])
        elif op == "nest":
            value = target[key]
            for _ in range(rng.randint(1, 80)):
                value = [value]
            target[key] = value
        else:
            target[key] = _value(rng)
    return data


# libyaml's emitter when PyYAML has it: writing the file is most of a case's time otherwise.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=1000)


def mutate_text(rng: random.Random, text: str) -> bytes:
    """The file's text with at most two textual mutations, as bytes on disk."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(rng.randrange(3)):
        op = rng.choice(["snippet", "snippet", "duplicate", "cut", "nul"])
        i = rng.randrange(len(lines))
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip(" "))]
        if op == "snippet":
            snippet = rng.choice(SNIPPETS)
            lines.insert(i, "".join(indent + part for part in snippet.splitlines(keepends=True)))
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "cut":
            joined = "".join(lines)
            lines = [joined[: rng.randint(0, len(joined))]]
        else:
            lines[i] = lines[i][:-1] + "\0" + lines[i][-1:]
    raw = "".join(lines).encode("utf-8")
    last = rng.choice(["none", "none", "none", "bytes", "latin1"])
    if last == "bytes":
        at = rng.randint(0, len(raw))
        raw = raw[:at] + rng.randbytes(rng.randint(1, 8)) + raw[at:]
    elif last == "latin1":
        raw = (raw.decode("utf-8") + "# café\n").encode("latin-1", errors="replace")
    return raw


@st.composite
def broken_file(draw: Any, base: dict[str, Any], keys: Sequence[str]) -> bytes:
    """A file that started as `base`: mutated as data, then as text."""
    rng = random.Random(draw(st.integers(min_value=0, max_value=2**64 - 1)))
    return mutate_text(rng, dump(mutate_data(rng, base, keys)))
