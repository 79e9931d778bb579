"""The roles' templates, rendered with the same Jinja2 that Ansible uses."""

from __future__ import annotations

from pathlib import Path

import jinja2

ROLES = Path(__file__).parents[3] / "playbooks" / "roles"


def render(role: str, template: str, **values: object) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROLES / role / "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,  # as Ansible's template module renders
        keep_trailing_newline=True,
    )
    return env.get_template(template).render(ansible_managed="managed", **values)


def hotspot(**values: object) -> str:
    base = {
        "hotspot_interface": "wlan0",
        "hotspot_ssid": "learn-camp-4",
        "hotspot_country": "bd",
        "hotspot_channel": 6,
        "hotspot_passphrase": "",
    }
    return render("hotspot", "hostapd.conf.j2", **(base | values))


def test_hostapd_with_a_passphrase_uses_wpa2() -> None:
    text = hotspot(hotspot_passphrase="s3cret-passphrase")
    assert "interface=wlan0\n" in text and "ssid=learn-camp-4\n" in text
    assert "country_code=BD\n" in text
    assert "wpa=2\n" in text and "wpa_passphrase=s3cret-passphrase\n" in text


def test_hostapd_without_a_passphrase_is_open() -> None:
    text = hotspot()
    assert "wpa" not in text


def test_dnsmasq_answers_every_name_with_the_server() -> None:
    text = render(
        "hotspot",
        "dnsmasq-lpdeploy.conf.j2",
        hotspot_interface="wlan0",
        hotspot_dhcp_range="10.42.0.10,10.42.0.250,12h",
        hotspot_address="10.42.0.1",
    )
    assert "dhcp-range=10.42.0.10,10.42.0.250,12h\n" in text
    assert "address=/#/10.42.0.1\n" in text


def test_portal_lists_courses_in_the_first_language() -> None:
    zim = {
        "id": "compter-fr",
        "kind": "zim",
        "title": "Compter",
        "languages": ["fr"],
        "entry": "z/",
    }
    html = {
        "id": "feelings-ar",
        "kind": "html",
        "title": "x",
        "languages": ["ar"],
        "entry": "index.html",
    }
    text = render(
        "portal",
        "index.html.j2",
        lpdeploy_centre="adre-lc-01",
        lpdeploy_languages=[
            {"tag": "ar", "autonym": "العربية"},
            {"tag": "fr", "autonym": "français"},
        ],
        lpdeploy_portal_text={"ar": {"title": "t", "intro": "i", "also": "a", "dir": "rtl"}},
        lpdeploy_bundles=[zim, html],
        portal_kiwix_url_root="/kiwix",
    )
    assert '<html lang="ar" dir="rtl">' in text
    assert 'href="/kiwix/z/"' in text
    assert 'href="/courses/feelings-ar/current/content/index.html"' in text
    assert '<span lang="fr">français</span>' in text
