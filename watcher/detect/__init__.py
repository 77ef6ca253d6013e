"""Anomaly detection on KOLs' daily follower increments."""

from watcher.detect.api import detect, detect_arrays, detect_many
from watcher.detect.settings import DetectSettings

__all__ = ["DetectSettings", "detect", "detect_arrays", "detect_many"]
