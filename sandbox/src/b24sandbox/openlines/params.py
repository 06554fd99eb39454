"""Reading REST parameters the way the imconnector PHP code reads them."""

from __future__ import annotations

from typing import Any

from b24sandbox.errors import RestError, argument_null


def upper_keys(params: dict[str, Any]) -> dict[str, Any]:
    """Top-level keys upper-cased (contract §8: top-level keys are case-insensitive)."""
    return {str(k).upper(): v for k, v in params.items()}


def lower_keys_deep(value: Any) -> Any:
    """Keys of every nested object lower-cased (contract §8: keys inside MESSAGES)."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys_deep(v) for v in value]
    return value


def php_empty(value: Any) -> bool:
    """PHP `empty()`: missing, "", "0", 0, 0.0, false and empty arrays are empty (contract §8.3)."""
    return value is None or value is False or value in ("", "0", 0, 0.0) or value == [] or value == {}


def php_array(value: Any) -> list[Any] | None:
    """A PHP array as a list of its values (form bodies give dicts with index keys), else None."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return list(value.values())
    return None


def require(params: dict[str, Any], name: str) -> Any:
    """The value of a required parameter; 400 ERROR_ARGUMENT when it is PHP-empty (contract §8.3, §8.7)."""
    value = params.get(name)
    if php_empty(value):
        raise argument_null(name)
    return value


def require_present(params: dict[str, Any], name: str) -> Any:
    """A parameter that must be present but may be empty (contract §8.3 `ACTIVE`, §8.13)."""
    if name not in params or params[name] is None:
        raise argument_null(name)
    return params[name]


def as_int(value: Any) -> int:
    """PHP `(int)` cast: leading digits of a string, 0 for anything else."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip() if value is not None else ""
    digits = ""
    for i, ch in enumerate(text):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def as_str(value: Any) -> str:
    """A scalar parameter as text ("" for missing or nested values)."""
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def as_bool_flag(value: Any, default: bool) -> bool:
    """A register flag given as JSON bool, "Y"/"N", 1/0 or "true"/"false" (contract §8.1)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().upper()
    if text in ("Y", "1", "TRUE"):
        return True
    if text in ("N", "0", "FALSE", ""):
        return False
    return default


def provider_error() -> RestError:
    """400 IMCONNECTOR_NO_CORRECT_PROVIDER for an unregistered connector id (contract §8.7)."""
    return RestError(
        "IMCONNECTOR_NO_CORRECT_PROVIDER", "Incorrect connector! Connector not registered or not active", 400
    )


def not_active_line() -> RestError:
    """400 NOT_ACTIVE_LINE when the (connector, line) STATUS is false (contract §8.7 step 3)."""
    return RestError("NOT_ACTIVE_LINE", "The line with this ID is inactive or does not exist", 400)
