"""Tasks as model rows: ``TaskModel`` (exported as ``arq_django.models.TaskModel``), the worker's
handler that runs a row, recovery of stuck rows, and ``TaskModelAdmin``.

Import ``TaskModel`` from ``arq_django.models`` and ``TaskModelAdmin`` from
``arq_django.model_tasks.admin``; this package imports nothing at load, so app loading stays ordered.
"""
