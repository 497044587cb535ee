"""The one exception of the configuration layer."""

from __future__ import annotations


class ConfigError(Exception):
    """A bad configuration value, key or file: one line naming the key and where it was set.

    ``where`` is ``"FILE:LINE"``, ``"command line"`` or ``""``; ``str(err)`` is
    ``"FILE:LINE: message"``.
    """

    def __init__(self, message: str, where: str = ""):
        self.message = message.replace("\n", " ")
        self.where = where
        super().__init__(f"{where}: {self.message}" if where else self.message)
