"""The engine under the import path seed 004 uses (``triggers.base.trigger_engine``); the code
lives in ``triggers.engine``."""

from ..engine import TriggerEngine, engine, get_trigger_engine

__all__ = ["TriggerEngine", "engine", "get_trigger_engine"]
