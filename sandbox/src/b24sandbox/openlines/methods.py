"""REST methods of Open Channels: `imconnector.*`, `imopenlines.config.*` (contract §8) and
`imopenlines.session.history.get`.

Importing this module registers every handler with the method registry.
"""

from b24sandbox.openlines import config_methods, connector_methods, message_methods, session_methods

__all__ = ["config_methods", "connector_methods", "message_methods", "session_methods"]
