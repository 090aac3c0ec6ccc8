"""The jobs dashboard in Django's admin: queues, workers, throughput, durations and failures on one page.

:mod:`.series` holds the values, :mod:`.mirror` and :mod:`.counters` read them (from the ``JobResult``
table, or from the workers' per-minute Redis counters when the mirror is off), :mod:`.snapshot` puts one
moment together, :mod:`.charts` draws it as SVG on the server and :mod:`.views` / :mod:`.admin` serve it.
"""
