"""Jobmon's ``jobmon.client.logging.configure_client_logging``: here plain ``logging`` set-up, so a
script calling it keeps working. The run's own logs are in Temporal and the API, not this process."""

import logging as _logging
from typing import Any


def configure_client_logging(level: int = _logging.INFO, **_: Any) -> None:
    _logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
