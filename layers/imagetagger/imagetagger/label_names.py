"""What a custom label may be called, and when two spellings are the same label."""

from __future__ import annotations

import re
import unicodedata

from imagetagger.coco import COCO_PARENTS
from imagetagger.errors import InvalidRequestError

MAX_NAME_CHARS = 40
# Letters and digits of any script, space, hyphen, underscore, apostrophe, full stop. No "#" (it separates the parts
# of DynamoDB keys such as {user_id}#{tag}) and no control or markup characters.
_NAME = re.compile(r"[^\W]|[ \-'.]", re.UNICODE)
_COCO_BY_KEY = {name.casefold(): name for name in COCO_PARENTS}


def label_key(name: str) -> str:
    """The label's identity: names are compared case-insensitively (and Unicode-normalised), stored as first given."""
    return unicodedata.normalize("NFC", name).casefold()


def is_coco_name(name: str) -> bool:
    return name in COCO_PARENTS


def validate_label_name(raw: str) -> str:
    """The custom label name as it will be stored (trimmed, NFC); InvalidRequestError saying what is wrong."""
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        raise InvalidRequestError("a label name must not be empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidRequestError(f"label name {name[:MAX_NAME_CHARS]!r}... is {len(name)} characters; at most 40")
    bad = sorted({char for char in name if not _NAME.fullmatch(char)})
    if bad:
        raise InvalidRequestError(
            f"label name {name!r} contains {''.join(bad)!r}; use letters, digits, spaces and - _ ' ."
        )
    coco = _COCO_BY_KEY.get(label_key(name))
    if coco is not None:
        raise InvalidRequestError(f"{name!r} is the COCO tag {coco!r}: the model already predicts it, use that name")
    return name
