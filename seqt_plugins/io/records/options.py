"""Which streams of a record stream a module reads, and how many at once (``streams.*``).

Declared here, beside the record streams they select from, with the metadata the
configuration schema derives the cfg keys and the command line from (``--streams.perCall=8``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from ...options import check_declared, opt


@dataclass
class StreamsOptions:
    codes: Tuple[str, ...] = opt(
        ("*",),
        "Streams to pick, as NET.STA.LOC.CHA patterns with wildcards (* ?). The three components of a "
        "sensor are picked together, so the last letter of the channel code is ignored.")
    min_duration: float = opt(
        30.0, "Streams shorter than this are skipped without being picked (those shorter than one 60-s EqT "
        "window but at least picker.minLength are padded to one window and picked).", unit="s", range="0:")
    per_call: int = opt(
        16, "Sensors read and picked together: their windows share the model's batches. Bounds the memory "
        "of long runs.", range="1:")

    def __post_init__(self):
        # a configuration gives a list; blanks (a trailing comma) select nothing
        self.codes = tuple(c.strip() for c in self.codes if c.strip())
        check_declared(self)
