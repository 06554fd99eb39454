"""What every control-API route needs: the running sandbox, its portal, and the error type.

Route modules (including `control/openlines.py`) take the portal with a `PortalDep` parameter and
refuse bad input by raising `ControlError`; the app answers it as
`{"error": code, "error_description": text}` with the error's status.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from b24sandbox.portal import Portal
from b24sandbox.runtime import Sandbox


class ControlError(Exception):
    """A control-API request was refused (4xx)."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.status = status
        self.code = code
        self.description = description


def get_sandbox(request: Request) -> Sandbox:
    """The running sandbox (set on the app's state by `create_control_app`)."""
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def get_portal(request: Request) -> Portal:
    """The current portal (it changes on reset and restore, so never cache it)."""
    return get_sandbox(request).portal


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
PortalDep = Annotated[Portal, Depends(get_portal)]
