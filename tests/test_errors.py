"""geomap's error tree: one root, and errors that cross a process boundary whole."""

from __future__ import annotations

import pickle

import pytest

from geomap.errors import GeomapError, InputError
from geomap.ingest import LanguageSkipped


@pytest.mark.parametrize(
    "error",
    [
        InputError("b.txt", "not UTF-8"),
        InputError("c.jsonl", "bad JSON", line=7),
        LanguageSkipped("a.txt", "de", line=3),
    ],
    ids=["input", "input-line", "language-skipped"],
)
def test_input_errors_pickle_with_their_fields(error: InputError) -> None:
    """A worker process hands these back to the process that reads the inputs (pickled): a subclass
    whose __init__ takes other arguments must come back too, with its message and fields."""
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and isinstance(back, GeomapError)
    assert (str(back), back.path, back.problem, back.line) == (
        str(error),
        error.path,
        error.problem,
        error.line,
    )
    assert getattr(back, "language", None) == getattr(error, "language", None)
