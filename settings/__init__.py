"""The example project's settings: ``base`` then ``dev``, ``test`` or ``prod``."""
