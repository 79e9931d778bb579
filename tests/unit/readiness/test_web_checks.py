"""verify's checks over HTTP of one centre, with a fake web."""

from __future__ import annotations

from pathlib import Path

from lpdeploy.catalog import load_catalog
from lpdeploy.plan.model import BundleRef, PlanCentre
from lpdeploy.readiness.check import _web_checks

BUNDLES = Path(__file__).parents[3] / "bundles"


def test_a_listed_bundle_the_catalog_lacks_is_named_not_a_traceback() -> None:
    catalog = load_catalog(BUNDLES)
    centre = PlanCentre(
        id="c1", host=None, wave=1, hardware="nuc-512g", storage_budget_bytes=10**12,
        services=["portal"], bundles=[BundleRef(id="big-en", version="1.0.0", size_bytes=1)],
        bytes_total=0, learners=5, languages=["en"], timezone="UTC",
    )  # fmt: skip

    def get(url: str) -> tuple[int, str]:
        return 200, '<li data-bundle="big-en">Big</li>'

    portal, content = _web_checks(centre, "10.0.0.1", catalog, get, {})
    assert portal.ok
    assert not content.ok
    assert content.detail == "not checked: big-en not in the catalog (--catalog)"
