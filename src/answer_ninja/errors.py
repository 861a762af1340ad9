"""One exception root for everything the package raises on purpose."""


class AnswerNinjaError(Exception):
    """Base of every error this package raises deliberately."""


class ConfigurationError(AnswerNinjaError):
    """A setting has a value the system cannot run with."""
