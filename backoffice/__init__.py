"""The back office's own pages, above the domain apps: what staff see first in the admin."""
