"""Settings modules: ``base`` (shared, driven by configuration), ``prod`` (the default for WSGI), ``dev``, ``test``."""
