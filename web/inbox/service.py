from __future__ import annotations

from datetime import datetime

from engine.cases import TaskInfo

FILTERS = {"team": "Team", "mijn": "Door mij geclaimd", "te_laat": "Te laat"}
PER_PAGE = 50  # a team's inbox can hold hundreds of tasks; the urgent ones come first


def my_open_tasks(engine, user) -> list[TaskInfo]:
    """READY tasks of the user's lanes on cases the user may work on (engine/access.py: own team, internal route,
    Veilig Thuis' involvement, break-the-glass). Not audited: a listing, no case file."""
    if not user.lanes:
        return []
    return engine.open_tasks(actor=user.actor)


def urgency_key(task: TaskInfo):
    """Overdue and soonest deadlines first, then tasks without a deadline, oldest first."""
    return (task.due_at is None, task.due_at or task.created_at, task.created_at, task.id)


def apply_filter(tasks: list[TaskInfo], name: str, username: str, now: datetime) -> list[TaskInfo]:
    if name == "mijn":
        tasks = [t for t in tasks if t.claimed_by == username]
    elif name == "te_laat":
        tasks = [t for t in tasks if t.due_at is not None and t.due_at < now]
    return sorted(tasks, key=urgency_key)


def counts(tasks: list[TaskInfo], username: str, now: datetime) -> dict[str, int]:
    return {name: len(apply_filter(tasks, name, username, now)) for name in FILTERS}


def page_count(tasks: list[TaskInfo]) -> int:
    return max(1, -(-len(tasks) // PER_PAGE))


def page_with_case(tasks: list[TaskInfo], case_id: int) -> int:
    """The page on which the first task of this case stands (page 1 if it has none): a case just started or a
    task just completed is shown where it is highlighted."""
    for index, task in enumerate(tasks):
        if task.case_id == case_id:
            return index // PER_PAGE + 1
    return 1


def page_of(tasks: list[TaskInfo], page: int) -> list[TaskInfo]:
    return tasks[(page - 1) * PER_PAGE:page * PER_PAGE]
