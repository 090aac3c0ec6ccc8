"""Operations: the shared read and act logic behind the health checks, the CLI, the JSON API and metrics.

Nothing here is web- or CLI-specific: views and management commands parse, call these functions, print.
"""
