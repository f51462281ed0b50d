"""Misconfigured triggers, loaded only by tests/settings_broken.py to test system checks."""

from triggers import field_changed_trigger, post_save_trigger


@post_save_trigger("NoSuchModel", name="unknown_model")
def unknown_model(context):
    pass


@field_changed_trigger("testapp.Article", "no_such_field", name="unknown_field")
def unknown_field(context):
    pass


@post_save_trigger("testapp.Article", name="duplicate")
def first(context):
    pass


@post_save_trigger("testapp.Note", name="duplicate")
def second(context):
    pass
