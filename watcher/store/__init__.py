"""Local SQLite store: history that outlives the API's window, and the alert outbox."""

from watcher.store.db import Delivery, MergeStats, Store, claim_owner

__all__ = ["Delivery", "MergeStats", "Store", "claim_owner"]
