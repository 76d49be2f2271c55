"""Filtering and paging SCIM lists (RFC 7644 §3.4.2): scim2-models parses and evaluates the
filter; the store query is only narrowed by a top-level equality, never trusted to filter.

`startIndex` is 1-based (values below 1 count as 1); `count` is capped at `MAX_RESULTS`
(announced in ServiceProviderConfig); a negative count counts as 0 (§3.4.2.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from scim2_models import Resource, ScimFilter
from scim2_models.path.expressions import CompareOperator, Comparison, LogicalExpr, LogicalOperator

from bastion.services.scim.description import MAX_RESULTS, PROVIDER

ResourceT = TypeVar("ResourceT", bound=Resource[Any])


@dataclass(frozen=True, slots=True)
class Page(Generic[ResourceT]):
    """One page of a list: the resources and how many matched in all."""

    total: int
    start_index: int
    resources: Sequence[ResourceT]


def equality_terms(filter_text: str | None) -> dict[str, str]:
    """Top-level `attr eq "string"` terms of a filter, by lowercased attribute name.

    A term joined by `and` at the top counts; one under `or` or `not` does not."""
    if not filter_text:
        return {}
    ast = ScimFilter(filter_text).ast
    terms = ast.terms if isinstance(ast, LogicalExpr) and ast.op == LogicalOperator.and_ else (ast,)
    found: dict[str, str] = {}
    for term in terms:
        if (
            isinstance(term, Comparison)
            and term.op == CompareOperator.eq
            and term.attr_path.sub_attr is None
            and isinstance(term.value, str)
        ):
            found[term.attr_path.attr.lower()] = term.value
    return found


def filtered_page(
    model: type[ResourceT],
    resources: Sequence[ResourceT],
    filter_text: str | None,
    start_index: int,
    count: int,
) -> Page[ResourceT]:
    """The page of `resources` matching `filter_text` from `start_index` (1-based)."""
    if filter_text:
        with PROVIDER:
            bound = ScimFilter[model](filter_text)  # type: ignore[valid-type]  # a runtime model
            resources = [r for r in resources if bound.match(r)]
    start = max(start_index, 1)
    size = min(max(count, 0), MAX_RESULTS)
    return Page(len(resources), start, resources[start - 1 : start - 1 + size])
