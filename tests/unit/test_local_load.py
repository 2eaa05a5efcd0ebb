"""The load tool's poller must not starve the stack it measures."""

import pytest

from imagetagger_local.load import POLL_INTERVAL_S, POLL_MAX_SHARE, POLL_MAX_WAIT_S, next_poll_wait


def test_quick_listings_are_polled_at_the_normal_interval():
    assert next_poll_wait(0.05) == POLL_INTERVAL_S


def test_slow_listings_of_many_images_are_spaced_out():
    wait = next_poll_wait(1.0)
    assert 1.0 / (1.0 + wait) == pytest.approx(POLL_MAX_SHARE)


def test_the_wait_is_bounded_so_time_to_tagged_stays_accurate_to_a_few_seconds():
    assert next_poll_wait(30.0) == POLL_MAX_WAIT_S
