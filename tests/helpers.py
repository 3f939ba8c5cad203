"""Helpers shared by the tests (fixtures live in conftest.py)."""


def stop_when(run, reached) -> None:
    """Iterate ``run`` until ``reached(step)``, then close the iterator: a user's Stop."""
    steps = iter(run)
    for step in steps:
        if reached(step):
            break
    steps.close()
