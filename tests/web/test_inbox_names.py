"""People by their names (issue 9 item 11): who holds a task is shown by name in a colleague's inbox."""
from __future__ import annotations

import pytest

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


@pytest.mark.backends("sqlite", "postgres")
def test_a_page_reads_the_names_of_the_teams_it_names_not_every_user(app, services):
    """With thousands of users, reading every name for each page cost 30-65 ms (docs/performance.md): a name is
    looked up with its team's colleagues, once per request, and a team's title on its own."""
    from flask import g

    from web.labels import display_person, display_team

    from .conftest import reads_during

    accounts.create_user(services.sessions, "kees", PASSWORD, ["professional"], TEAM, display_name="Kees de Vries")
    for n in range(5):  # a team the page never names
        accounts.create_user(services.sessions, f"ver-{n}", PASSWORD, ["professional"], "ver",
                             display_name=f"Ver {n}", team_title="Wijkteam Ver")
    with app.test_request_context("/"):
        names, reads = reads_during(services, lambda: [
            display_person("kees"), display_person("professional"), display_person("zuid"),
            display_person("onbekend"), display_person("onbekend"), display_person(None), display_team("ver"),
            display_team("ver"), display_team("nergens")])
        loaded = set(g.meldcode_names["people"])
    assert names == ["Kees de Vries", "Test professional", "zuid", "onbekend", "onbekend", "—", "Wijkteam Ver",
                     "Wijkteam Ver", "Nergens"]
    # kees brought his team along (professional: no statement); zuid's team, the unknown name once, two teams
    assert len(reads) == 5, reads
    assert {"kees", "professional", "zuid", "onbekend"} <= loaded
    assert not any(name.startswith("ver-") for name in loaded)
