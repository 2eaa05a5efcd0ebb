"""The AWS cost model: batching changes what it should (endpoint time, Lambda time, reads), not the writes."""

from imagetagger_bench.aws_cost import DYNAMODB_PER_RRU, IMAGES, costs


def test_same_endpoint_speed_batching_saves_lambda_time_and_one_read_per_image():
    before, after = costs(100.0, batched=False), costs(100.0, batched=True)
    compute = "SageMaker Serverless compute (3 GB, billed per ms)"
    assert before[compute] == after[compute]  # the endpoint bills milliseconds, not calls
    assert (
        after["Lambda processing (1 GB, waits on the endpoint)"]
        < before["Lambda processing (1 GB, waits on the endpoint)"]
    )
    saved = before["DynamoDB on demand"] - after["DynamoDB on demand"]
    assert abs(saved - IMAGES * DYNAMODB_PER_RRU) < 1e-12  # one consistent read per image; writes stay per image


def test_a_faster_batched_endpoint_costs_proportionally_less():
    compute = "SageMaker Serverless compute (3 GB, billed per ms)"
    assert costs(50.0, batched=True)[compute] * 2 == costs(100.0, batched=True)[compute]
