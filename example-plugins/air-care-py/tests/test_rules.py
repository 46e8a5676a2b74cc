"""The rules alone, in plain CPython."""

import unittest

import rules


class Rules(unittest.TestCase):
    def test_below_26_degrees_is_advised_up(self) -> None:
        self.assertEqual(rules.advise(2200), (2200, 28))
        self.assertEqual(rules.advise(2550), (2550, 3))
        self.assertIsNone(rules.advise(2600))
        self.assertIsNone(rules.advise(None))
        self.assertEqual(rules.degrees(2250), "22.5 °C")

    def test_a_filter_at_ten_percent_is_worn(self) -> None:
        self.assertTrue(rules.filter_worn(10))
        self.assertFalse(rules.filter_worn(11))
        self.assertFalse(rules.filter_worn(None))
