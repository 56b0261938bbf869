"""dualsync's portal API (FastAPI)."""

from portal_api.app import create_app

__all__ = ["create_app"]
