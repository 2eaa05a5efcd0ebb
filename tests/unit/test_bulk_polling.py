"""A bulk import's sweeps stay a small share of the service's time and still see the end of the import soon after it
happens (issue 13: an expensive sweep used to set a long wait that the last images sat through). Time is a fake clock
here: the sweeps' cost and the waits are exact."""

import pytest
from imagetagger_mobile.api_client import POLL_MAX_SHARE, POLL_MAX_WAIT_S, SWEEP_MIN_WAIT_S, next_sweep_wait

from imagetagger_workflow import importer
from imagetagger_workflow.importer import ImportResult, Journal, wait_for_tags


def test_sweeps_of_many_awaited_images_are_spaced_to_stay_within_the_share():
    # the last sweep listed 80 images in 0.4 s and all 80 are still awaited: the next one costs as much
    wait = next_sweep_wait(0.4, 80, 80)
    assert 0.4 / (0.4 + wait) == pytest.approx(POLL_MAX_SHARE)


def test_the_wait_shrinks_with_the_images_still_awaited():
    assert next_sweep_wait(0.4, 80, 40) < next_sweep_wait(0.4, 80, 80)
    assert next_sweep_wait(0.4, 80, 4) == SWEEP_MIN_WAIT_S  # the next sweep lists 4 images: cheap


def test_the_wait_is_bounded():
    assert next_sweep_wait(30.0, 10, 10) == POLL_MAX_WAIT_S


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class TaggingService:
    """Image i is tagged at `done_at[i]`; a sweep costs `per_image_s` for each awaited image it lists."""

    def __init__(self, clock: FakeClock, done_at: list[float], per_image_s: float) -> None:
        self.clock = clock
        self.done_at = {f"{i:032x}": at for i, at in enumerate(done_at)}
        self.per_image_s = per_image_s
        self.sweeps_s: list[float] = []

    def finished_images(self, awaited: set[str]) -> tuple[dict[str, str], set[str]]:
        self.clock.sleep(self.per_image_s * len(awaited))
        self.sweeps_s.append(self.per_image_s * len(awaited))
        return {i: "TAGGED" for i in awaited if self.done_at[i] <= self.clock.now}, set()


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(importer.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(importer.time, "sleep", fake.sleep)
    return fake


def _wait(service: TaggingService, tmp_path) -> ImportResult:
    entries = {
        f"d{i}": {"image_id": image_id, "file": f"{i}.jpg", "status": "UPLOADED"}
        for i, image_id in enumerate(service.done_at)
    }
    result = ImportResult()
    wait_for_tags(service, Journal(tmp_path / "journal.json", entries), result)  # type: ignore[arg-type]
    return result


def test_the_last_images_are_seen_soon_after_an_expensive_sweep_found_the_rest(tmp_path, clock):
    # 70 of 80 images are tagged when the wait begins, the last 10 half a second later; a sweep costs 5 ms per
    # awaited image (the local stack's, busy). The first sweep (80 images, 0.4 s) must not set the pace for the
    # next, which lists 10.
    service = TaggingService(clock, [0.0] * 70 + [0.5] * 10, per_image_s=0.005)
    assert _wait(service, tmp_path).tagged == 80
    last_sweep_s = 10 * 0.005
    assert clock.now - 0.5 <= next_sweep_wait(last_sweep_s, 10, 10) + last_sweep_s + 0.01


def test_sweeping_stays_within_its_share_of_the_time(tmp_path, clock):
    service = TaggingService(clock, [(i // 10 + 1) * 1.0 for i in range(80)], per_image_s=0.005)
    assert _wait(service, tmp_path).tagged == 80
    # every sweep after the first (which no wait precedes) took at most its share of the time
    assert sum(service.sweeps_s[1:]) / clock.now <= POLL_MAX_SHARE
