"""The autoscope error hierarchy.

Every error raised on purpose by autoscope derives from :class:`AutoscopeError`;
errors about bad user input are also :class:`ValueError`, so generic handlers work.
"""

__all__ = [
    "AutoscopeError",
    "DecisionServerError",
    "InputDataError",
    "ModelFittingError",
    "NoRecommendation",
    "StorageError",
]


class AutoscopeError(Exception):
    """Base class of every error autoscope raises on purpose."""


class InputDataError(AutoscopeError, ValueError):
    """Input (array shape, spec, parameter) is not what was expected.

    The message names what was expected and what came.
    """


class ModelFittingError(AutoscopeError, RuntimeError):
    """A model could not be fitted even after the documented fallbacks."""


class NoRecommendation(AutoscopeError, RuntimeError):
    """The recommender has nothing left to suggest (all candidates measured or excluded)."""


class StorageError(AutoscopeError, OSError):
    """A catalog cannot be opened or written; the message says why in one line.

    Missing or wrong API key, server down or unreachable, a path that is a file,
    not writable or does not exist. The message is one line that names the catalog and what to do.
    """


class DecisionServerError(ModelFittingError):
    """A remote decision server is unreachable, timed out, or speaks another protocol.

    A :class:`ModelFittingError`, so a decision that fails this way mid-run is recorded
    as a model failure and the run goes on through the fallback; when a plan is built,
    the same error refuses the run before anything moves.
    """
