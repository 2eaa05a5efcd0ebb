"""The one reader (and writer) of browser-based POST upload forms, with S3's rules.

The gateway checks the policy against what this module parses and forwards to moto only what it re-encodes from the
parsed form, so moto can never see another key or another file than the one that was checked (moto reads field
names case-sensitively and stores the last file part of any name; S3 does neither).

S3's rules, as its documentation and answers state them: field names are case-insensitive; the object is the field
named `file`, which must be the last field of the form; the fields before it may total at most 20 KB
(MaxPostPreDataLengthExceeded); a body that is not multipart/form-data is MalformedPOSTRequest. A field sent twice
(under any spelling) is refused, because which one S3 would use is not documented and a checker must not guess.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, Preamble

from imagetagger_local.post_policy import PolicyViolationError

MAX_PRE_FILE_BYTES = 20 * 1024  # S3's limit on the form fields that precede the file
MAX_PARTS = 100
FILE_FIELD = "file"
FILENAME_VARIABLE = "${filename}"


@dataclass(frozen=True)
class PostForm:
    """A parsed POST upload: `fields` by lower-case name (the file excluded), the file's bytes and name."""

    fields: dict[str, str]
    file: bytes
    filename: str

    @property
    def stored_key(self) -> str:
        """The object key S3 stores: `${filename}` in `key` becomes the uploaded file's base name."""
        return self.fields.get("key", "").replace(FILENAME_VARIABLE, os.path.basename(self.filename))


def _malformed(message: str = "The body of your POST request is not well-formed multipart/form-data.") -> Exception:
    return PolicyViolationError(400, "MalformedPOSTRequest", message)


def _invalid(message: str) -> Exception:
    return PolicyViolationError(400, "InvalidArgument", message)


def _parts(body: bytes, content_type: str) -> list[tuple[str, str | None, bytes]]:
    """(name as sent, filename or None, data) of every part, in order, within S3's limits."""
    mimetype, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        raise _malformed()
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_parts=MAX_PARTS)
    decoder.receive_data(body)
    decoder.receive_data(None)
    parts: list[tuple[str, str | None, bytearray]] = []
    before_file = 0
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, Field | File):
                if not event.name:
                    raise _malformed("Every part of the form must have a name.")
                if parts and parts[-1][0].lower() == FILE_FIELD:
                    raise _invalid("The file must be the last field in the form.")
                parts.append((event.name, event.filename if isinstance(event, File) else None, bytearray()))
            elif isinstance(event, Data) and parts:
                parts[-1][2].extend(event.data)
                if parts[-1][0].lower() != FILE_FIELD:
                    before_file += len(event.data)
                    if before_file > MAX_PRE_FILE_BYTES:
                        raise PolicyViolationError(
                            400,
                            "MaxPostPreDataLengthExceeded",
                            "Your POST request fields preceding the upload file were too large.",
                        )
            elif isinstance(event, Epilogue):
                break
            elif not isinstance(event, Preamble | NeedData):
                raise _malformed()
    except RequestEntityTooLarge as exc:
        raise _invalid(f"The form has more than {MAX_PARTS} fields.") from exc
    except ValueError as exc:  # werkzeug: truncated body, part without Content-Disposition
        raise _malformed() from exc
    return [(name, filename, bytes(data)) for name, filename, data in parts]


def parse_post_form(body: bytes, content_type: str) -> PostForm:
    """The form of a POST upload; PolicyViolationError (S3's 4xx) for anything S3 refuses or we cannot read alike."""
    fields: dict[str, str] = {}
    upload: tuple[bytes, str] | None = None
    for name, filename, data in _parts(body, content_type):
        lower = name.lower()
        if not name.isprintable() or '"' in name or "\\" in name:
            raise _invalid("A form field name contains characters S3 does not accept.")
        if lower == FILE_FIELD:
            upload = (data, filename or "")
            continue
        if lower in fields:
            raise _invalid(f"The form field '{lower}' appears more than once (field names are case-insensitive).")
        try:
            fields[lower] = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid(f"The form field '{lower}' is not UTF-8 text.") from exc
    if upload is None:
        raise _invalid("POST requires exactly one file upload per request.")
    form = PostForm(fields=fields, file=upload[0], filename=upload[1])
    if FILENAME_VARIABLE in form.stored_key:
        raise _invalid("The file's name may not itself contain ${filename}.")
    return form


def encode_post_form(form: PostForm, *, drop: frozenset[str] = frozenset()) -> tuple[bytes, str]:
    """(body, Content-Type) of `form` as moto reads it: lower-case names, `key` already resolved, the file last.

    `drop` names fields not to forward (S3 ignores x-ignore-* fields; moto would store some as metadata)."""
    fields = {name: value for name, value in form.fields.items() if name not in drop}
    if "key" in fields:
        fields["key"] = form.stored_key
    while True:
        boundary = secrets.token_hex(16)
        marker = boundary.encode()
        if marker not in form.file and not any(marker in value.encode() for value in fields.values()):
            break
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(_part_header(marker, name, None) + value.encode("utf-8"))
    # A fixed, plain file name: `key` is already resolved, so moto has nothing left to substitute.
    chunks.append(_part_header(marker, FILE_FIELD, "upload") + form.file)
    body = b"\r\n".join(chunks) + b"\r\n--" + marker + b"--\r\n"
    return body, f"multipart/form-data; boundary={boundary}"


def _part_header(marker: bytes, name: str, filename: str | None) -> bytes:
    if filename is None:
        return b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n' % (marker, name.encode())
    return (
        b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
        % (
            marker,
            name.encode(),
            filename.encode(),
        )
        + b"Content-Type: application/octet-stream\r\n\r\n"
    )
