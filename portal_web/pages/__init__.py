"""One module of page routes per area of the portal."""
