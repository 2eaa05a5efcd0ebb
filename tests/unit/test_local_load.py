"""The load tool's poller must not starve the stack it measures."""

import pytest

from imagetagger_local.load import POLL_INTERVAL_S, POLL_MAX_SHARE, next_poll_wait


def test_quick_listings_are_polled_at_the_normal_interval():
    assert next_poll_wait(0.05) == POLL_INTERVAL_S


def test_slow_listings_of_many_images_are_spaced_out():
    wait = next_poll_wait(2.0)
    assert 2.0 / (2.0 + wait) == pytest.approx(POLL_MAX_SHARE)
