"""`make bench`: the store under load, served by gunicorn on MariaDB and Redis (not part of the tests).

stack.py builds and serves the store, load.py drives it, scenarios.py says with what, checks.py
makes sure the answers are answers (no 5xx, no GraphQL errors, REST and GraphQL alike), report.py
prints the figures and records them in docs/benchmarks.md; __main__.py puts them together.
"""
