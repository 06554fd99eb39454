"""Fixtures of the flow tests (shared with the lifecycle tests through ``tests.lifecycle.fixtures``)."""

from tests.lifecycle.fixtures import bridge, control, installed, sandbox

__all__ = ["bridge", "control", "installed", "sandbox"]
