"""Switchable behaviours where the docs and the source disagree (contract §14)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Shape = Literal["source", "docs"]
_CHOICES: dict[str, tuple[Any, ...]] = {
    "register_failure_shape": ("source", "docs"),
    "signature_format": ("source", "docs"),
    "data_set_mode": ("merge", "overwrite"),
}


@dataclass
class Variants:
    """Which side of each §14 discrepancy the sandbox plays."""

    # contract §14 #1: `source` = top-level `{"result": false, "error", ...}`; `docs` = nested.
    register_failure_shape: Shape = "source"
    # contract §14 #15: unregister of a connector without status rows fails.
    unregister_needs_status_row: bool = True
    # contract §14 #7: `source` = `[b]Name:[/b][br] `, `docs` = `[b]Name:[/b] [br]`.
    signature_format: Shape = "source"
    # contract §14 #3: `merge` non-empty keys (source) or `overwrite` the whole object (docs).
    data_set_mode: Literal["merge", "overwrite"] = "merge"
    # contract §16 #4: operator file links need the portal's auth token, or are public unguessable links.
    file_links_need_auth: bool = False

    def update(self, values: dict[str, Any]) -> None:
        """Set several variants at once; ValueError on an unknown key or value (nothing is changed then)."""
        known = {f.name: f for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown variant {key!r}")
            allowed = _CHOICES.get(key, (True, False))
            if value not in allowed or type(value) is not type(allowed[0]):
                raise ValueError(f"variant {key!r} must be one of {list(allowed)}")
        for key, value in values.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        """The current variants as JSON-ready values."""
        return asdict(self)
