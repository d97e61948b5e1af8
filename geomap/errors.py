"""geomap's error tree: one root, each class also inheriting the stdlib type that fits."""

from __future__ import annotations


class GeomapError(Exception):
    """Root of every error geomap raises on purpose."""


class InputError(GeomapError, ValueError):
    """An input file that cannot be read or parsed; the message names the file."""

    def __init__(self, path: str, problem: str, *, line: int | None = None) -> None:
        # a file name that is not UTF-8 still prints: its undecodable bytes become U+FFFD
        self.path = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        path = self.path
        self.problem = problem
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple:
        # pickled with its fields, whatever a subclass's __init__ takes: a worker process hands
        # these back to the one that reads the inputs
        return (_restored, (type(self), self.args, self.__dict__))


def _restored(cls: type[InputError], args: tuple, fields: dict) -> InputError:
    error = Exception.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    return error


class GazetteerError(GeomapError, ValueError):
    """The gazetteer data is missing or invalid."""


class GeocoderError(GeomapError, ConnectionError):
    """The online geocoder failed (timeout, refusal, bad answer)."""


class OutputError(GeomapError, OSError):
    """An output file could not be written."""


class RunError(GeomapError, ValueError):
    """A run asked for in a way it cannot go: an unknown start method for the workers, a cluster run
    of a pipeline that no settings describe."""


class MissingExtraError(GeomapError, ImportError):
    """A feature needs a library of an optional extra that is not installed; the message names it."""


class WorkerError(GeomapError, RuntimeError):
    """A worker process ended without handing back its batch (killed, or out of memory)."""


class NoArticleError(GeomapError, ValueError):
    """Not one input could be processed: nothing to map. ``problems`` says why, input by input."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("no article could be processed")


class OfflineAssetError(GeomapError, LookupError):
    """A script or style sheet the page needs is not in the installed offline asset package."""
