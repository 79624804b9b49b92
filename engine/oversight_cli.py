"""`meldcode cases ...`: the beheerder's actions on process instances (see engine/oversight.py)."""
from __future__ import annotations

import click


@click.group("cases")
def cases():
    """Process instances: list, suspend, resume, terminate, reassign a task, retry a parked timer."""
