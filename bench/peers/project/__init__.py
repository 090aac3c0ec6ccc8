"""The Django project arq_django runs in for ``make bench-peers``: its settings and jobs module."""
