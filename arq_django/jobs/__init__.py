"""Job definitions: the registry, per-job options and their parsers (cron, retry, unique, priority)."""
