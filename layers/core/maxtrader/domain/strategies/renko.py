"""Renko bricks on closes, in integer brick levels about a session anchor.

Brick k closes at ``anchor + k * size``; keeping integer levels avoids float drift over a
session. Continuing the last direction needs one brick of movement; turning needs
``reversal`` bricks, measured from the last brick's close. One close may form several bricks.
"""

from __future__ import annotations

import math

_EPS = 1e-9  # a close exactly on a brick edge forms the brick despite float rounding


def new_bricks(
    level: int, direction: int, *, anchor: float, size: float, reversal: int, close: float
) -> tuple[int, int]:
    """(brick direction, count) formed by ``close``; count 0 when none forms.

    ``level``: the last brick's level; ``direction``: +1/-1 of the last brick, 0 before any.
    """
    move = (close - anchor) / size - level
    up = math.floor(move + _EPS)
    down = math.floor(-move + _EPS)
    if up >= (reversal if direction < 0 else 1):
        return 1, up
    if down >= (reversal if direction > 0 else 1):
        return -1, down
    return 0, 0
