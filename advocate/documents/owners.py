"""What a document may belong to. Each feature registers its owner type once,
at import (from its blueprint package), with a loader that finds the object in
the current firm and a function naming the object's practice:

    from advocate.documents import register_owner
    register_owner("practice", lambda pk: db.session.get(Practice, pk), lambda p: p.id,
                   label="Practice", detail_url=lambda p: url_for("practices.detail", practice_id=p.id))

An owner type nobody registered, or an id its loader does not find in the
current firm, is a 404 wherever documents are touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenants import current_tenant_id

# The owner types the product plans; features register the loaders.
KNOWN_OWNER_TYPES = ("practice", "payer", "payer_policy", "association", "case")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,19}$")


@dataclass(frozen=True)
class OwnerType:
    name: str
    loader: Callable[[int], Any | None]
    practice_of: Callable[[Any], int | None]
    label: str
    detail_url: Callable[[Any], str] | None = None


_REGISTRY: dict[str, OwnerType] = {}


class OwnerNotFound(LookupError):
    """No such owner type, or no such owner in the current firm."""


def register_owner(
    owner_type: str,
    loader: Callable[[int], Any | None],
    practice_of: Callable[[Any], int | None],
    *,
    label: str | None = None,
    detail_url: Callable[[Any], str] | None = None,
) -> OwnerType:
    """Let documents attach to `owner_type`.

    loader(id) returns the object in the current firm or None;
    practice_of(obj) returns its practice id (None: firm-level, e.g. a payer),
    which decides what practice users may download.
    Registering the same name again replaces the entry (idempotent imports).
    """
    if not _NAME.match(owner_type or ""):
        raise ValueError(
            f"owner type {owner_type!r}: lowercase letters, digits, underscores; 20 at most"
        )
    entry = OwnerType(
        name=owner_type,
        loader=loader,
        practice_of=practice_of,
        label=label or owner_type.replace("_", " ").capitalize(),
        detail_url=detail_url,
    )
    _REGISTRY[owner_type] = entry
    return entry


def unregister_owner(owner_type: str) -> None:
    _REGISTRY.pop(owner_type, None)


def owner_type(name: str) -> OwnerType:
    entry = _REGISTRY.get(name or "")
    if entry is None:
        raise OwnerNotFound(f"documents cannot belong to {name!r}")
    return entry


def registered_owner_types() -> list[str]:
    return sorted(_REGISTRY)


def load_owner(name: str, owner_id: Any) -> tuple[OwnerType, Any]:
    """(entry, object) for an owner in the current firm, else OwnerNotFound."""
    entry = owner_type(name)
    try:
        pk = int(owner_id)
    except (TypeError, ValueError) as err:
        raise OwnerNotFound(f"{name} id {owner_id!r} is not a number") from err
    if pk <= 0 or pk > 2**63 - 1:
        raise OwnerNotFound(f"no {name} {pk}")
    obj = entry.loader(pk)
    # Defence in depth: a loader that forgot the tenant still cannot hand out another firm's object.
    tid = getattr(obj, "tenant_id", None) if obj is not None else None
    if obj is None or (tid is not None and tid != current_tenant_id()):
        raise OwnerNotFound(f"no {name} {pk}")
    return entry, obj
