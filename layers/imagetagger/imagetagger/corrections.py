"""Users' tag corrections: confirm, reject or add tags on one of their images; the next training run learns from them.

A correction is stored on the image's own item (ImagesTable, PK user_id, SK image_id) as the `corrections` map, so it is
"per user and image" by construction, is removed with the image, and survives a re-tag (re-tagging only SETs the
predicted tags). The training workflow's prepare step scans for items that carry one and turns each into labels:
(predicted tags - rejected) | confirmed | added. This module is the value and its rules; reading and writing it is
imagetagger.correction_store's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from imagetagger.coco import COCO_PARENTS
from imagetagger.errors import InvalidRequestError
from imagetagger.tags import Tag


@dataclass(frozen=True)
class Correction:
    confirmed: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    updated_at: str = ""

    def labels(self, predicted: list[str]) -> list[str]:
        """The training labels: what the model said, minus what the user rejected, plus what they vouched for."""
        chosen = (set(predicted) - set(self.rejected)) | set(self.confirmed) | set(self.added)
        return sorted(chosen)

    def tags(self, predicted: list[Tag]) -> list[Tag]:
        """The corrected tags in full: kept predicted tags as the model gave them (confidence, instances), in its
        order, then the tags only the user vouched for, with confidence 1 and no instances (nothing located them)."""
        labels = self.labels([tag["name"] for tag in predicted])
        kept = [tag for tag in predicted if tag["name"] in labels]
        kept_names = {tag["name"] for tag in kept}
        added = [
            Tag(name=name, confidence=1.0, parents=_parents(name), instances=[])
            for name in labels
            if name not in kept_names
        ]
        return kept + added

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


def build_correction(confirm: list[str], reject: list[str], add: list[str]) -> Correction:
    """A validated correction; InvalidRequestError names unknown tags and tags both kept and rejected."""
    unknown = sorted({name for name in [*confirm, *reject, *add] if name not in COCO_PARENTS})
    if unknown:
        raise InvalidRequestError(f"unknown tag(s) {unknown}; tags are COCO category names such as 'dog'")
    contradictory = sorted((set(confirm) | set(add)) & set(reject))
    if contradictory:
        raise InvalidRequestError(f"tag(s) {contradictory} cannot be both kept and rejected")
    return Correction(
        confirmed=tuple(sorted(set(confirm))),
        rejected=tuple(sorted(set(reject))),
        added=tuple(sorted(set(add) - set(confirm))),
        updated_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
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
