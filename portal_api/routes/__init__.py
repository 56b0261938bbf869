"""The API's routers, one per area of SPEC §7."""
