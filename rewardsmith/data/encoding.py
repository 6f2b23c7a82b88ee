"""From a table's attributes as they are (text, gaps) to the numbers a program fits, and back.

Everything that fits and scores candidates (the profile, the prior, ridge, selected terms, the
sandbox during fitting) works on numbers with no gaps: the table's *features*. A numeric
attribute is its own feature, with a missing value read as the fit rows' median; a text
attribute (``colour``: red / white / rose) is one 0/1 feature per level other than the
reference level (``colour=red``, ``colour=rose``), so that the prior step states, level by
level, whether it is better or worse than the reference, and cross-validation trusts that as it
trusts any prior.

A function written on features is then written back on the attributes as a user holds them:
``attrs["colour=red"]`` becomes ``(attrs["colour"] == "red")`` and a numeric attribute with gaps
``filled(attrs["acidity"], 3.2)``, with ``filled`` (a missing value, None or NaN, becomes the fit
rows' median) defined beside ``score``. A level never seen in the fit rows, or a missing text
value, matches no indicator: it scores as the reference level.

An *ordered* text attribute (a diamond's cut: Fair < Good < Very Good < Premium < Ideal, as a
card's ``categoriesOrdered`` or a pandas ordered categorical declares it) is one feature instead:
its place in the order, 0 for the first. One weight for five levels is what 20 fit rows can
support, where four indicators are not. Written back it reads
``ranked(attrs["cut"], CUT_ORDER, 2.0)``, with the order a constant and ``ranked`` (a missing or
unknown value takes the fit rows' median place) defined beside ``score``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LEVEL_MARK = "="
#: A level seen in fewer fit rows gets no feature of its own: it scores as the reference level.
#: Its weight would rest on a handful of rows, and at 20 fit rows a table like ggplot2's
#: diamonds (20 levels in 3 columns) lost 0.19 held-out rho to such weights.
MIN_LEVEL_ROWS = 5
FILLED = "filled"
_FILLED_DEF = f'''

def {FILLED}(value, median):
    """The value, or the fit rows' median where it is missing (None or NaN)."""
    return median if value is None or value != value else value
'''
RANKED = "ranked"
# Comparisons and a sum only, so that the sandbox's column mode scores it on whole columns too.
_RANKED_DEF = f'''

def {RANKED}(value, order, fallback):
    """The value's place in order (0 for the first), or fallback (the fit rows' median place)
    where it is missing or not in the order."""
    place = sum(number * (value == level) for number, level in enumerate(order))
    return fallback if value not in order else place
'''


class RawRows:
    """A task's fit and held-out rows as the table holds them (text, gaps), for checking the
    function written back on the attributes. Never an input: no prompt sees it, and copies of
    the task share it (it is read-only by convention)."""

    def __init__(self, fit: pd.DataFrame, heldout: pd.DataFrame):
        self.fit = fit
        self.heldout = heldout

    def __repr__(self) -> str:
        return f"<RawRows {len(self.fit)} fit, {len(self.heldout)} held out>"

    __str__ = __repr__

    def __copy__(self) -> RawRows:
        return self

    def __deepcopy__(self, memo) -> RawRows:
        return self


class EncodingError(ValueError):
    """A function on features that cannot be written on the raw attributes."""


@dataclass(frozen=True)
class Encoding:
    """``attributes``: the table's attributes in order; ``levels``: each unordered text
    attribute's levels, the reference (most frequent) first; ``medians``: each numeric attribute
    with missing values, its fit-row median; ``orders``: each ordered text attribute's levels in
    their order, and ``order_medians`` its fit rows' median place."""

    attributes: tuple[str, ...]
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    rare: dict[str, tuple[str, ...]] = field(default_factory=dict)  # levels scored as the reference
    orders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    order_medians: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(cls, fit: pd.DataFrame, attributes, levels=None, *, gaps=(), orders=None
            ) -> Encoding:
        """The encoding of a task: ``levels`` from the dataset (the reference first), less those
        seen in fewer than ``MIN_LEVEL_ROWS`` fit rows; a median from the fit rows for every
        numeric attribute in ``gaps`` (those with a missing value anywhere in the table); for
        every attribute in ``orders``, one feature (its place) instead of indicators."""
        orders = {name: tuple(order) for name, order in (orders or {}).items()}
        order_medians = {}
        for name, order in orders.items():
            places = _places(fit[name], order).dropna().to_numpy()
            order_medians[name] = (round(float(np.median(places)), 6) if len(places)
                                   else (len(order) - 1) / 2)
        levels = {name: known for name, known in (levels or {}).items() if name not in orders}
        rare = {}
        for name, known in levels.items():
            counts = fit[name].value_counts()
            few = tuple(level for level in known[1:] if counts.get(level, 0) < MIN_LEVEL_ROWS)
            levels[name] = tuple(level for level in known if level not in few)
            if few:
                rare[name] = few
        medians = {}
        for name in attributes:
            if name in levels or name in orders or name not in gaps:
                continue
            values = fit[name].to_numpy(dtype=np.float64)
            values = values[np.isfinite(values)]
            medians[name] = round(float(np.median(values)), 6) if len(values) else 0.0
        return cls(tuple(attributes), levels, medians, rare, orders, order_medians)

    @property
    def is_identity(self) -> bool:
        """True when the features are the attributes themselves (numbers, no gaps)."""
        return not self.levels and not self.medians and not self.orders

    @property
    def features(self) -> tuple[str, ...]:
        names = []
        for name in self.attributes:
            if name in self.levels:
                names += [indicator(name, level) for level in self.levels[name][1:]]
            else:
                names.append(name)
        return tuple(names)

    def indicators(self) -> dict[str, tuple[str, str]]:
        """feature -> (text attribute, level), for every indicator feature."""
        return {indicator(name, level): (name, level)
                for name, levels in self.levels.items() for level in levels[1:]}

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The features of ``frame``'s rows (float64, no gaps), other columns kept as they are."""
        if self.is_identity:
            return frame
        out = frame.drop(columns=list(self.levels))
        for name, median in self.medians.items():
            out[name] = frame[name].astype("float64").fillna(median)
        for name, order in self.orders.items():
            out[name] = _places(frame[name], order).fillna(self.order_medians[name])
        for feature, (name, level) in self.indicators().items():
            out[feature] = (frame[name] == level).astype("float64")
        return out

    def notes(self, attribute_notes: dict[str, str]) -> dict[str, str]:
        """What each feature means, for the prompts (the card's notes carried over). Levels
        without a feature (too rare in the fit rows) go unnamed: they are the reference too."""
        notes = {}
        for name in self.attributes:
            note = attribute_notes.get(name, "")
            if name in self.levels:
                levels = self.levels[name]
                rare = self.rare.get(name, ())
                against = f"the reference level {levels[0]!r}" + (
                    f" and {len(rare)} level(s) too rare in the fit rows to weigh" if rare else "")
                for level in levels[1:]:
                    notes[indicator(name, level)] = (
                        f"1 when {name} is {level!r}, else 0 (against {against})"
                        + (f"; {name}: {note}" if note else ""))
            elif name in self.orders:
                order = self.orders[name]
                notes[name] = (
                    f"the place of {name} in the order "
                    + " < ".join(repr(level) for level in order)
                    + f" (0 = {order[0]!r}, {len(order) - 1} = {order[-1]!r}); a missing or "
                    f"unknown value is read as {self.order_medians[name]:g}"
                    + (f"; {name}: {note}" if note else ""))
            elif name in self.medians:
                notes[name] = (note + "; " if note else "") + (
                    f"missing in some rows, read there as the fit-row median "
                    f"{self.medians[name]:g}")
            elif note:
                notes[name] = note
        return notes

    # -- back to the attributes --------------------------------------------------------------
    def raw_source(self, source: str) -> str:
        """``source`` (a function on features) written on the raw attributes: each feature read
        replaced where it stands; where ``attrs`` is used some other way (a loop over it), a
        ``score`` that builds the features and calls the original, renamed ``score_features``."""
        if self.is_identity:
            return source
        try:
            return self._spliced(source)
        except EncodingError:
            return self._wrapped(source)

    def wrapped_source(self, source: str) -> str:
        """``source`` kept as it is, renamed ``score_features``, under a ``score`` that builds
        the features from the attributes and calls it."""
        return source if self.is_identity else self._wrapped(source)

    def order_constants(self, taken=()) -> dict[str, str]:
        """Each ordered attribute's constant in the written function (``CUT_ORDER``), none of
        them a name in ``taken``."""
        names, used = {}, set(taken)
        for attribute in self.orders:
            base = re.sub(r"[^0-9A-Za-z]+", "_", attribute).strip("_").upper() or "LEVEL"
            # The sandbox refuses names that start with "_"; one cannot start with a digit.
            base = f"ORDER_{base}" if base[0].isdigit() else f"{base}_ORDER"
            name, n = base, 2
            while name in used:
                name, n = f"{base}_{n}", n + 1
            names[attribute] = name
            used.add(name)
        return names

    def _read_text(self, feature: str, arithmetic: bool, param: str = "attrs",
                   constants=None) -> str:
        if feature in self.orders:
            constant = (constants or self.order_constants())[feature]
            return (f"{RANKED}({param}[{json.dumps(feature)}], {constant}, "
                    f"{self.order_medians[feature]!r})")
        if feature in self.indicators():
            name, level = self.indicators()[feature]
            test = f"{param}[{json.dumps(name)}] == {json.dumps(level)}"
            # True * w is w; elsewhere (max(...), a bare return) the number itself.
            return f"({test})" if arithmetic else f"(1.0 if {test} else 0.0)"
        return f"{FILLED}({param}[{json.dumps(feature)}], {self.medians[feature]!r})"

    def _spliced(self, source: str) -> str:
        tree = ast.parse(source)
        score = _score_def(tree)
        param = score.args.args[0].arg
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        translated = set(self.indicators()) | set(self.medians) | set(self.orders)
        constants = self.order_constants(_bound(tree))
        edits = []
        for node in ast.walk(score):
            if not (isinstance(node, ast.Name) and node.id == param) or node is score.args.args[0]:
                continue
            parent = parents.get(node)
            read, key = _literal_read(node, parent, parents)
            if read is None:
                raise EncodingError(f"{param} is used other than as {param}[\"name\"]")
            if key not in translated:
                continue
            arithmetic = isinstance(parents.get(read), (ast.BinOp, ast.UnaryOp))
            edits.append((read, self._read_text(key, arithmetic, param, constants)))
        for helper, needed in ((FILLED, self.medians), (RANKED, self.orders)):
            if needed and any(_binds(tree, helper)):
                raise EncodingError(f"the source defines its own {helper}")
        return self._add_helpers(_replace_spans(source, edits), constants)

    def _add_helpers(self, text: str, constants: dict[str, str]) -> str:
        """``text`` with what the reads need: ``filled``, the orders' constants and ``ranked``."""
        parts = [_FILLED_DEF] if self.medians else []
        if self.orders:
            constants_text = "\n".join(
                f"{constants[name]} = ({', '.join(json.dumps(level) for level in order)}"
                f"{',' if len(order) == 1 else ''})"
                for name, order in self.orders.items())
            parts = [constants_text, *parts, _RANKED_DEF]
        block = "\n\n\n".join(part.strip("\n") for part in parts)
        return _add_block(text, block) if block else text

    def _wrapped(self, source: str) -> str:
        tree = ast.parse(source)
        if any(_binds(tree, "score_features")):
            raise EncodingError("the source already defines score_features")
        score = _score_def(tree)
        renamed = _replace_spans(source, [(score, None)])
        constants = self.order_constants(_bound(tree))
        lines = []
        indicators = self.indicators()
        for feature in self.features:
            if feature in indicators or feature in self.medians or feature in self.orders:
                value = self._read_text(feature, arithmetic=False, constants=constants)
            else:
                value = f"attrs[{json.dumps(feature)}]"
            lines.append(f"        {json.dumps(feature)}: {value},")
        wrapper = (
            "\n\ndef score(attrs):\n"
            '    """The score of the attributes as they are: each text level a 0/1 feature\n'
            '    (an ordered one its place), a missing value its fit-row median."""\n'
            "    return score_features({\n" + "\n".join(lines) + "\n    })\n")
        return self._add_helpers(renamed.rstrip("\n") + "\n" + wrapper, constants)


def indicator(name: str, level: str) -> str:
    """The feature name of one level of a text attribute: ``colour=red``."""
    return f"{name}{LEVEL_MARK}{level}"


def _score_def(tree: ast.Module) -> ast.FunctionDef:
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "score" and stmt.args.args:
            return stmt
    raise EncodingError("no def score(attrs)")


def _literal_read(node, parent, parents):
    """(the read's node, its key) for ``attrs["key"]`` or ``attrs.get("key", ...)``, else
    (None, None)."""
    if (isinstance(parent, ast.Subscript) and parent.value is node
            and isinstance(parent.slice, ast.Constant) and isinstance(parent.slice.value, str)
            and isinstance(parent.ctx, ast.Load)):
        return parent, parent.slice.value
    call = parents.get(parent)
    if (isinstance(parent, ast.Attribute) and parent.attr == "get" and isinstance(call, ast.Call)
            and call.func is parent and call.args and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)):
        return call, call.args[0].value
    return None, None


def _binds(tree: ast.Module, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            yield node
        elif isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            yield node


def _replace_spans(source: str, edits) -> str:
    """``source`` with each (node, text) replaced; (a def, None) renames that def to
    ``score_features``. Offsets are UTF-8 byte columns, as ``ast`` gives them."""
    lines = source.splitlines(keepends=True)
    starts, total = [], 0
    for line in lines:
        starts.append(total)
        total += len(line.encode("utf-8"))
    data = source.encode("utf-8")
    spans = []
    for node, text in edits:
        if text is None:  # the def's name: the first "score" after "def" on its line
            begin = starts[node.lineno - 1] + node.col_offset
            at = data.index(b"score", data.index(b"def", begin))
            spans.append((at, at + len(b"score"), b"score_features"))
            continue
        begin = starts[node.lineno - 1] + node.col_offset
        end = starts[node.end_lineno - 1] + node.end_col_offset
        spans.append((begin, end, text.encode("utf-8")))
    for begin, end, text in sorted(spans, reverse=True):
        data = data[:begin] + text + data[end:]
    return data.decode("utf-8")


def _places(values: pd.Series, order) -> pd.Series:
    """Each value's place in ``order`` (float; NaN where missing or not in the order)."""
    return values.map({level: float(place) for place, level in enumerate(order)}).astype(
        "float64")


def _bound(tree: ast.Module) -> set[str]:
    """Every name the source binds or reads: the orders' constants must not shadow one."""
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} | {
        node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def _add_block(text: str, block: str) -> str:
    """``block`` (helpers) placed after the module's docstring, imports and constants, before
    its first function."""
    tree = ast.parse(text)
    first = next((s for s in tree.body if isinstance(s, ast.FunctionDef)), None)
    lines = text.splitlines(keepends=True)
    at = (first.lineno - 1) if first is not None else len(lines)
    if first is not None and first.decorator_list:
        at = first.decorator_list[0].lineno - 1
    head = "".join(lines[:at]).rstrip("\n")
    body = "".join(lines[at:])
    return (head + "\n\n\n" if head else "") + block.rstrip("\n") + "\n\n\n" + body
