"""The ECR lifecycle evaluator the retention tests rely on (tests/ecr_lifecycle.py), against the
cases the ECR user guide's evaluation rules describe."""

from __future__ import annotations

from tests.ecr_lifecycle import DAY, StoredImage, expired_digests


def rule(priority: int, status: str, count_type: str, count: int,
         prefixes: list[str] | None = None) -> dict[str, object]:
    selection: dict[str, object] = {"tagStatus": status, "countType": count_type,
                                    "countNumber": count}
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    if prefixes:
        selection["tagPrefixList"] = prefixes
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


IMAGES = [StoredImage("a", ("prod-1",), 1.0), StoredImage("b", ("prod-2",), 2.0),
          StoredImage("c", ("beta-1",), 3.0), StoredImage("d", (), 4.0),
          StoredImage("e", ("beta-2", "prod-3"), 5.0)]


def test_count_rules_keep_the_youngest_by_push_time() -> None:
    policy = {"rules": [rule(1, "any", "imageCountMoreThan", 2)]}
    assert expired_digests(policy, IMAGES, 10.0) == {"a", "b", "c"}


def test_an_image_matched_by_a_higher_rule_is_never_expired_by_a_lower_one() -> None:
    policy = {"rules": [rule(1, "tagged", "imageCountMoreThan", 9999, ["prod"]),
                        rule(2, "any", "imageCountMoreThan", 1)]}
    # a, b, e carry a prod tag: rule 1 keeps them, rule 2 cannot expire them
    assert expired_digests(policy, IMAGES, 10.0) == {"c", "d"}


def test_a_higher_rule_expires_and_lower_rules_still_count_what_it_matched() -> None:
    policy = {"rules": [rule(1, "tagged", "imageCountMoreThan", 1, ["prod"]),
                        rule(2, "any", "imageCountMoreThan", 4)]}
    # rule 1 expires a and b (e is the youngest prod); rule 2 counts all five, expires the
    # oldest one it may: a is rule 1's already, so nothing more
    assert expired_digests(policy, IMAGES, 10.0) == {"a", "b"}


def test_untagged_and_age_rules() -> None:
    policy = {"rules": [rule(1, "untagged", "sinceImagePushed", 1)]}
    assert expired_digests(policy, IMAGES, 4.0 + DAY + 1) == {"d"}
    assert expired_digests(policy, IMAGES, 4.0 + DAY - 1) == set()


def test_every_prefix_must_match_a_tag() -> None:
    policy = {"rules": [rule(1, "tagged", "imageCountMoreThan", 0, ["beta", "prod"])]}
    assert expired_digests(policy, IMAGES, 10.0) == {"e"}
