"""The profile summary attributes py-spy's samples to the system's parts, most specific rule first."""

from imagetagger_bench.profile_parts import part_of, process_of, summarise


def test_a_stack_goes_to_the_most_specific_part():
    moto_in_snapshot = ["Thread.run (threading.py:1)", "StateStore.save (imagetagger_local/persistence.py:9)"]
    moto_in_snapshot.append("DynamoDBBackend.scan (moto/dynamodb/models/__init__.py:3)")
    assert part_of(moto_in_snapshot) == "local: state snapshots"
    assert part_of(["serve (werkzeug/serving.py:1)", "dispatch (moto/core/responses.py:2)"]).startswith("local: moto")
    assert part_of(["run (onnxruntime/capi/session.py:1)"]) == "endpoint: inference"
    assert part_of(["main (x.py:1)"]) == "other"


def test_samples_become_cpu_milliseconds_per_image(tmp_path):
    collapsed = tmp_path / "profile.collapsed"
    collapsed.write_text(
        'process 1:"up";a (moto/sqs/models.py:1) 150\nprocess 1:"up";b (imagetagger/preprocessing.py:2) 50\n'
    )
    summary = summarise(collapsed, images=10, rate_hz=50)
    assert summary["cpu_s_total"] == 4.0
    assert summary["parts"]["local: moto (S3, SQS, DynamoDB)"] == {"share": 0.75, "cpu_ms_per_image": 300.0}
    assert summary["parts"]["process: decode and prepare"]["cpu_ms_per_image"] == 100.0


def test_samples_are_split_by_process():
    assert process_of(['process 1:"imagetagger up"', "run (x.py:1)"]).startswith("stack process")
    assert process_of(['process 1:"up"', 'process 2:"python -m imagetagger_endpoint.server"']).startswith("model")
    assert process_of(['process 1:"up"', 'process 3:"python -c from multiprocessing.spawn"']) == "function environments"
