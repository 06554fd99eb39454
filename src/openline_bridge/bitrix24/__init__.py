"""The Bitrix24 side of the bridge: wire formats, typed events, errors, rate limit, REST client, methods.

Modules: ``formdata`` (PHP bracket forms), ``events`` (typed events, dedup keys, origin check),
``errors`` (the one error taxonomy and ``classify``), ``ratelimit`` (per-portal leaky bucket),
``auth`` (tokens and the store contract), ``oauth`` (single-flight refresh), ``client`` (async REST
client, batch), ``methods`` (one typed function per REST method).
"""
