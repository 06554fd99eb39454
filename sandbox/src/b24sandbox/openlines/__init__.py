"""Open Channels: lines, connectors and their per-line status, chats, sessions, messages."""
