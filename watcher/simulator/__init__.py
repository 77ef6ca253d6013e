"""Bundled Just One API simulator: a real local HTTP server for the demo, tests and benchmarks."""

from watcher.simulator.demo import DemoKol, demo_watchlist
from watcher.simulator.faults import Fault
from watcher.simulator.server import PATH, Call, Simulator

__all__ = ["PATH", "Call", "DemoKol", "Fault", "Simulator", "demo_watchlist"]
