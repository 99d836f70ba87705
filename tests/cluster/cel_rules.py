"""The CRDs' CEL rules (x-kubernetes-validations), which jsonschema does not evaluate: every rule on a field our
objects set must have a Python equivalent here, written from the rule and checked on the object.

Rules are named by the first 16 hex digits of the sha256 of their text (the pinned CRD files fix the text).
Transition rules (they read `oldSelf`) only judge an update of an existing object; a created object is not
subject to them, so they are listed and skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]


def _no_borrowing_limit_without_cohort(spec: dict[str, Any]) -> bool:
    if spec.get("cohortName") or "resourceGroups" not in spec:
        return True
    return all(
        "borrowingLimit" not in r
        for g in spec["resourceGroups"]
        for f in g["flavors"]
        for r in f["resources"]
    )


def _topology_needs_node_labels(spec: dict[str, Any]) -> bool:
    return "topologyName" not in spec or len(spec.get("nodeLabels", {})) >= 1


def _reclaim_never_forbids_borrow_preemption(preemption: dict[str, Any]) -> bool:
    borrow = preemption.get("borrowWithinCohort")
    return not (
        preemption.get("reclaimWithinCohort") == "Never" and borrow and borrow.get("policy") != "Never"
    )


def _every_flavor_quotas_every_covered_resource(group: dict[str, Any]) -> bool:
    return all(len(f["resources"]) == len(group["coveredResources"]) for f in group["flavors"])


#: rule id -> (what it asks, in our words; our Python for it, given the value at the rule's path)
EQUIVALENTS: dict[str, tuple[str, Check]] = {
    "3a49ea04527d6ec1": (
        "ClusterQueue: no borrowingLimit without a cohort",
        _no_borrowing_limit_without_cohort,
    ),
    "969b7c74dd5f9cc0": (
        "ClusterQueue: reclaimWithinCohort Never allows no borrowWithinCohort policy but Never",
        _reclaim_never_forbids_borrow_preemption,
    ),
    "0449c7dbd6cbba6d": (
        "ClusterQueue: each flavor gives a quota for each covered resource",
        _every_flavor_quotas_every_covered_resource,
    ),
    "d272e5da1f5fe0ac": ("ResourceFlavor: a topologyName needs nodeLabels", _topology_needs_node_labels),
}


def rule_id(rule: str) -> str:
    return hashlib.sha256(rule.encode()).hexdigest()[:16]


def rules_on(schema: dict[str, Any], value: Any, path: str = "") -> list[tuple[str, str, Any]]:
    """(path, rule, value there) of every CEL rule on a node of `value` (fields absent from it are not judged)."""
    found = [(path, r["rule"], value) for r in schema.get("x-kubernetes-validations", [])]
    if isinstance(value, dict):
        props, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, item in value.items():
            child = props.get(key) or (extra if isinstance(extra, dict) else None)
            if child:
                found += rules_on(child, item, f"{path}/{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            found += rules_on(schema["items"], item, f"{path}/{i}")
    return found


def cel_problems(schema: dict[str, Any], obj: dict[str, Any]) -> tuple[list[str], int]:
    """(problems, transition rules skipped): a rule broken, or one without an equivalent here."""
    problems, skipped = [], 0
    for path, rule, value in rules_on(schema, obj):
        if "oldSelf" in rule:
            skipped += 1
            continue
        known = EQUIVALENTS.get(rule_id(rule))
        if known is None:
            problems.append(
                f"{obj['kind']} {path}: CEL rule {rule_id(rule)} has no Python equivalent: {rule}"
            )
        elif not known[1](value):
            problems.append(f"{obj['kind']} {path}: breaks {known[0]}")
    return problems, skipped
