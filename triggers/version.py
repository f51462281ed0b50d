"""The installed version of django-model-triggers (``triggers.__version__``)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("django-model-triggers")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"
