"""Shared fixtures. The end-to-end tests talk to a REAL API (with its worker, Temporal and Postgres)
named by JMT_API_URL; test/clients.test.ts starts one (startTestStack) and runs this suite. Without
JMT_API_URL the end-to-end tests are skipped and only the offline tests run."""

import os
import uuid

import pytest

from jobmon_temporal.client.tool import Tool


def pytest_collection_modifyitems(config, items):
    if os.environ.get("JMT_API_URL"):
        return
    skip = pytest.mark.skip(reason="JMT_API_URL not set: no API to test against")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: needs a running API (JMT_API_URL)")


@pytest.fixture
def unique():
    """A suffix that keeps tool names and workflow_args apart when the suite runs twice on one API."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def make_tool(unique):
    def make(name: str) -> Tool:
        return Tool(f"{name}-{unique}")
    return make
