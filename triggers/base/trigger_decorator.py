"""The decorators under the path of seed 004's layout (``triggers.base.trigger_decorator``);
the code lives in ``triggers.decorators``."""

from ..decorators import (
    conditional_trigger,
    custom_event_trigger,
    field_changed_trigger,
    m2m_changed_trigger,
    model_trigger,
    post_delete_trigger,
    post_save_trigger,
    pre_delete_trigger,
    pre_save_trigger,
)

__all__ = [
    "conditional_trigger",
    "custom_event_trigger",
    "field_changed_trigger",
    "m2m_changed_trigger",
    "model_trigger",
    "post_delete_trigger",
    "post_save_trigger",
    "pre_delete_trigger",
    "pre_save_trigger",
]
