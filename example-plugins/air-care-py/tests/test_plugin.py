"""The Python air-care plugin in a real host: `hearth plugin test`."""

import os
import unittest

from hearth_testing import HOUSEHOLD, ApiError, TestHost, events

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class AirCareInAHost(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.host = TestHost()
        cls.plugin = cls.host.install_project(PROJECT)
        cls.host.add_device("ac-1", "air-conditioner")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.host.stop()

    def test_cooling_below_26_is_raised_to_26_and_the_household_told_once_a_day(self) -> None:
        reading = events.air_telemetry(28.5, 55.0, "good", cooling_setpoint_centi_celsius=2200)
        self.host.send("ac-1", reading)
        commands = self.host.take_commands("ac-1")
        self.assertEqual([(c["command"], c.get("argument")) for c in commands], [("set-temperature", 2600)])
        titles = [n["title"] for n in self.host.notifications()]
        self.assertEqual(titles, ["Cooling set to 26 °C"])

        self.host.send("ac-1", reading)
        self.assertEqual(self.host.take_commands("ac-1"), [])
        self.assertEqual(len(self.host.notifications()), 1)

        # Keyed by the plugin's pseudonymous ref of the device, never its id.
        advice = self.host.call("air", "advice")
        self.assertNotIn("ac-1", advice)
        (device,) = advice.values()
        self.assertEqual(device["cooling_setpoint"], "22.0 °C")
        self.assertEqual(device["actions"], ["set 26 °C (was 22.0 °C)"])
        self.assertEqual(self.host.dead_letters(self.plugin), [])

    def test_without_control_it_advises_and_a_worn_filter_gets_a_reminder(self) -> None:
        self.host.add_household("household-2")
        self.host.add_device("ac-2", "air-conditioner", "household-2")
        # household-2 takes back control: the plugin may only advise.
        self.host.grant(self.plugin, "household-2", ["air-conditioner"], control=False)
        reading = events.air_telemetry(30.0, 40.0, "fair", cooling_setpoint_centi_celsius=2400,
                                       filter_condition_percent=5)
        self.host.send("ac-2", reading)
        self.assertEqual(self.host.take_commands("ac-2"), [])
        titles = sorted(n["title"] for n in self.host.notifications("household-2"))
        self.assertEqual(titles, ["Air filter worn", "Save energy at 26 °C"])

    def test_an_unknown_operation_is_not_found(self) -> None:
        with self.assertRaises(ApiError) as refused:
            self.host.call("air", "nothing", household=HOUSEHOLD)
        self.assertIn(refused.exception.status, (404,))
