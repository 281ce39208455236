"""A registry of named things: a dict, a getter and a lister, plus entry points."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from podium._internal.suggest import did_you_mean

T = TypeVar("T")


class Named(Generic[T]):
    """Things registered by name; unknown names answer with close matches.

    ``kind`` names what is registered ("step", "candidate"...) for messages,
    ``group`` is the entry-point group plugins register under and ``error`` the
    exception raised for an unknown name (podium passes its ``NotFoundError``).
    """

    def __init__(
        self, kind: str, group: str | None = None, *, error: type[Exception] = KeyError
    ) -> None:
        self.kind = kind
        self.group = group
        self.error = error
        self._items: dict[str, T] = {}
        self._plugins_loaded = group is None

    def register(self, name: str, item: T, *, replace: bool = False) -> T:
        if name in self._items and not replace:
            raise ValueError(f"a {self.kind} named '{name}' is already registered")
        self._items[name] = item
        return item

    def unregister(self, name: str) -> None:
        """Forget ``name`` (a test's temporary family, a plugin being reloaded)."""
        self._items.pop(name, None)

    def decorator(self, name: str) -> Callable[[T], T]:
        def wrap(item: T) -> T:
            return self.register(name, item)

        return wrap

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group or ""):
            if ep.name not in self._items:
                self._items[ep.name] = ep.load()

    def get(self, name: str) -> T:
        self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            raise self.error(
                f"'{name}' is not a {self.kind}. {did_you_mean(name, self._items)}".rstrip()
            ) from None

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        self._load_plugins()
        return sorted(self._items.items())
