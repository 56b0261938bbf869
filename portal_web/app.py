"""Where the pages join the API application: their routers, their static files, `/`."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from portal_web.pages import account, admin, orders, public, signin, wizard

__all__ = ["PORTAL_PREFIX", "install_portal"]

PORTAL_PREFIX: Final = "/portal"
"""Every page lives under this path; the JSON API keeps the paths of SPEC §7."""

_STATIC = Path(__file__).parent / "static"


def install_portal(app: FastAPI) -> None:
    """Add the portal's pages to the API application `app`."""
    app.mount(f"{PORTAL_PREFIX}/static", StaticFiles(directory=_STATIC), name="portal-static")
    for router in (
        public.router,
        signin.router,
        admin.router,
        wizard.router,
        orders.router,
        account.router,
    ):
        app.include_router(router, prefix=PORTAL_PREFIX)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(f"{PORTAL_PREFIX}/", status_code=307)
