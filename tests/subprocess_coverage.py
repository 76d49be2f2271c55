"""Branch coverage of the code that runs only in child processes the tests start.

`scripts/test` measures the pytest process. Some code runs nowhere else than in a child: the
process supervisor and its workers (cli/supervisor.py, cli/worker_processes.py) and what
`bastion serve` does around the app. A test that starts such a child on purpose passes
`measured_env()` to it, and the child is measured too: coverage.py starts in any Python
process whose environment carries COVERAGE_PROCESS_CONFIG (the `.pth` file coverage installs
in the venv), writes its own data file next to the parent's at exit (a `parallel` suffix),
and pytest-cov combines those files into the run's figure at the end.

Only chosen children: every `bastion serve` measured would make the slow tests slower by
about half for little more coverage. A child killed with SIGKILL writes nothing (nothing is
lost but that child's lines). Outside a coverage run this adds nothing."""

from __future__ import annotations

import copy
import os

import coverage

CONFIG_VAR = "COVERAGE_PROCESS_CONFIG"


def measured_env() -> dict[str, str]:
    """This process's environment plus what makes a Python child measured by the coverage
    run this process is under, if any."""
    out = dict(os.environ)
    current = coverage.Coverage.current()
    if current is None:
        return out
    config = copy.copy(current.config)
    config.parallel = True  # a data file of its own, combined at the end of the run
    out[CONFIG_VAR] = config.serialize()
    return out
