"""The bridge's own web layer: middleware, health, error responses and the server-rendered Bitrix24 pages."""
