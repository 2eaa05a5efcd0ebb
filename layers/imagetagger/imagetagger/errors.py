"""Domain errors. Each maps to one HTTP status in one place (the API exception handler)."""


class ImageTaggerError(Exception):
    """Base class; `status_code` is what the API answers for it."""

    status_code = 400


class InvalidImageError(ImageTaggerError):
    """The bytes are not an image we accept (wrong format, corrupt, too many pixels)."""

    status_code = 400


class UnsupportedMediaTypeError(ImageTaggerError):
    status_code = 415


class PayloadTooLargeError(ImageTaggerError):
    status_code = 413


class NotFoundError(ImageTaggerError):
    status_code = 404


class ModelEndpointError(ImageTaggerError):
    """The model endpoint failed or timed out; retriable."""

    status_code = 503


class OutOfTimeError(ModelEndpointError):
    """Too little of the invocation is left for a model call: the record goes back to SQS untried. Retried like an
    endpoint failure, but the model was not asked, so a last-receive failure must not blame it."""


class InvalidRequestError(ImageTaggerError):
    """A well-formed request the API refuses (unsupported upload type, malformed pagination token, ...)."""

    status_code = 400


class UnauthorizedError(ImageTaggerError):
    """No authenticated user (the JWT `sub` claim is missing)."""

    status_code = 401


class ConflictError(ImageTaggerError):
    """The request is valid but the resource is not in a state that allows it (e.g. correcting a PENDING image)."""

    status_code = 409


class QueueUnavailableError(ImageTaggerError):
    """The processing queue refused a message (throttled, or briefly unreachable); retriable by the caller."""

    status_code = 503
