"""People by their names (issue 9 item 11): who holds a task is shown by name in a colleague's inbox."""
from __future__ import annotations

from web.auth import service as accounts

from .conftest import PASSWORD, TEAM, login, open_task, start_case, user_of


def test_the_inbox_names_the_colleague_who_holds_a_task(client, services):
    accounts.create_user(services.sessions, "kees", PASSWORD, ["professional"], TEAM, display_name="Kees de Vries")
    case_id = start_case(services)
    task = open_task(services, case_id)
    services.cases.claim_task(task.id, user_of(services, "kees").actor)
    login(client, "professional")
    page = client.get("/").get_data(as_text=True)
    assert "Kees de Vries" in page
    assert '<span class="claimed">kees</span>' not in page
