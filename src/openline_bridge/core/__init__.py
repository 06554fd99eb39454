"""Pure rules of the bridge: no I/O, no framework. Text formats, names, statuses."""
