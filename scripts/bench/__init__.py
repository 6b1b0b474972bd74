"""`make bench`: store and payments under Locust, served by gunicorn on MariaDB and Redis (not a test).

stack.py builds and serves the services; scenarios.py says which Locust users (locustfile.py, sending
what endpoints.py defines) run in each scenario, and runner.py runs Locust headless and reads what it
measured; checks.py sends each request once before the load, store_state.py reads the database from
inside Django (fixtures, and the invariants after the order storm); targets.py judges the figures,
report.py and chart.py print and record them in docs/; __main__.py puts them together.
"""
