"""Garbage-collector settings for the long-running processes (web and worker).

CPython's cyclic collector walks every container object of a generation when
that generation fills up. A Django process holds a million or so of them from
start-up alone (modules, classes, the URLconf, the serializers' fields), and a
request that builds thousands of models (an import of 500 orders) fills the
young generations quickly enough to trigger several full collections, each
walking all of them again: measured in-process, a third of an import's CPU.

`settle_startup_objects` moves everything loaded at start-up into the permanent
generation (`gc.freeze`), which the collector never walks, and raises the
threshold of the youngest generation so that a request's short-lived objects
are mostly freed by reference counting before a collection runs at all. Cycles
are still collected; they live a little longer.
"""

import gc

# Allocations (net of frees) of container objects between two collections of the
# youngest generation; CPython's default is 700.
YOUNG_GENERATION_THRESHOLD = 10_000


def settle_startup_objects() -> None:
    """Call once the process has loaded what it serves requests with, before the
    first request (and, under a pre-forking server, in each worker)."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
