"""Users' tag corrections: confirm, reject or add tags on one of their images; the next training run learns from them.

A correction is stored on the image's own item (ImagesTable, PK user_id, SK image_id) as the `corrections` map, so it is
"per user and image" by construction, is removed with the image, and survives a re-tag (re-tagging only SETs the
predicted tags). The training workflow's prepare step scans for items that carry one and turns each into labels:
(predicted tags - rejected) | confirmed | added, COCO names only. A name outside COCO's vocabulary is one of the user's
own labels (imagetagger.custom_labels): confirming or adding it makes the image a positive example of that label,
rejecting it a negative one; those names never reach the COCO training data. This module is the value and its rules;
reading and writing it is imagetagger.correction_store's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from imagetagger.coco import COCO_PARENTS
from imagetagger.errors import InvalidRequestError
from imagetagger.label_names import label_key, validate_label_name
from imagetagger.tags import Tag

__all__ = ["COCO_PARENTS", "CorrectedImage", "Correction", "build_correction"]


@dataclass(frozen=True)
class Correction:
    confirmed: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    updated_at: str = ""

    def labels(self, predicted: list[str]) -> list[str]:
        """The COCO training labels: what the model said, minus what the user rejected, plus what they vouched for.
        The user's own label names are theirs, not COCO classes: they are left out."""
        chosen = (set(predicted) - set(self.rejected)) | set(self.confirmed) | set(self.added)
        return sorted(name for name in chosen if name in COCO_PARENTS)

    def custom_positives(self) -> list[str]:
        """The user's own labels this image is an example of (confirmed or added)."""
        return sorted({*self.confirmed, *self.added} - COCO_PARENTS.keys())

    def custom_negatives(self) -> list[str]:
        """The user's own labels this image is a counter-example of (a custom tag the user rejected)."""
        return sorted(set(self.rejected) - COCO_PARENTS.keys())

    def tags(self, predicted: list[Tag]) -> list[Tag]:
        """The corrected tags in full: kept predicted tags as the model (or a custom label's classifier) gave them, in
        that order, then the tags only the user vouched for, with confidence 1, no instances (nothing located them)
        and source "user"."""
        rejected = set(self.rejected)
        kept = [tag for tag in predicted if tag["name"] not in rejected]
        kept_names = {tag["name"] for tag in kept}
        vouched = sorted({*self.confirmed, *self.added} - kept_names)
        added = [user_tag(name) for name in vouched]
        return kept + added

    def with_example(self, name: str, positive: bool) -> Correction:
        """This correction with the image made a positive (or negative) example of the custom label `name`."""
        others = [n for n in self.rejected if n != name]
        if positive:
            added = tuple(sorted({*self.added, name} - set(self.confirmed)))
            return Correction(self.confirmed, tuple(others), added, _now_iso())
        confirmed = tuple(n for n in self.confirmed if n != name)
        added = tuple(n for n in self.added if n != name)
        return Correction(confirmed, tuple(sorted({*others, name})), added, _now_iso())

    def without(self, names: set[str]) -> Correction:
        """This correction with every mention of `names` removed (spellings of a deleted label)."""
        keep = lambda mentioned: tuple(n for n in mentioned if n not in names)  # noqa: E731
        return Correction(keep(self.confirmed), keep(self.rejected), keep(self.added), _now_iso())

    def to_item(self) -> dict[str, Any]:
        return {
            "confirmed": list(self.confirmed),
            "rejected": list(self.rejected),
            "added": list(self.added),
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Correction:
        return cls(
            confirmed=tuple(item.get("confirmed", [])),
            rejected=tuple(item.get("rejected", [])),
            added=tuple(item.get("added", [])),
            updated_at=str(item.get("updated_at", "")),
        )


def _parents(name: str) -> list[str]:
    parent = COCO_PARENTS.get(name, name)
    return [parent] if parent != name else []


def user_tag(name: str) -> Tag:
    """A tag the user vouched for: confidence 1, nothing located, source "user"."""
    return Tag(name=name, confidence=1.0, parents=_parents(name), instances=[], source="user")


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def build_correction(
    confirm: list[str], reject: list[str], add: list[str], spellings: dict[str, str] | None = None
) -> Correction:
    """A validated correction. A name of COCO's vocabulary is a COCO tag; any other is one of the user's own labels,
    validated as such (InvalidRequestError with the reason) and spelled as the user first spelled it (`spellings`:
    label key -> stored name). InvalidRequestError also for tags both kept and rejected."""
    known = spellings or {}

    def canonical(name: str) -> str:
        if name in COCO_PARENTS:
            return name
        valid = validate_label_name(name)
        return known.get(label_key(valid), valid)

    confirm, reject, add = ([canonical(n) for n in names] for names in (confirm, reject, add))
    contradictory = sorted((set(confirm) | set(add)) & set(reject))
    if contradictory:
        raise InvalidRequestError(f"tag(s) {contradictory} cannot be both kept and rejected")
    return Correction(
        confirmed=tuple(sorted(set(confirm))),
        rejected=tuple(sorted(set(reject))),
        added=tuple(sorted(set(add) - set(confirm))),
        updated_at=_now_iso(),
    )


@dataclass(frozen=True)
class CorrectedImage:
    """One corrected image as the prepare step sees it."""

    user_id: str
    image_id: str
    s3_key: str
    predicted: list[str]
    correction: Correction
    model_version: str | None = None
    labels: list[str] = field(default_factory=list)
