"""S-EqT re-picking: an event's confident picks as templates, searched in EqT's latent features."""

from .engine import METHOD_ID, Repicker, RepickerError, RepickResult  # noqa: F401
from .options import RepickerOptions  # noqa: F401
