"""The portal's web pages (SPEC §9): server-rendered HTML on the API's own rules and services."""

from portal_web.app import install_portal

__all__ = ["install_portal"]
