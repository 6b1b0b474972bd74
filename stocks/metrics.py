"""The stock's gauge for Prometheus (docker/prometheus/alerts.yml: StockRunningLow)."""

from prometheus_client import Gauge

from . import selectors

LOW_STOCK_ARTICLES = Gauge(
    "stock_low_articles",
    "Active articles at or below their reorder point, counted when /metrics is read.",
    multiprocess_mode="mostrecent",
)


def refresh_low_stock() -> None:
    LOW_STOCK_ARTICLES.set(selectors.stock_low_count())
