"""Jobmon's client classes under Jobmon's module names (``jobmon.client.tool`` →
``jobmon_temporal.client.tool`` and so on)."""
