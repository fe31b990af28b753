"""The TIaaS service's own tests (not installed: pyproject.toml excludes ``training.tests*``; not shipped:
galaxy.yml build_ignore). Shared helpers of the collection come from ``tests.support``."""

from pathlib import Path

# apps/tiaas: the working directory of the servers the tests start.
APP = Path(__file__).resolve().parents[2]
# Logs and screenshots of the test session (tiaas.settings.test writes the service's log there too).
ARTIFACTS = APP / "test-artifacts"
