"""gunicorn settings for TIaaS: ``gunicorn -c python:tiaas.gunicorn_conf tiaas.wsgi [-w N] [--threads N] [-b ...]``.

Command-line options override these defaults. Use this file: it tells every worker how many workers there are, so
that each one opens at most its share of ``galaxy_max_connections`` (see tiaas/settings/base.py).
"""

from __future__ import annotations

import os

wsgi_app = "tiaas.wsgi"
worker_class = "gthread"
workers = 2
# 4 threads per worker keep 2 cores busy without oversubscribing them (measured with bench/bench_tiaas_join.py).
threads = 4
# The share of the connection ceiling is computed when a worker loads the application, after the fork.
preload_app = False


def post_fork(server, worker) -> None:
    # Read by the settings as the configuration key `processes`.
    os.environ["TIAAS_PROCESSES"] = str(server.cfg.workers)
