"""Plumbing shared by every Clearway package: settings, database, queue, outbox, errors, XML."""
