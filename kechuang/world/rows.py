"""Reading child rows in bulk, for thousands of parents at a time."""

from collections import defaultdict
from collections.abc import Iterable

from django.db import models


def group_rows(queryset: models.QuerySet, parent_id: str, parent_ids: Iterable[int] | None) -> dict[int, list]:
    """The rows of `queryset` grouped by the value of `parent_id`, in one query.

    What prefetch_related does, without the queryset Django builds per parent and
    relation to hold its cache: for thousands of parents that bookkeeping costs more
    than the queries. `parent_ids` None means every parent.
    """
    if parent_ids is not None:
        queryset = queryset.filter(**{f"{parent_id}__in": list(parent_ids)})
    grouped: dict[int, list] = defaultdict(list)
    for row in queryset:
        grouped[getattr(row, parent_id)].append(row)
    return grouped


class FetchedRows(list):
    """Rows already read, standing in for the queryset that services.sync_children
    takes: it iterates the rows, and deletes stale ones through `.model`."""

    def __init__(self, model: type[models.Model], rows: Iterable[models.Model]):
        super().__init__(rows)
        self.model = model
