"""A record given back for lack of invocation time is not blamed on the model (issue 12, D5)."""

import pytest
from test_processing import KEY, SETTINGS, MemoryRepository, MemoryS3, ScriptedEndpoint, _jpeg

from imagetagger.errors import OutOfTimeError
from imagetagger.processing import ImageProcessor


def test_the_last_receive_without_time_for_the_model_says_so_and_stays_retriable():
    endpoint, repo = ScriptedEndpoint(), MemoryRepository()
    processor = ImageProcessor(SETTINGS, MemoryS3({KEY: _jpeg()}), repo, endpoint)
    upload = {"bucket": "bucket", "key": KEY, "etag": "e", "size": 10}
    with pytest.raises(OutOfTimeError):  # the record goes back to SQS
        processor.process(upload, SETTINGS.max_receives, time_left_s=lambda: 5.0)
    assert endpoint.batches == []
    [(_, reason)] = repo.failed
    assert reason.startswith("no time was left to call the model; retry later")
    assert "endpoint was unavailable" not in reason
