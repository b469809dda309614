"""What a config dataclass says about its fields: their defaults and their meanings.

A field's meaning is the string literal written right under it, as in CleanRL's ``Args``::

    learning_rate: float = 2.5e-4
    \"\"\"Adam's step size at the start of each phase.\"\"\"

One mechanism for agent and method configs alike, read from the source where the field is declared (a
subclass that only changes a default keeps its base's meaning), so the meaning cannot drift away from the
field. ``--describe NAME`` prints them; a test holds that every field has one.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import textwrap
from functools import cache
from typing import Any


def defaults(cls: type) -> dict[str, Any]:
    """Every field of config dataclass ``cls`` with its default value, in declaration order."""
    return {
        f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        for f in dataclasses.fields(cls)
    }


@cache
def _declared_docs(cls: type) -> dict[str, str]:
    """The string literal under each annotated field in ``cls``'s own body (not its bases'); empty where the
    source cannot be read (a class made at runtime)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
    docs = {}
    for field, under in itertools.pairwise(body):
        if (
            isinstance(field, ast.AnnAssign)
            and isinstance(field.target, ast.Name)
            and isinstance(under, ast.Expr)
            and isinstance(under.value, ast.Constant)
            and isinstance(under.value.value, str)
        ):
            docs[field.target.id] = " ".join(under.value.value.split())
    return docs


def field_docs(cls: type) -> dict[str, str]:
    """The meaning of every field of config dataclass ``cls`` ("" where none is written): the nearest class in
    its method resolution order that documents the field."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            docs |= _declared_docs(klass)
    return {f.name: docs.get(f.name, "") for f in dataclasses.fields(cls)}


def describe(cls: type) -> list[str]:
    """One line per field: ``name = default: meaning``."""
    docs = field_docs(cls)
    return [f"  {name} = {value!r}: {docs[name] or '(undocumented)'}" for name, value in defaults(cls).items()]
