"""The page tests' fixtures: the running portal (as the API tests have it), a browser, the site.

`browser`, `site`, `portal` and `outbound` are fixtures here; `give_password`, `sign_in` and
`assert_accessible` are functions of tests.portal_web.browser.
"""

from tests.portal_api.conftest import outbound, portal
from tests.portal_web.browser import browser, site

__all__ = ["browser", "outbound", "portal", "site"]
