"""A component written against the WIT without the SDK, with a kv-only manifest: it
installs, and everything it was not granted is refused with the manifest line to add."""

import os
import subprocess
import unittest

from hearth_testing import TestHost, events

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW = os.path.join(PROJECT, "tests", "raw")


class RawComponent(unittest.TestCase):
    def test_a_kv_only_component_is_refused_everything_else(self) -> None:
        with TestHost() as host:
            # `hearth plugin build` (through install_project) writes the host's WIT.
            host.install_project(PROJECT)
            component = os.path.join(PROJECT, "target", "hearth", "raw-py.wasm")
            subprocess.run(
                ["componentize-py", "-d", os.path.join(PROJECT, "target", "hearth", "wit"), "-w", "partner-plugin",
                 "componentize", "raw_app", "-p", RAW, "-o", component],
                check=True, capture_output=True,
            )
            raw = host.install(os.path.join(RAW, "hearth.toml"), component)
            host.add_device("ac-raw", "air-conditioner")
            host.send("ac-raw", events.air_telemetry(27.0, 50.0, "good", cooling_setpoint_centi_celsius=2600))

            tried = {t["name"]: t for t in host.call("raw-py", "tried")}
            self.assertEqual(tried["notify"]["outcome"], "NotGranted")
            self.assertIn("[capabilities] notify = true", tried["notify"]["message"])
            self.assertEqual(tried["commerce"]["outcome"], "NotGranted")
            self.assertIn("[capabilities] commerce = true", tried["commerce"]["message"])
            # devices is a list of command grants in the manifest: none requested.
            self.assertEqual(tried["devices"]["outcome"], "NotGranted")
            self.assertEqual(tried["services"]["outcome"], "NotAllowed")
            self.assertIn('calls = ["air.advice"]', tried["services"]["message"])
            self.assertEqual(host.take_commands("ac-raw"), [])
            self.assertFalse([n for n in host.notifications() if n.get("plugin") == raw])
            self.assertGreaterEqual(host.status(raw)["calls_not_granted"], 3)
