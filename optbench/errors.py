"""Errors that the command line reports as one clear message, without a traceback."""


class OptbenchError(Exception):
    """A problem with what the user asked for: a name, a spec string, a suite file, a budget."""


class SpecError(OptbenchError):
    """A malformed spec string such as ``adam[learning_rate=0.1``."""


class UnknownNameError(OptbenchError):
    """A problem, optimizer or suite name that is not registered."""


class PluginError(OptbenchError):
    """A plugin file that could not be imported or that registers a name twice."""


def shown(text: str, limit: int = 60) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters: a megabyte of name is
    not echoed back in a megabyte of error line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"
