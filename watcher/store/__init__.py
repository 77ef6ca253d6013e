"""Local SQLite store: history that outlives the API's window, and the alert outbox."""

from watcher.store.db import MergeStats, Store
from watcher.store.outbox import Delivery, claim_owner

__all__ = ["Delivery", "MergeStats", "Store", "claim_owner"]
