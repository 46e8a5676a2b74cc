"""The plugin in a real host: `hearth plugin test`."""

import os
import unittest

from hearth_testing import TestHost, events

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class CounterInAHost(unittest.TestCase):
    def test_counts_fridge_openings_per_household(self) -> None:
        with TestHost() as host:
            host.install_project(PROJECT)
            host.add_device("fridge-1", "fridge")
            host.send("fridge-1", events.fridge_door("open"), events.fridge_door("closed"), events.fridge_door("open"))
            self.assertEqual(host.call("{{name}}", "stats")["fridge_opens"], 2)
