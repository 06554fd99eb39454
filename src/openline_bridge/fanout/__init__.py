"""Live fan-out of conversation events to subscribers: in memory for one process (``memory``), Redis
pub/sub across bridge instances (``redis``). Both implement :class:`fanout.base.Fanout`."""
