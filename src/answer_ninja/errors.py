"""One exception root for everything the package raises on purpose."""


class AnswerNinjaError(Exception):
    """Base of every error this package raises deliberately."""


class ConfigurationError(AnswerNinjaError):
    """A setting has a value the system cannot run with."""


class DependencyUnavailableError(AnswerNinjaError):
    """A server the service needs (database, cache, another service) did not answer."""
