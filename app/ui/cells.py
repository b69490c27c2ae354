"""Reading values out of `gr.Dataframe` cells, which arrive as str, float (NaN) or int."""

from __future__ import annotations

import math
from typing import Any


def cell_int(value: Any) -> int | None:
    """An integer cell, or None for empty/NaN/unparseable ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return int(float(str(value).strip()))
    except ValueError:
        return None
