"""Corrections and POST /labels turned into examples of the user's own labels.

The image item's correction is the record of what the user said (a custom name confirmed or added: a positive example;
rejected: a negative one). Around it this keeps, in step: the label items (created on first use, examples counted, a
new revision), the search index (a "user" tag row per positive example, so GET /images?tag=<label> finds it; no row
for a rejected one) and a debounced training request per label whose examples changed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from imagetagger.correction_store import CorrectionStore
from imagetagger.corrections import Correction, build_correction
from imagetagger.custom_labels.requests import LabelRequest, LabelRequests
from imagetagger.custom_labels.store import MAX_LABELS, Label, LabelStore
from imagetagger.errors import ConflictError, InvalidRequestError, NotFoundError
from imagetagger.label_names import label_key, validate_label_name
from imagetagger.records import ImageStatus
from imagetagger.storage import ImageRepository, tag_row

MAX_IMAGES_PER_REQUEST = 200


@dataclass
class _Changes:
    """What a set of corrections changes around them: rows to write and remove, example counts per label."""

    put_rows: list[dict[str, Any]] = field(default_factory=list)
    deleted_rows: list[tuple[str, str]] = field(default_factory=list)
    positives: Counter[str] = field(default_factory=Counter)
    negatives: Counter[str] = field(default_factory=Counter)

    def add(self, user_id: str, image_id: str, old: Correction | None, new: Correction) -> None:
        old_pos = set(old.custom_positives()) if old else set()
        old_neg = set(old.custom_negatives()) if old else set()
        new_pos, new_neg = set(new.custom_positives()), set(new.custom_negatives())
        for name in new_pos - old_pos:
            self.put_rows.append(tag_row(user_id, image_id, name, 1.0, [], "user"))
        # An example withdrawn, or an image rejected for the label: no row (a classifier's prediction of it, under the
        # same key, goes too; the retraining this change triggers decides it again).
        self.deleted_rows += [(name, image_id) for name in (old_pos - new_pos) | (new_neg - old_neg)]
        for name in new_pos ^ old_pos:
            self.positives[name] += 1 if name in new_pos else -1
        for name in new_neg ^ old_neg:
            self.negatives[name] += 1 if name in new_neg else -1


@dataclass
class LabelExamples:
    repo: ImageRepository
    labels: LabelStore
    requests: LabelRequests

    def correct(self, user_id: str, image_id: str, confirm: list[str], reject: list[str], add: list[str]) -> None:
        """PUT /images/{id}/tags: store the correction; custom names in it become examples of the user's labels."""
        existing = self.labels.list(user_id)
        spellings = {label.key: label.name for label in existing}
        correction = build_correction(confirm, reject, add, spellings)
        unknown = [name for name in correction.custom_negatives() if label_key(name) not in spellings]
        if unknown:
            raise InvalidRequestError(
                f"no label named {unknown[0]!r} to reject; rejecting is for tags shown on a photo"
            )
        new = sorted({name for name in correction.custom_positives() if label_key(name) not in spellings})
        _check_room(len(existing), len(new))
        old = CorrectionStore(self.repo.images).save(user_id, image_id, correction)
        for name in new:
            self.labels.ensure(user_id, name)
        changes = _Changes()
        changes.add(user_id, image_id, old, correction)
        self._apply(user_id, changes)

    def add_examples(self, user_id: str, raw_name: str, image_ids: list[str]) -> tuple[Label, bool]:
        """POST /labels: the label (created if new; True then) with these TAGGED images of the user as positive
        examples. NotFoundError for an image the user does not have, ConflictError for one not TAGGED."""
        name = validate_label_name(raw_name)
        existing = {label.key: label for label in self.labels.list(user_id)}
        if label_key(name) in existing:
            name = existing[label_key(name)].name
        else:
            _check_room(len(existing), 1)
        ids = list(dict.fromkeys(image_ids))[:MAX_IMAGES_PER_REQUEST]
        items = self.repo.get_items([(user_id, image_id) for image_id in ids])
        missing = [image_id for image_id in ids if (user_id, image_id) not in items]
        if missing:
            raise NotFoundError(
                f"image {missing[0]} not found" + (f" (and {len(missing) - 1} more)" * (len(missing) > 1))
            )
        untagged = [image_id for image_id in ids if items[(user_id, image_id)].get("status") != ImageStatus.TAGGED]
        if untagged:
            raise ConflictError(f"image {untagged[0]} is not TAGGED yet; only tagged photos can be examples")
        created = self.labels.ensure(user_id, name)
        store = CorrectionStore(self.repo.images)
        changes = _Changes()
        for image_id in ids:
            raw = items[(user_id, image_id)].get("corrections")
            before = Correction.from_item(raw) if raw else None
            after = (before or Correction()).with_example(name, positive=True)
            if before is not None and after.custom_positives() == before.custom_positives():
                continue  # already an example
            changes.add(user_id, image_id, store.save(user_id, image_id, after), after)
        self._apply(user_id, changes)
        return self.labels.get(user_id, name), created

    def _apply(self, user_id: str, changes: _Changes) -> None:
        self.repo.put_tag_rows(changes.put_rows)
        self.repo.delete_tag_rows(user_id, changes.deleted_rows)
        for name in sorted(set(changes.positives) | set(changes.negatives)):
            label = self.labels.record_examples(user_id, name, changes.positives[name], changes.negatives[name])
            if label is not None:
                self.requests.send(LabelRequest("train", user_id, label.name, label.revision))


def _check_room(existing: int, new: int) -> None:
    if new and existing + new > MAX_LABELS:
        raise InvalidRequestError(
            f"you have {existing} labels and this would add {new}; at most {MAX_LABELS} per user (delete one first)"
        )
