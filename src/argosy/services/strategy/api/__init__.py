"""REST routers of the strategy service, one module per resource."""
