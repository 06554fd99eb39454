"""Fixtures of the lifecycle tests (shared with the flow tests through ``tests.lifecycle.fixtures``)."""

from tests.lifecycle.fixtures import bridge, control, installed

__all__ = ["bridge", "control", "installed"]
