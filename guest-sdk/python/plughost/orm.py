"""Repositories over the host's ORM: declare models in plugin.toml ([models.NAME]) and read
and write rows as dicts, never as SQL.

    from plughost import orm

    todos = orm.Repository("todo")
    todo = todos.create({"title": "Buy milk"})
    page = todos.paginate(page=1, limit=10, done=False)   # {"data", "total", "page", "limit", "total_pages"}

    with orm.transaction():
        todos.update(todo["id"], {"done": True})

A refused or failed call raises the host's error (componentize-py's Err), which ends the
request with its status (denied 403, invalid 400, internal 500) unless caught.
"""

import json
from typing import Any, Dict, List, Optional, Tuple

from wit_world.imports import orm as _orm


class Query:
    """Which rows a read returns: equality filters (ANDed), sort keys, a window."""

    def __init__(self, **filters: Any):
        self._filters: List[Tuple[str, str]] = [(k, json.dumps(v)) for k, v in filters.items()]
        self._order: List[_orm.Sort] = []
        self._limit: Optional[int] = None
        self._offset: Optional[int] = None
        self._include_deleted = False

    def filter(self, field: str, value: Any) -> "Query":
        """Only rows whose field equals value (None matches empty fields)."""
        self._filters.append((field, json.dumps(value)))
        return self

    def order_by(self, field: str, descending: bool = False) -> "Query":
        direction = _orm.Direction.DESC if descending else _orm.Direction.ASC
        self._order.append(_orm.Sort(field=field, direction=direction))
        return self

    def limit(self, n: int) -> "Query":
        self._limit = n
        return self

    def offset(self, n: int) -> "Query":
        self._offset = n
        return self

    def include_deleted(self) -> "Query":
        """Also return soft-deleted rows."""
        self._include_deleted = True
        return self

    def to_wit(self) -> _orm.Query:
        return _orm.Query(
            filters=self._filters,
            order_by=self._order,
            limit=self._limit,
            offset=self._offset,
            include_deleted=self._include_deleted,
        )


def _query(query: Optional[Query], filters: Dict[str, Any]) -> Query:
    q = query or Query()
    for field, value in filters.items():
        q.filter(field, value)
    return q


def _row(text: Optional[str]) -> Optional[Dict[str, Any]]:
    return None if text is None else json.loads(text)


class Repository:
    """The rows of one model, as dicts."""

    def __init__(self, model: str):
        self.model = model

    def find_many(self, query: Optional[Query] = None, **filters: Any) -> List[Dict[str, Any]]:
        return json.loads(_orm.find_many(self.model, _query(query, filters).to_wit()))

    def find_one(self, query: Optional[Query] = None, **filters: Any) -> Optional[Dict[str, Any]]:
        return _row(_orm.find_one(self.model, _query(query, filters).to_wit()))

    def find_by_id(self, id: int) -> Optional[Dict[str, Any]]:
        return _row(_orm.find_by_id(self.model, id))

    def create(self, values: Dict[str, Any]) -> Dict[str, Any]:
        return json.loads(_orm.create(self.model, json.dumps(values)))

    def update(self, id: int, values: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Sets the given fields; None when there is no such row."""
        return _row(_orm.update(self.model, id, json.dumps(values)))

    def delete(self, id: int) -> bool:
        return _orm.delete(self.model, id)

    def count(self, query: Optional[Query] = None, **filters: Any) -> int:
        return _orm.count(self.model, _query(query, filters)._filters)

    def paginate(self, page: int = 1, limit: int = 20, query: Optional[Query] = None, **filters: Any) -> Dict[str, Any]:
        """One page: {"data", "total", "page", "limit", "total_pages"}."""
        p = _orm.paginate(self.model, _query(query, filters).to_wit(), page, limit)
        return {
            "data": json.loads(p.data),
            "total": p.total,
            "page": p.page,
            "limit": p.limit,
            "total_pages": p.total_pages,
        }


class transaction:
    """Commits when the block ends normally, rolls back when it raises (or the module traps).

    A class rather than @contextmanager: the host's errors (componentize-py's Err) are
    frozen dataclasses, and contextlib re-raises by assigning their __traceback__.
    """

    def __enter__(self) -> "transaction":
        _orm.begin()
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None:
            _orm.commit()
        else:
            _orm.rollback()
        return False
