"""SQS (S3 ObjectCreated notifications) -> tag each uploaded image; only failed records are retried."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from imagetagger.processing import objects_from_message, upload_as_dict
from imagetagger.services import idempotent_processing

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# A batch whose records all failed is still answered with batchItemFailures (not an exception), so SQS retries exactly
# those messages and the local worker sees the same response as Lambda's event source mapping.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> list[dict[str, str]]:
    receive_count = int(record.attributes.approximate_receive_count or 1)
    processing = idempotent_processing()
    return [
        processing.process(
            upload=upload_as_dict(obj),
            receive_count=receive_count,
            time_left_s=lambda: lambda_context.get_remaining_time_in_millis() / 1000,
        )
        for obj in objects_from_message(record.body)
    ]


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    idempotent_processing().config.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
