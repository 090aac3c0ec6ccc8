"""``make bench-peers``: arq_django beside huey, dramatiq, saq, streaq, taskiq, celery and raw arq, on the
same job, in one run (``bench.peers.run``).

Each system has a small adapter module here (``<system>_peer``: its app, the job, a producer using the
system's own client); ``bench.peers.systems`` says how to start each one's worker with its own CLI, and
in which venv. Adapters import only their own library and ``bench.peers.job``, so every venv needs only
its system installed (``bench/peers/requirements-*.txt``).
"""
