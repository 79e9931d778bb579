"""Catalogs: the bundles a plan can choose from."""

from lpdeploy.catalog.load import Catalog, load_catalog

__all__ = ["Catalog", "load_catalog"]
