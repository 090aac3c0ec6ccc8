"""arq tests replaced by design: each reaches into an arq internal that arq_django's worker replaces.

``make arq-suite`` skips these on our worker and fails on any *other* test that passes on plain arq and
fails on ours. Only tests that call arq's private methods or patch its private constants belong here.
"""

REPLACED: dict[str, str] = {
    # nodeid (relative to arq's sdist root): one-line reason
}
