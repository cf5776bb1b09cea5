"""Connects the pipeline to the outbox and the ticker; called by every composition root."""

from __future__ import annotations

from clearance.pipeline.jobs import DECLARE_PENDING, INGEST, SHIP_RELEASED, SUBMIT_PENDING
from clearance.webhooks import service as webhooks
from kit import outbox
from kit.queue import Ticker
from kit.settings import get_settings


def wire() -> None:
    """Subscribe the pipeline's jobs to the events that start them (idempotent)."""
    webhooks.subscribe()
    outbox.subscribe("parcel.matched", "declare", DECLARE_PENDING, drain=True)
    outbox.subscribe("clearance.declared", "submit", SUBMIT_PENDING, drain=True)
    outbox.subscribe("clearance.documents_complete", "submit", SUBMIT_PENDING, drain=True)
    outbox.subscribe("parcel.shipped", "ship", SHIP_RELEASED, drain=True)
    outbox.subscribe("order.cancelled", "declare", "clearance.pipeline.jobs.cancel_orders")
    outbox.register_sweeper("clearance.pipeline.sweep.sweep_clearance")
    outbox.register_sweeper("clearance.pipeline.documents.sweep_documents")
    outbox.register_sweeper("clearance.printing.service.sweep_print_jobs")


def ticker() -> Ticker:
    """Periodic work: poll the receive folder, sweep for anything overdue."""
    settings = get_settings()
    return (
        Ticker()
        .every(settings.receipt_poll_s, "ingest", INGEST)
        .every(settings.sweep_interval_s, "sweep", outbox.SWEEP)
    )
