"""Read projections: role-filtered order views and account views, rebuildable from the store."""
