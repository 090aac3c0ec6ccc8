"""Stand-in for the ``testcontainers`` package arq's conftest imports: no Docker here (``make arq-suite``)."""
