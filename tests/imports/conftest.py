"""Fixtures for the import tests (helpers in remit_support.py)."""

from __future__ import annotations

import pytest

from tests.imports.remit_support import Setup, build_setup


@pytest.fixture()
def setup(db_app) -> Setup:
    return build_setup()
