"""openline-bridge: a self-hosted bridge between external chat surfaces and Bitrix24 Open Channels."""

__all__ = ["__version__"]

__version__ = "0.1.0"
