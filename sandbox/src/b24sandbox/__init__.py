"""b24sandbox: a local Bitrix24 portal that speaks the Open Channels connector wire protocol.

It imitates what shared/spec/bitrix24-contract.md describes: OAuth, REST (`imconnector.*`,
`imopenlines.*`, `event.*`, `batch`), events in Bitrix24's form-encoded wire format, rate limits,
injected faults, and an operator console. It shares no code with openline-bridge on purpose.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
