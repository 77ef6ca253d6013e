"""watcher: follower-growth anomaly alerting for Xiaohongshu creators."""

__version__ = "0.1.0"
