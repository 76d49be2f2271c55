"""Client-Server API endpoints, one module per area, each exporting ROUTES."""
