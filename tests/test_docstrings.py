"""Every public name has a docstring with an example, and every example runs and holds."""

from __future__ import annotations

import doctest
import inspect
from pathlib import Path

import pytest

import ytrec_infer
from ytrec_infer import errors, loading, recommender, reloading, results
from ytrec_infer.retrieval import rules
from ytrec_infer.serve import browse, metrics, openapi, options, payloads


def _public_members() -> list[tuple[str, object]]:
    """The names in ``__all__`` and their public methods and properties."""
    found: list[tuple[str, object]] = []
    for name in ytrec_infer.__all__:
        if name == "__version__":
            continue
        obj = getattr(ytrec_infer, name)
        found.append((name, obj))
        for attr, member in vars(obj).items():
            if not attr.startswith("_") and (callable(member) or isinstance(member, property)):
                found.append((f"{name}.{attr}", member))
            elif isinstance(member, classmethod):
                found.append((f"{name}.{attr}", member.__func__))
    return found


@pytest.mark.parametrize(("name", "obj"), _public_members(), ids=lambda v: str(v)[:40])
def test_public_names_have_an_example(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj.fget if isinstance(obj, property) else obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert ">>>" in doc, f"{name}'s docstring has no example"


def test_all_names_resolve_and_version_is_set() -> None:
    assert all(hasattr(ytrec_infer, name) for name in ytrec_infer.__all__)
    assert ytrec_infer.__version__ and ytrec_infer.__version__[0].isdigit()


@pytest.mark.parametrize(
    "module",
    [ytrec_infer, loading, recommender, reloading, results, errors, rules]
    + [browse, metrics, openapi, options, payloads],  # the serve modules without the web stack
    ids=lambda m: m.__name__,
)
def test_docstring_examples_run(module: object, artifact_dir: Path) -> None:
    """The examples run against the session's trained artifact, as ARTIFACT, rec, serving,
    with the module's own names in scope as a reader of that module would have them."""
    globs = {
        **vars(module),
        "ARTIFACT": str(artifact_dir),
        "rec": ytrec_infer.Recommender.load(artifact_dir),
        "serving": ytrec_infer.ServingRecommender(artifact_dir),
        **vars(ytrec_infer),
    }
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, globs=globs)
    assert tests, f"no examples in {module}"
    for test in tests:
        runner.run(test)
    summary = runner.summarize(verbose=False)
    assert summary.failed == 0, f"{summary.failed} of {summary.attempted} examples failed"
