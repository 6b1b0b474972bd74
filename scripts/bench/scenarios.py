"""The scenarios: which Locust users (locustfile.py), how many, on which store server, in which group.

Each scenario gets a store gunicorn of its own (stack.serve), so that its connections are split
evenly over the workers and its workers' memory is its own; they all share one database, one Redis
and one payments service. `--scenario` picks groups (or single scenarios) by name.
"""

from dataclasses import dataclass

# One supplier delivers to a random hot article this often, this many units: 160 units a second,
# about 5/6 of what 32 clerks ordering once a second ask for (3 lines of 2 units an order on average),
# so the hot articles keep running out and filling up again.
DELIVERY_EVERY_SECONDS = 0.25
DELIVERY_UNITS = 40
# The supplier's GraphQL session: this many (articles, lowStock) pairs, then one restock.
SUPPLIER_READ_PAIRS = 4


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    group: str
    # The locustfile's user classes; a class with `fixed_count` takes that many of the users.
    user_classes: tuple[str, ...]
    users: int
    # The store's read caches (READ_CACHE_ENABLED).
    cache: bool = True
    # Whether its requests reach the payments service (whose workers are then measured too).
    payments: bool = False


GROUPS = ("reports", "staff", "storm", "suppliers")


def scenarios(*, clients: int, storm_users: int) -> list[Scenario]:
    """Every scenario, in the order they run: issue 3's report comparison first, then issue 7's."""
    return [
        Scenario("health", "/health/", "reports", ("Health",), clients),
        Scenario("warm", "stock report, warm cache", "reports", ("StockReport",), clients),
        Scenario("cold", "stock report, cold cache", "reports", ("ColdStockReport",), clients),
        Scenario(
            "disabled", "stock report, caching disabled", "reports", ("StockReport",), clients, cache=False
        ),
        Scenario("staff", "staff reads", "staff", ("StaffReads",), clients),
        # The storm's clerks, plus the one supplier delivering meanwhile (Deliveries.fixed_count).
        Scenario(
            "storm", "order storm", "storm", ("OrderStorm", "Deliveries"), storm_users + 1, payments=True
        ),
        Scenario("rest", "stock of 100 articles, REST", "suppliers", ("RestStock",), clients),
        Scenario("graphql", "stock of 100 articles, GraphQL", "suppliers", ("GraphqlStock",), clients),
        Scenario("supplier", "supplier, GraphQL", "suppliers", ("SupplierSession",), clients),
    ]


def select(all_scenarios: list[Scenario], names: list[str]) -> list[Scenario]:
    """The scenarios named (by group or key), in their order; the report ratios bring /health/ along."""
    if not names or "all" in names:
        return all_scenarios
    known = set(GROUPS) | {scenario.key for scenario in all_scenarios}
    unknown = sorted(set(names) - known)
    if unknown:
        raise SystemExit(
            f"bench: unknown scenario {', '.join(unknown)} (known: all, {', '.join(sorted(known))})"
        )
    wanted = set(names)
    if wanted & {"warm", "reports"}:
        wanted.add("health")
    return [s for s in all_scenarios if s.key in wanted or s.group in wanted]
