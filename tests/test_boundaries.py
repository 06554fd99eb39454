"""The bridge and the sandbox share no code (shared/ARCHITECTURE.md): a wrong assumption about the
wire format would otherwise be confirmed by both sides and no test could catch it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_top_level_modules(package_dir: Path) -> dict[str, set[str]]:
    """Top-level module names imported by each file below `package_dir`, by relative path."""
    found: dict[str, set[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(package_dir))] = names
    return found


@pytest.mark.parametrize(
    ("package_dir", "forbidden"),
    [
        (ROOT / "src" / "openline_bridge", "b24sandbox"),
        (ROOT / "sandbox" / "src" / "b24sandbox", "openline_bridge"),
    ],
)
def test_package_does_not_import_the_other(package_dir: Path, forbidden: str) -> None:
    modules = imported_top_level_modules(package_dir)
    assert modules, f"no Python files found under {package_dir}"
    offenders = sorted(path for path, names in modules.items() if forbidden in names)
    assert offenders == [], f"{forbidden} imported by {offenders}"


def test_the_check_sees_an_import(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("from b24sandbox.portal import Portal\nimport os\n", encoding="utf-8")
    assert imported_top_level_modules(tmp_path) == {"m.py": {"b24sandbox", "os"}}
