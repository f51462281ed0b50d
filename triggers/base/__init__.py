"""The trigger framework's core: base types, context, engine, decorators and signal wiring."""
