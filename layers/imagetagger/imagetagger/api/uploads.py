"""POST /uploads (the presign function)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.metrics import MetricUnit

from imagetagger import uploads
from imagetagger.api.auth import SECURITY, user_id_from_event
from imagetagger.api.schemas import UploadForm, UploadRequest, UploadResponse, error_responses
from imagetagger.services import services

router = Router()
logger = Logger(child=True)
metrics = Metrics()


@router.post(
    "/uploads",
    status_code=201,
    summary="Start an upload",
    description="Records a PENDING image and returns a presigned POST form (type and size enforced by S3). "
    "400 for an unsupported type, 413 when the file is larger than the limit.",
    tags=["images"],
    security=SECURITY,
    responses={201: {"description": "The upload form"}, **error_responses(400, 413)},
)
def create_upload(request: UploadRequest) -> UploadResponse:
    user_id = user_id_from_event(router.current_event.raw_event)
    built = services()
    ticket = uploads.create_upload(
        user_id,
        request.filename,
        request.content_type,
        request.size,
        settings=built.settings,
        s3=built.s3,
        repo=built.repo,
    )
    # image_id links this log line to the processing function's lines for the same image.
    logger.info("upload form issued", extra={"image_id": ticket.image_id, "content_type": request.content_type})
    metrics.add_metric(name="UploadsStarted", unit=MetricUnit.Count, value=1)
    return UploadResponse(
        image_id=ticket.image_id,
        upload=UploadForm(url=ticket.url, fields=ticket.fields),
        expires_in=ticket.expires_in,
    )
