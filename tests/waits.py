"""How long a test waits for background work (embedding, indexing, profile updates).

These waits are readiness bounds, not speed checks: they return as soon as the work is done,
so a generous bound costs a passing test nothing, while a tight one failed CI on a slower
2-core runner (704 memories embedded in ~20 s here, over 30 s there). Speed is measured by
the scripts under bench/, never by a test's timeout."""

CATCH_UP_S = 600.0
