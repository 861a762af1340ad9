"""AI Answer Ninja: answers spam and harassment calls for its users, and keeps itself running."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("answer-ninja")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
