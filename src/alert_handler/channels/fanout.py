"""For channels that send one message to several recipients in separate calls (numbers, apprise
URLs): which recipients are settled for a message, so a retry goes only to the others.

Settled means the recipient got it, or (where the channel says so) refused it in a way no
retry can help, with that refusal. The memory lives in the process and keeps the most recent
messages: a retry handled by another worker, or after a restart, may reach someone twice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Generic, TypeVar

R = TypeVar("R", bound=Hashable)
KEPT = 2000  # messages whose settled recipients are remembered


class Settled(Generic[R]):
    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._by_key: OrderedDict[str, dict[R, str]] = OrderedDict()

    def _of(self, key: str) -> dict[R, str]:
        found = self._by_key.setdefault(key, {})
        self._by_key.move_to_end(key)
        while len(self._by_key) > self._kept:
            self._by_key.popitem(last=False)
        return found

    def pending(self, key: str, everyone: Sequence[R]) -> list[R]:
        """The recipients of message `key` not settled yet, in order."""
        settled = self._of(key)
        return [who for who in everyone if who not in settled]

    def settle(self, key: str, who: R, refusal: str = "") -> None:
        """`who` got message `key` (no `refusal`), or refused it for good."""
        self._of(key)[who] = refusal

    def refusals(self, key: str) -> list[tuple[R, str]]:
        """The recipients that refused message `key` for good, with their refusals."""
        return [(who, why) for who, why in self._of(key).items() if why]
