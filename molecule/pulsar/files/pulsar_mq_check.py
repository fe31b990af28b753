"""Run Pulsar's own client check (pulsar.client.test.check) over AMQP against one endpoint.

pulsar-check has no AMQP option; its run() does: a real job stages inputs, an extra-files directory, a
metadata file, tool files and a config file through the job files API, runs `python script.py` on the
endpoint and stages every output back, byte-exact. TMPDIR must be under the job files API's root.

    TMPDIR=/srv/galaxy-jobs python pulsar_mq_check.py AMQP_URL FILES_ENDPOINT JOBS_DIRECTORY
"""

import sys
import uuid
from types import SimpleNamespace

from pulsar.client.test.check import run

run(
    SimpleNamespace(
        manager_url=sys.argv[1],
        files_endpoint=sys.argv[2],
        jobs_directory=sys.argv[3],
        default_file_action="remote_transfer",
        url=None,
        private_token=None,
        suppress_output=False,
        # A fresh id each run: Pulsar keeps a finished job's id until Galaxy cleans it up.
        job_id=f"gxops-mq-check-{uuid.uuid4().hex[:8]}",
    )
)
print("pulsar check over AMQP passed")
