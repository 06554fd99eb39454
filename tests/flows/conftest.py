"""Fixtures of the flow tests (shared with the lifecycle tests through ``tests.lifecycle.fixtures``)."""

from tests.lifecycle.fixtures import bridge, control, installed

__all__ = ["bridge", "control", "installed"]
