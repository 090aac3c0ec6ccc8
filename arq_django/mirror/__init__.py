"""The result mirror: keeps ``arq_django.models.JobResult`` in step with every job.

``rows`` turns job events into row updates and merges them; ``writer`` upserts a batch so that a row
never goes backwards; ``listener`` buffers a worker's events and flushes them off the event loop;
``reconcile`` fills rows from arq's result records after an outage or a crash; ``producer`` creates
the row when a job is enqueued; ``actions`` retries, aborts and deletes jobs; ``retention`` prunes.
"""
