"""Slurm job plugin for Pulsar's queued_cli manager that reports how a job ended.

Installed by the galaxyops.infrastructure.pulsar role next to Pulsar's own CLI job plugins; use it with
`job_plugin: SlurmFinalState`. Pulsar's `Slurm` plugin polls `squeue -j ID`, which forgets a job the moment it
ends, so a job that FAILED, hit its time limit, ran out of memory or lost its node (NODE_FAIL) reads as
complete. This plugin asks `squeue -t all`, which keeps finished jobs for Slurm's MinJobAge (300 s by
default), and maps the failure states to Pulsar's `failed`. Everything else is Pulsar's Slurm plugin.
"""

from . import job_states
from .slurm import Slurm

# squeue's compact state codes.
_RUNNING = {"R", "CG", "CF", "S", "ST", "SO", "SI", "RD"}
_QUEUED = {"PD", "RQ", "RF", "RH", "RS", "RV"}
_FAILED = {"F", "NF", "CA", "TO", "OOM", "BF", "DL", "PR", "SE"}


class SlurmFinalState(Slurm):
    def get_status(self, job_ids=None):
        return "squeue -a -t all -o '%A %t'"

    def get_single_status(self, job_id):
        return f"squeue -a -t all -o '%A %t' -j {job_id}"

    def _get_job_state(self, state):
        if state == "CD":
            return job_states.OK
        if state in _FAILED:
            return job_states.ERROR
        if state in _QUEUED:
            return job_states.QUEUED
        if state in _RUNNING:
            return job_states.RUNNING
        # An unknown code: keep polling rather than declare the job finished.
        return job_states.RUNNING


__all__ = ("SlurmFinalState",)
