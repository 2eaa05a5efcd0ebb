"""Per-1000-image cost of the upload path in AWS (us-east-1), before and after batching, from each service's pricing
formula (docs/benchmark.md, "Cost in AWS"):

    python -m imagetagger_bench.aws_cost MS_BATCH_1 MS_BATCH_10

The two arguments are the endpoint's milliseconds per image in requests of 1 and of 10 (`imagetagger bench --json`:
system.endpoint_ms_per_image). Prices and latencies assumed are the constants below; the counts of requests come from
the code (one endpoint call per image before, per SQS batch of 10 after; DynamoDB calls per image in the comments).
"""

from __future__ import annotations

import argparse

IMAGES, BATCH = 1000, 10
# Prices, us-east-1, on-demand, as assumed (December 2026 list prices; check before relying on them).
LAMBDA_PER_GB_S, LAMBDA_PER_REQUEST = 0.0000166667, 0.20e-6  # x86
SAGEMAKER_SERVERLESS_PER_S_3GB, SAGEMAKER_PER_GB_DATA = 0.00006, 0.016  # 3072 MB: the deploy command's size
DYNAMODB_PER_WRU, DYNAMODB_PER_RRU = 0.625e-6, 0.125e-6
S3_PER_POST, S3_PER_GET = 0.005 / 1000, 0.0004 / 1000
SQS_PER_REQUEST, HTTP_API_PER_REQUEST = 0.40e-6, 1.00e-6
# Assumed: tag rows per image (COCO's labels per image), request size, latencies inside Lambda.
TAG_ROWS = 3.6
IMAGE_MB = 300 * 300 * 3 / 1e6  # one prepared 300 px image in the npy body
S3_GET_S, DECODE_S, DYNAMODB_CALL_S, ENDPOINT_ROUND_TRIP_S = 0.02, 0.05, 0.006, 0.02


def costs(ms_per_image: float, batched: bool) -> dict[str, float]:
    endpoint_s = IMAGES * ms_per_image / 1000
    calls = IMAGES / BATCH if batched else IMAGES
    # DynamoDB calls per image: before GetItem, idempotency put, GetItem (optimistic lock), transaction, idempotency
    # update; after one BatchGetItem per batch, the idempotency put, the transaction, the idempotency update.
    dynamodb_calls = 3 + 1 / BATCH if batched else 5
    s3_wait_s = IMAGES / BATCH * S3_GET_S if batched else IMAGES * S3_GET_S  # reads concurrent within a batch
    lambda_s = endpoint_s + calls * ENDPOINT_ROUND_TRIP_S + IMAGES * (DECODE_S + dynamodb_calls * DYNAMODB_CALL_S)
    lambda_s += s3_wait_s
    read_units = IMAGES * (1 if batched else 2)  # consistent reads of items under 4 KB
    # PENDING put, idempotency put and update, the transaction at 2 WRU per item (image + tag rows), items under 1 KB
    write_units = IMAGES * (1 + 2 + 2 * (1 + TAG_ROWS))
    return {
        "SageMaker Serverless compute (3 GB, billed per ms)": endpoint_s * SAGEMAKER_SERVERLESS_PER_S_3GB,
        "SageMaker Serverless data in": IMAGES * IMAGE_MB / 1000 * SAGEMAKER_PER_GB_DATA,
        "Lambda processing (1 GB, waits on the endpoint)": lambda_s * LAMBDA_PER_GB_S
        + IMAGES / BATCH * LAMBDA_PER_REQUEST,
        "Lambda POST /uploads (512 MB, 0.1 s)": IMAGES * 0.5 * 0.1 * LAMBDA_PER_GB_S + IMAGES * LAMBDA_PER_REQUEST,
        "DynamoDB on demand": read_units * DYNAMODB_PER_RRU + write_units * DYNAMODB_PER_WRU,
        "S3 (POST, GET)": IMAGES * (S3_PER_POST + S3_PER_GET),
        "SQS (S3 event, receive and delete per batch)": (IMAGES + 2 * IMAGES / BATCH) * SQS_PER_REQUEST,
        "API Gateway HTTP API (POST /uploads)": IMAGES * HTTP_API_PER_REQUEST,
    }


def table(ms_batch_1: float, ms_batch_10: float) -> str:
    before, after = costs(ms_batch_1, batched=False), costs(ms_batch_10, batched=True)
    rows = ["| per 1000 images | before (an endpoint call per image) | after (one per batch of 10) |", "|---|---|---|"]
    rows += [f"| {name} | ${before[name]:.4f} | ${after[name]:.4f} |" for name in before]
    rows.append(f"| **total** | **${sum(before.values()):.3f}** | **${sum(after.values()):.3f}** |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ms_batch_1", type=float)
    parser.add_argument("ms_batch_10", type=float)
    args = parser.parse_args()
    print(table(args.ms_batch_1, args.ms_batch_10))  # noqa: T201 - the module's output


if __name__ == "__main__":
    main()
