"""ECR's lifecycle policy evaluation, as the ECR user guide documents it ("Lifecycle policy
evaluation rules"), to check a policy against a repository's images in tests (the sandbox
does not expire images):

- rules apply from the lowest rulePriority to the highest; an image is expired by at most one;
- an image that matches the tagging requirements of a higher-priority rule cannot be expired by
  a lower-priority rule (lower rules still count it);
- tagged + tagPrefixList: matched when every prefix matches one of the image's tags
  (tagPatternList: every pattern, `*` a wildcard); untagged: no tags; any: every image;
- imageCountMoreThan: sorted youngest to oldest by push time, those past the count expire;
  sinceImagePushed: those pushed more than countNumber days before now expire.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DAY = 86400.0


@dataclass(frozen=True)
class StoredImage:
    """One image of a repository: its digest, tags and push time (seconds)."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: float


def expired_digests(policy: Mapping[str, Any], images: Sequence[StoredImage],
                    now: float) -> set[str]:
    """The digests the policy would expire."""
    expired: set[str] = set()
    claimed: set[str] = set()  # matched by the tagging requirements of a higher-priority rule
    for rule in sorted(policy["rules"], key=lambda r: int(r["rulePriority"])):
        selection = rule["selection"]
        matching = [image for image in images if _matches(selection, image)]
        for image in _selected(selection, matching, now):
            if image.digest not in claimed:
                expired.add(image.digest)
        claimed |= {image.digest for image in matching}
    return expired


def _matches(selection: Mapping[str, Any], image: StoredImage) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    prefixes = selection.get("tagPrefixList") or []
    patterns = selection.get("tagPatternList") or []
    return bool(image.tags) and all(
        any(tag.startswith(prefix) for tag in image.tags) for prefix in prefixes) and all(
        any(fnmatch.fnmatchcase(tag, pattern) for tag in image.tags) for pattern in patterns)


def _selected(selection: Mapping[str, Any], matching: list[StoredImage],
              now: float) -> list[StoredImage]:
    count = int(selection["countNumber"])
    if selection["countType"] == "imageCountMoreThan":
        return sorted(matching, key=lambda image: image.pushed_at, reverse=True)[count:]
    return [image for image in matching if now - image.pushed_at > count * DAY]
