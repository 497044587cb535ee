"""Standalone catalog: EqT picks → PyOcto association → S-EqT re-picks → association again.

Inside SeisComP the host associates and locates; ``seqt-catalog`` does it without SeisComP.
``velocity`` (layered model file, PyOcto travel-time tables) → ``associate`` (picks → origins,
arrivals, events) → ``pipeline`` (the four stages, CSV summary) → ``plot`` (map, record sections).
"""

from .associate import AssociationError, Associator, make_origin_id  # noqa: F401
from .options import AssociatorOptions  # noqa: F401
from .pipeline import (CatalogPipeline, build_catalog, csv_summary, merge_passes, summarize,  # noqa: F401
                       write_csv_summary)
from .velocity import LayeredModel, VelocityModelError, read_layered_model  # noqa: F401
