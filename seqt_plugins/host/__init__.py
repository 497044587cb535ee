"""Bindings to a SeisComP installation (only used when SeisComP's Python API is importable)."""

from .messaging import MessagingError, PickSender, messaging_available

__all__ = ["MessagingError", "PickSender", "messaging_available"]
