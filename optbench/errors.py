"""Errors that the command line reports as one clear message, without a traceback."""


class OptbenchError(Exception):
    """A problem with what the user asked for: a name, a spec string, a suite file, a budget."""


class SpecError(OptbenchError):
    """A malformed spec string such as ``adam[learning_rate=0.1``."""


class UnknownNameError(OptbenchError):
    """A problem, optimizer or suite name that is not registered."""


class PluginError(OptbenchError):
    """A plugin file that could not be imported or that registers a name twice."""
