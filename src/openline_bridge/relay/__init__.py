"""The messaging use-cases between a visitor channel and Bitrix24: visitor inbound (messages, edits, deletes,
profile, read receipts), operator inbound (events from the inbox), files, the status changes, serialisation
to the visitor protocol (docs/protocol.md) and publishing appended events to live subscribers."""
