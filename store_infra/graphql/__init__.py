"""What every app's GraphQL door shares: the endpoint, role checks, errors, pagination and limits.

Each app describes its types, queries and mutations in its own `schema.py`;
`store_manager/schema.py` assembles them into the one schema served at `/graphql/`.
"""
