"""The producer side: plan a job, write it to Redis, follow it through a handle, abort it.

Nothing here imports ``arq_django.worker``.
"""
