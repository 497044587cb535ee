"""Shared fixtures: the ../shared test data and the EqT models (loaded once per session)."""

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("SEQT_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def require_shared(*parts: str) -> Path:
    """Path inside ../shared, or skip (fail under CI, where SEQT_REQUIRE_SHARED=1) when absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        msg = f"needs ../shared test data ({path} not found)"
        if os.environ.get("SEQT_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " but SEQT_REQUIRE_SHARED=1")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def eqt_conservative():
    from seqt_plugins.eqt import load_eqt

    return load_eqt("conservative")


@pytest.fixture(scope="session")
def eqt_original():
    from seqt_plugins.eqt import load_eqt

    return load_eqt("original")
