"""Version 1 of the public and internal wire schemas."""
