"""SQS (S3 ObjectCreated notifications) -> tag the batch's images with one endpoint call; only failed records are
retried."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from imagetagger.processing import MalformedEventError, Prepared, UploadedObject, objects_from_message, upload_as_dict
from imagetagger.services import idempotent_processing

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# A batch whose records all failed is still answered with batchItemFailures (not an exception), so SQS retries exactly
# those messages and the local worker sees the same response as Lambda's event source mapping.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def prepare_batch(event: dict, lambda_context: LambdaContext) -> dict[UploadedObject, Prepared]:
    """Every object of the batch read, decoded and tagged together; a record that is not an S3 event is left to
    fail on its own in record_handler. If this stage itself fails, each record is prepared alone instead."""
    objects = []
    for record in event.get("Records", []):
        try:
            objects += objects_from_message(record.get("body", ""))
        except MalformedEventError:
            continue
    try:
        return idempotent_processing().prepare(objects, lambda: lambda_context.get_remaining_time_in_millis() / 1000)
    except Exception:
        logger.exception("preparing the batch failed; each record is tried on its own")
        return {}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    processing = idempotent_processing()
    processing.config.register_lambda_context(context)
    prepared = prepare_batch(event, context)

    def record_handler(record: SQSRecord) -> list[dict[str, str]]:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        return [
            processing.process(
                upload=upload_as_dict(obj),
                receive_count=receive_count,
                time_left_s=lambda: context.get_remaining_time_in_millis() / 1000,
                prepared=prepared.get(obj),
            )
            for obj in objects_from_message(record.body)
        ]

    with processing.batch_follow_ups():  # one matrix write and one labels listing per user for the whole batch
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
