"""Bundled Just One API simulator: a real local HTTP server for the demo, tests and benchmarks.

Choices where the vendor's contract is silent (see shared/api/NOTES.md):

- A missing token, userId, dateType or increaseType gets HTTP 400 with a Spring Boot error body.
- A userId that is not 24 lowercase hex digits, or is unknown, gets a code-400 envelope (HTTP
  200, not billed); so do dateType/increaseType values outside their enums.
- DAY_30/DAY_90 are fixed calendar windows ending yesterday (Beijing); a history that lacks
  yesterday ("not yet published") just yields a shorter list ending at its newest day.
- FANS_INCREASE lists net daily changes (total minus the previous day's total), only for days
  whose previous day is known; fansNumInc/fansNumIncRate always come from the totals.
- requestId appears on about half the envelopes (seeded), as real responses do not always carry it.
- Scripted faults bypass the rate limit and quota; any code-0 reply is billed and uses quota.
"""

from watcher.simulator.demo import DemoKol, demo_watchlist
from watcher.simulator.faults import Fault
from watcher.simulator.server import PATH, Call, Simulator

__all__ = ["PATH", "Call", "DemoKol", "Fault", "Simulator", "demo_watchlist"]
