"""Cards: how a table describes itself, in the Frictionless Data Package format.

A card says what is judged, what the target means and which end of it is better, and what each
attribute means and its scale. Built-in datasets, corpus tables and a user's own file all use the
same descriptor, a ``datapackage.json`` (https://specs.frictionlessdata.io/data-package/) whose
first resource's ``schema.fields`` carry a ``description`` each::

    {"name": "wines", "description": "Wines graded by a panel of tasters.",
     "resources": [{"name": "wines", "path": "wines.csv",
       "schema": {"fields": [
         {"name": "wine_id", "type": "string"},
         {"name": "alcohol", "type": "number", "description": "alcohol, % by volume"},
         {"name": "grade", "type": "number", "description": "panel grade, 0..10"}],
         "primaryKey": "wine_id"},
       "rewardsmith": {"target": "grade", "better": "higher"}}]}

An attribute whose levels have an order says so the Table Schema way, with ``categories`` (its
levels, in order) and ``"categoriesOrdered": true``::

    {"name": "cut", "type": "string", "description": "quality of the cut",
     "categories": ["Fair", "Good", "Very Good", "Premium", "Ideal"], "categoriesOrdered": true}

Such an attribute is weighed as one number, its place in the order (see ``encoding``).

Frictionless has no word for a target, so the resource carries one custom property,
``rewardsmith``: ``target`` (the column to rank by), ``better`` ("higher" or "lower"), and
optionally ``attributes`` (the columns to use; by default every described field but the target,
the primary key and the group), ``ignored`` (described columns that are not inputs) and
``group`` (the column naming a subject judged several times, such as a firm in each year of a
panel: its rows stay on one side of every fit/held-out cut and cross-validation fold, so no
function is scored on a subject it was fitted on). Everything else is plain Frictionless, so a
descriptor written by other tools can be read, and ours by them.

The prompt text of a table comes from its card (``Dataset.schema_text``), so a user's CSV with a
card reaches the language model with meanings, not bare column names.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write_text, read_json
from .dataset import DatasetError

CARD_FILE = "datapackage.json"
BETTER = ("higher", "lower")


@dataclass(frozen=True)
class Card:
    """The plain-words description of one table (see the module docstring)."""

    name: str = ""
    title: str = ""
    description: str = ""                  # what is judged, in the words of the table's owner
    target: str | None = None
    target_note: str = ""                  # what the target means, its scale
    better: str = "higher"                 # which end of the target is better
    attributes: dict[str, str] = field(default_factory=dict)  # name -> meaning and scale
    id_column: str | None = None
    group_column: str | None = None        # a subject judged several times (see above)
    ignored: tuple[str, ...] = ()          # described columns that are never inputs
    license: str = ""
    source: str = ""
    paths: tuple[str, ...] = ()            # the resource's data file(s), as the card names them
    orders: dict[str, tuple[str, ...]] = field(default_factory=dict)  # ordered categories
    extra: dict = field(default_factory=dict)  # the resource's other rewardsmith settings

    # -- reading -----------------------------------------------------------------------------
    @classmethod
    def from_descriptor(cls, descriptor, where: str = "the card") -> Card:
        """A card from a Data Package descriptor (a dict); ``DatasetError`` names what is wrong
        and where."""
        if not isinstance(descriptor, dict):
            raise DatasetError(f"{where} is not a Data Package descriptor (a JSON object with "
                               "'resources'); see `rewardsmith run --help` for the card format")
        resources = descriptor.get("resources")
        if not isinstance(resources, list) or not resources or not isinstance(resources[0], dict):
            raise DatasetError(f"{where} has no resources: a Data Package names its table in "
                               "'resources': [{'name', 'path', 'schema': {'fields': [...]}}]")
        resource = resources[0]
        schema = resource.get("schema") or {}
        fields = schema.get("fields") if isinstance(schema, dict) else None
        if not isinstance(fields, list) or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str) for f in fields):
            raise DatasetError(f"{where}: the resource's schema.fields must be a list of "
                               "objects with a 'name' each")
        notes = {f["name"]: str(f.get("description") or "").strip() for f in fields}
        own = resource.get("rewardsmith") or {}
        if not isinstance(own, dict):
            raise DatasetError(f"{where}: 'rewardsmith' must be an object such as "
                               '{"target": "grade", "better": "higher"}')
        target = own.get("target")
        better = str(own.get("better", "higher")).strip().lower()
        if better not in BETTER:
            raise DatasetError(f"{where}: 'better' is {own.get('better')!r}; it must be "
                               "'higher' or 'lower'")
        if target is not None and target not in notes:
            raise DatasetError(f"{where}: the target {target!r} is not among the described "
                               f"fields ({', '.join(notes)}); describe it in schema.fields")
        key = schema.get("primaryKey")
        id_column = key[0] if isinstance(key, list) and len(key) == 1 else key
        id_column = id_column if isinstance(id_column, str) else None
        group_column = own.get("group")
        if group_column is not None and not isinstance(group_column, str):
            raise DatasetError(f"{where}: 'group' is {group_column!r}; it must be one column "
                               'name, such as "group": "firm"')
        ignored = tuple(own.get("ignored", ()))
        listed = own.get("attributes")
        if listed is not None:
            unknown = [a for a in listed if a not in notes]
            if unknown:
                raise DatasetError(f"{where}: attribute(s) {', '.join(map(repr, unknown))} are "
                                   "not described in schema.fields; describe them there")
            names = list(listed)
        else:
            names = [n for n in notes if n not in {target, id_column, group_column, *ignored}]
        if group_column is not None and group_column in names:
            raise DatasetError(f"{where}: {group_column!r} is both the group and an attribute; "
                               "a subject's name is not an input: leave it out of 'attributes'")
        orders = {f["name"]: _ordered_categories(f, where) for f in fields
                  if f.get("categoriesOrdered") is True}
        licenses = descriptor.get("licenses") or []
        sources = descriptor.get("sources") or []
        return cls(
            name=str(descriptor.get("name") or resource.get("name") or ""),
            title=str(descriptor.get("title") or ""),
            description=str(descriptor.get("description") or "").strip(),
            target=target,
            target_note=notes.get(target, "") if target else "",
            better=better,
            attributes={n: notes[n] for n in names},
            id_column=id_column,
            group_column=group_column,
            ignored=ignored,
            license=_first_text(licenses, ("title", "name")),
            source=_first_text(sources, ("title", "path")),
            paths=_paths(resource.get("path")),
            orders=orders,
            extra={k: v for k, v in own.items()
                   if k not in ("target", "better", "attributes", "ignored", "group")},
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> Card:
        path = Path(path)
        descriptor = read_json(
            path, DatasetError, missing=f"card not found: {path}",
            damaged=lambda exc: f"{path} is not valid JSON ({exc}); a card is a Data Package "
            "descriptor (datapackage.json)")
        return cls.from_descriptor(descriptor, where=str(path))

    @classmethod
    def beside(cls, data_path: str | os.PathLike) -> Card | None:
        """The card next to a data file: ``<stem>.datapackage.json`` or a ``datapackage.json``
        in the same folder whose resource names this file. None when there is none."""
        data_path = Path(data_path)
        stem = data_path.name.split(".")[0]
        own = data_path.with_name(f"{stem}.{CARD_FILE}")
        if own.is_file():
            return cls.load(own)
        shared = data_path.with_name(CARD_FILE)
        if shared.is_file():
            card = cls.load(shared)
            if not card.paths or data_path.name in {Path(p).name for p in card.paths}:
                return card
        return None

    # -- writing -----------------------------------------------------------------------------
    def to_descriptor(self) -> dict:
        fields = []
        if self.id_column:
            fields.append({"name": self.id_column, "type": "string",
                           "description": "identifies the item"})
        fields += [{"name": n, "type": "number", "description": d} if n not in self.orders
                   else {"name": n, "type": "string", "description": d,
                         "categories": list(self.orders[n]), "categoriesOrdered": True}
                   for n, d in self.attributes.items()]
        if self.target:
            fields.append({"name": self.target, "type": "number",
                           "description": self.target_note})
        schema: dict = {"fields": fields}
        if self.id_column:
            schema["primaryKey"] = self.id_column
        own = {"target": self.target, "better": self.better, "attributes": list(self.attributes),
               **({"ignored": list(self.ignored)} if self.ignored else {}),
               **({"group": self.group_column} if self.group_column else {}), **self.extra}
        path = list(self.paths) if len(self.paths) > 1 else (self.paths or [None])[0]
        resource = {"name": self.name or "table", **({"path": path} if path else {}),
                    "schema": schema, "rewardsmith": own}
        descriptor = {"name": self.name or "table"}
        if self.title:
            descriptor["title"] = self.title
        descriptor["description"] = self.description
        if self.license:
            descriptor["licenses"] = [{"title": self.license}]
        if self.source:
            descriptor["sources"] = [{"title": self.source}]
        descriptor["resources"] = [resource]
        return descriptor

    def save(self, path: str | os.PathLike) -> Path:
        return atomic_write_text(path, json.dumps(self.to_descriptor(), indent=2) + "\n")


def as_card(card) -> Card | None:
    """A ``Card`` from a Card, a descriptor dict, or a path to a descriptor (None stays None)."""
    if card is None or isinstance(card, Card):
        return card
    if isinstance(card, dict):
        return Card.from_descriptor(card)
    if isinstance(card, (str, os.PathLike)):
        return Card.load(card)
    raise DatasetError(f"card must be a path to a datapackage.json, a dict or a Card, not a "
                       f"{type(card).__name__}")


def _ordered_categories(field_: dict, where: str) -> tuple[str, ...]:
    """A field's ``categories`` (values, or objects with a ``value``) as text, in order."""
    categories = field_.get("categories")
    if not isinstance(categories, list) or not categories:
        raise DatasetError(f"{where}: field {field_['name']!r} has categoriesOrdered but no "
                           "categories; list its levels in order, e.g. \"categories\": "
                           "[\"Fair\", \"Good\", \"Ideal\"]")
    values = [c.get("value") if isinstance(c, dict) else c for c in categories]
    if any(v is None or isinstance(v, (dict, list)) for v in values):
        raise DatasetError(f"{where}: field {field_['name']!r} has a category that is not a "
                           "value (text, a number, or an object with a \"value\")")
    levels = tuple(str(v).strip() for v in values)
    if len(set(levels)) < len(levels):
        raise DatasetError(f"{where}: field {field_['name']!r} lists a category twice; list "
                           "each level once, in order")
    return levels


def _paths(value) -> tuple[str, ...]:
    """A resource's ``path``: one string, or a list of strings for a table in several files."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return ()


def _first_text(entries, keys) -> str:
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            for key in keys:
                if entry.get(key):
                    return str(entry[key])
    return ""
