"""Browser pages of the sandbox portal: operator console, Contact Center and Apps (server-rendered)."""
