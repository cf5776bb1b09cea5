"""Prometheus metrics at /metrics: parcels per warehouse and state, queues, webhook backlog."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col

from clearance.dashboard.overview import counts_by_warehouse
from clearance.webhooks.models import WebhookDelivery
from kit.api import METRICS
from kit.db import session_scope
from kit.queue import queue_depths


class ClearwayCollector(Collector):
    """Reads the database and the queues at scrape time (the database is the truth)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        parcels = GaugeMetricFamily(
            "clearway_parcels", "Parcels by warehouse and state", labels=["warehouse", "state"]
        )
        deliveries = GaugeMetricFamily(
            "clearway_webhook_deliveries", "Webhook deliveries by state", labels=["state"]
        )
        with session_scope() as session:
            for row in counts_by_warehouse(session):
                for state, count in row["counts"].items():
                    parcels.add_metric([row["code"], state], count)
            query = sa_select(col(WebhookDelivery.state), func.count()).group_by(
                col(WebhookDelivery.state)
            )
            for state, count in session.execute(query).tuples():
                deliveries.add_metric([state], count)
        yield parcels
        yield deliveries
        yield from _queues()


def _queues() -> Iterator[GaugeMetricFamily]:
    queued = GaugeMetricFamily("clearway_queue_jobs", "Jobs waiting", labels=["queue"])
    failed = GaugeMetricFamily("clearway_queue_failed_jobs", "Failed jobs", labels=["queue"])
    for name, depth in queue_depths().items():
        queued.add_metric([name], depth["queued"])
        failed.add_metric([name], depth["failed"])
    yield queued
    yield failed


_registered: list[ClearwayCollector] = []


def exposition() -> bytes:
    """The text exposition of every Clearway metric."""
    if not _registered:
        _registered.append(ClearwayCollector())
        METRICS.register(_registered[0])
    return generate_latest(METRICS)
