"""Kolibri's own settings, with one correction (DJANGO_SETTINGS_MODULE names this module).

Kolibri 0.19.5 puts ZIP_CONTENT_ORIGIN into its Content Security Policy as given: a port
number (the HTML5 app origin on another port of the same host, as behind a proxy) makes
every response fail with a TypeError, and would not be a valid CSP source anyway. Frames
and media are allowed from any http(s) origin instead, as Kolibri does when no origin is set.
"""

from kolibri.deployment.default.settings.base import *  # noqa: F403
from kolibri.deployment.default.settings.base import CSP_DEFAULT_SRC

CSP_FRAME_SRC = (*CSP_DEFAULT_SRC, "http:", "https:")
CSP_MEDIA_SRC = (*CSP_DEFAULT_SRC, "http:", "https:")
