"""The load tool's poller must not starve the stack it measures."""

import json
from pathlib import Path

import pytest

from imagetagger_local.config import free_port
from imagetagger_local.load import POLL_INTERVAL_S, POLL_MAX_SHARE, POLL_MAX_WAIT_S, LoadRun, next_poll_wait
from imagetagger_local.servers import BackgroundServer


def test_quick_listings_are_polled_at_the_normal_interval():
    assert next_poll_wait(0.05) == POLL_INTERVAL_S


def test_slow_listings_of_many_images_are_spaced_out():
    wait = next_poll_wait(0.4)
    assert 0.4 / (0.4 + wait) == pytest.approx(POLL_MAX_SHARE)


def test_the_wait_is_bounded_so_time_to_tagged_stays_accurate_to_a_few_seconds():
    assert next_poll_wait(30.0) == POLL_MAX_WAIT_S


@pytest.fixture
def listing_api():
    """A fake GET /images: 250 images, newest first, 100 a page, all TAGGED; records the pages asked for."""
    ids = [f"{n:032x}" for n in range(250, 0, -1)]
    asked: list[str] = []

    def app(environ, start_response):
        from urllib.parse import parse_qs

        start = int(parse_qs(environ["QUERY_STRING"]).get("next_token", ["0"])[0])
        asked.append(str(start))
        items = [{"image_id": i, "status": "TAGGED"} for i in ids[start : start + 100]]
        body = {"items": items, "next_token": str(start + 100) if start + 100 < len(ids) else None}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    port = free_port()
    server = BackgroundServer("fake-api", "127.0.0.1", port, app)
    server.start()
    yield f"http://127.0.0.1:{port}", ids, asked
    server.stop()


def poller(api_url, ids, awaited):
    run = LoadRun(api_url, "token", [Path("photo.jpg")], images=len(ids), concurrency=1, deadline_s=30)
    run._started = {i: 0.0 for i in awaited}
    return run


def test_the_poller_reads_only_the_pages_down_to_the_oldest_image_it_awaits(listing_api):
    api_url, ids, asked = listing_api
    run = poller(api_url, ids, awaited=[ids[120]])  # on the second page
    run._poll_once()
    assert asked == ["0", "100"]
    assert ids[120] in run._finished


def test_the_poller_reads_every_page_while_the_oldest_image_is_awaited(listing_api):
    api_url, ids, asked = listing_api
    run = poller(api_url, ids, awaited=[ids[0], ids[-1]])
    run._poll_once()
    assert asked == ["0", "100", "200"]
    assert set(run._finished) == {ids[0], ids[-1]}  # only this run's images are recorded
