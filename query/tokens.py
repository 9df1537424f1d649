"""Stream tokens: positions of the log, as clients see them (DESIGN invariant 5).

A token ``s<P>`` (optionally ``s<P>_<E>``) stands for "every record of the log up
to and including position ``P`` has been seen"; ``E``, when present, is the
ephemeral serial (typing) of the process that issued it and means nothing to
the log. The same tokens serve ``/sync`` (``since``, ``next_batch``,
``prev_batch``) and ``/messages`` (``from``, ``to``, ``start``, ``end``):

- paginating backwards from ``s<P>`` returns events with position <= P, newest first;
- paginating forwards from ``s<P>`` returns events with position > P, oldest first.

So a timeline's ``prev_batch`` is ``s<(position of its first event) - 1>``.
"""

from __future__ import annotations

import dataclasses


class BadToken(ValueError):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class StreamToken:
    position: int
    ephemeral: int = 0

    def __str__(self) -> str:
        if self.ephemeral:
            return f"s{self.position}_{self.ephemeral}"
        return f"s{self.position}"

    @classmethod
    def parse(cls, text: str) -> StreamToken:
        """Parses a token; raises BadToken (answer M_INVALID_PARAM) for anything else."""
        if not text.startswith("s"):
            raise BadToken(f"not a stream token: {text!r}")
        head, _, tail = text[1:].partition("_")
        try:
            position = int(head)
            ephemeral = int(tail) if tail else 0
        except ValueError:
            raise BadToken(f"not a stream token: {text!r}") from None
        if position < 0 or ephemeral < 0 or not head.isdigit():
            raise BadToken(f"not a stream token: {text!r}")
        return cls(position, ephemeral)
