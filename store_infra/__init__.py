"""The store's own infrastructure, which the payments service has none of: the versioned read caches,
the throttles, the Idempotency-Keys, the GraphQL endpoint, the readiness probe and the admin's base
pages. Above the shared kernel (core), below the domain apps."""
