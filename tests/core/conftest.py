from __future__ import annotations

import pytest

from bot.catalog.loader import load_catalog
from bot.catalog.model import Catalog
from bot.core.understanding import Understander


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def understander(catalog: Catalog) -> Understander:
    return Understander(catalog)
