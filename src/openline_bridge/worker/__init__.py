"""The outbox worker: dispatches queued jobs to Bitrix24, one dispatcher per portal at a time."""
