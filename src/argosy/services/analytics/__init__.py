"""Analytics service (8087): Performance analytics and reports."""
