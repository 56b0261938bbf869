"""The ops page served by the API: HTML for a person, over the same ops functions as the JSON.

Its router is `portal_api.ops_page.routes.router`; this package imports nothing itself, so that
portal_api.auth can use the session module without an import cycle.
"""
