"""What the parts of :class:`~.session_store.RedisSessionStore` ask of each
other: the state they share and the methods one part calls on another.
Each part (:class:`~.writes.Writes`, :class:`~.indexes.Indexes`,
:class:`~.admin.Bulk`, :class:`~.activity.ActivityRecords`) derives from
:class:`StoreParts`, so that a checker sees every such call; the store
class provides them all."""

from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

from .names import Names, Owner


class StoreParts:
    """The shared state, and the methods the parts call across."""

    redis: Any  # a redis-py client: plain, Sentinel master or Cluster
    names: Names
    metrics: Any  # see session_store.Unmetered
    clock: Callable[[], float]
    max_size: int
    max_sessions_per_user: Optional[int]
    expire_options: Optional[bool]
    allow_eviction: bool

    # --- from the store itself (session_store) ---

    def ttl(self, data: Mapping[str, Any]) -> int:
        raise NotImplementedError

    def logged_in_expiration(self) -> int:
        raise NotImplementedError

    def contents(self, session: Any) -> Mapping[str, Any]:
        raise NotImplementedError

    def sealed(self, data: Mapping[str, Any], sid: str) -> Mapping[str, Any]:
        raise NotImplementedError

    def guarded(self, action: str, command: Callable[[], Any]) -> Any:
        raise NotImplementedError

    # --- from writes ---

    def _end(
        self,
        sessions: Sequence[Tuple[str, Optional[Owner]]],
        action: Optional[str] = "delete",
        drops: Sequence[Tuple[str, str]] = (),
    ) -> int:
        raise NotImplementedError

    # --- from indexes ---

    def _index(self, pipe: Any, entry: str, owner: Owner, ttl: int) -> List[Tuple[int, str, int]]:
        raise NotImplementedError

    def _lengthen(self, checks: Sequence[Tuple[int, str, int]], results: Sequence[Any]) -> None:
        raise NotImplementedError

    def _index_ttl(self, ttl: int) -> int:
        raise NotImplementedError

    def _repair_indexes(self, sid: str, owner: Owner, ttl: int) -> None:
        raise NotImplementedError

    def _keep_newest(self, owner: Owner, sid: str, limit: int) -> None:
        raise NotImplementedError

    # --- from admin ---

    def scan(self) -> Any:
        raise NotImplementedError

    def values(self, keys: Sequence[Any], ttl: bool = False, memory: bool = False) -> List[Any]:
        raise NotImplementedError

    def stored(self, entries: Sequence[str]) -> List[bool]:
        raise NotImplementedError

    def _live(self, entries: Sequence[str]) -> List[Optional[dict]]:
        raise NotImplementedError
