"""The 80/10/10 split: no leakage of duplicate images, stratified labels, reproducible from the seed."""

import numpy as np
import pytest

pytest.importorskip("iterstrat")

from imagetagger_training.data import ClassInfo, LabelledImages  # noqa: E402
from imagetagger_training.split import Split, make_split  # noqa: E402


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    n, c = 200, 5
    targets = (rng.random((n, c)) < [0.5, 0.3, 0.2, 0.1, 0.05]).astype(np.float32)
    paths = []
    for i in range(n):
        path = tmp_path / f"img{i:03d}.jpg"
        # every 10th image is a byte-identical copy of the one before it (e.g. the same photo uploaded twice)
        path.write_bytes(f"content {i - 1 if i % 10 == 9 else i}".encode())
        if i % 10 == 9:
            targets[i] = targets[i - 1]
        paths.append(path)
    return LabelledImages(paths, targets, [ClassInfo(f"c{k}", k + 1, "x") for k in range(c)])


def test_parts_are_disjoint_cover_everything_and_keep_duplicates_together(images):
    split = make_split(images, seed=3)
    parts = [set(split.train), set(split.val), set(split.test)]
    assert sum(len(p) for p in parts) == len(images)
    assert set.union(*parts) == {p.name for p in images.paths}
    for i in range(9, len(images), 10):
        original, copy = images.paths[i - 1].name, images.paths[i].name
        assert [original in p for p in parts] == [copy in p for p in parts]


def test_sizes_and_label_frequencies_follow_the_fractions(images):
    split = make_split(images, seed=3)
    assert len(split.train) == pytest.approx(160, abs=6)
    assert len(split.test) == pytest.approx(20, abs=4)
    overall = images.targets.mean(0)
    for part in ("train", "val", "test"):
        subset = images.targets[split.indices(images, part)]
        # every label's frequency stays close to the whole set's (random splits drift far more on rare labels)
        assert np.abs(subset.mean(0) - overall).max() < 0.08, part
        assert (subset.sum(0) > 0)[:3].all()


def test_same_seed_same_split_and_saved_split_reloads(images, tmp_path):
    first, second = make_split(images, seed=5), make_split(images, seed=5)
    assert first == second
    assert make_split(images, seed=6) != first
    first.save(tmp_path / "split.json")
    assert Split.load(tmp_path / "split.json") == first


def test_bad_fractions_are_rejected(images):
    with pytest.raises(ValueError, match="fractions"):
        make_split(images, fractions=(0.8, 0.3, 0.1))
