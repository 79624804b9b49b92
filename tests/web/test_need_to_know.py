"""Need-to-know: own team's cases, own lanes' tasks; everything else is one and the same 403, and audited."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from engine import clock
from engine.errors import NotAllowedError
from engine.models import CaseTask
from web.auth import service as accounts
from web.roles import ROLES

from .conftest import (
    OTHER_TEAM,
    PASSWORD,
    USERNAMES,
    audit_rows,
    login,
    open_task,
    start_case,
    user_of,
)

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _stable_body(response) -> bytes:
    """The page less its CSRF tokens, which are signed with the second they are made in (found flaky in CI when
    the two requests fell in different seconds): the two answers must not differ in anything else."""
    return re.sub(rb'(name="csrf[-_]token"[^>]*(?:value|content)=")[^"]+', rb"\1", response.data)


def _stable_headers(response) -> dict:
    """The headers less what changes from one second to the next (the date, the refreshed session cookie's
    signature and expiry): the two answers must not differ in anything else."""
    headers = {k: v for k, v in response.headers.items() if k not in ("Date", "Set-Cookie")}
    headers["Set-Cookie"] = sorted("; ".join([c.split("=", 1)[0]] + [a for a in c.split("; ")[1:]
                                                                      if not a.startswith("Expires=")])
                                   for c in response.headers.getlist("Set-Cookie"))
    return headers


def test_another_teams_case_looks_exactly_like_a_missing_case(app, services):
    theirs = start_case(services, "zuid", client_ref="ZU-9001")
    client = app.test_client()
    login(client, "professional")
    other_team = client.get(f"/zaken/{theirs}")
    missing = client.get("/zaken/987654")
    assert other_team.status_code == missing.status_code == 403
    assert _stable_body(other_team) == _stable_body(missing)
    assert "ZU-9001" not in other_team.text
    assert _stable_headers(other_team) == _stable_headers(missing)
    api_other, api_missing = client.get(f"/api/cases/{theirs}"), client.get("/api/cases/987654")
    assert api_other.status_code == api_missing.status_code == 403
    assert api_other.data == api_missing.data


def test_another_teams_task_looks_exactly_like_a_missing_task(app, services):
    theirs = open_task(services, start_case(services, "zuid", client_ref="ZU-9002"))
    client = app.test_client()
    token = login(client, "professional")
    for path in (f"/taken/{theirs.id}", "/taken/987654"):
        assert client.get(path).status_code == 403
    assert _stable_body(client.get(f"/taken/{theirs.id}")) == _stable_body(client.get("/taken/987654"))
    post = {"csrf_token": token, "signalen": "x"}
    assert _stable_body(client.post(f"/taken/{theirs.id}", data=post)) == \
        _stable_body(client.post("/taken/987654", data=post))
    assert open_task(services, theirs.case_id).state == "ready"  # untouched


def test_denied_attempts_are_audited_with_the_client_reference(app, services):
    theirs = start_case(services, "zuid", client_ref="ZU-9003")
    client = app.test_client()
    login(client, "professional")
    client.get(f"/zaken/{theirs}")
    client.get("/zaken/987654")
    denied = audit_rows(services, action="case.view", outcome="denied")
    assert [(e.actor, e.case_id, e.client_ref) for e in denied] == \
        [("professional", theirs, "ZU-9003"), ("professional", 987654, None)]
    assert all(e.at is not None and e.details["reason"] for e in denied)


def test_views_of_case_files_and_tasks_are_audited(app, services):
    case_id = start_case(services, "professional", client_ref="CL-5005")
    task = open_task(services, case_id)
    client = app.test_client()
    login(client, "professional")
    assert client.get(f"/zaken/{case_id}").status_code == 200
    assert client.get(f"/taken/{task.id}").status_code == 200
    [case_view] = audit_rows(services, action="case.view", outcome="success")
    [task_view] = audit_rows(services, action="task.view", outcome="success")
    for event in (case_view, task_view):
        assert (event.actor, event.client_ref, event.case_id) == ("professional", "CL-5005", case_id)
    assert task_view.task_id == task.id


def test_changes_are_audited(app, services):
    client = app.test_client()
    token = login(client, "professional")
    client.post("/zaken/nieuw", data={"csrf_token": token, "client_ref": "CL-6006", "aanleiding": "zorgen",
                                      "levensbedreigend": "nee"})
    [start] = audit_rows(services, action="case.start")
    task = open_task(services, start.case_id)
    client.post(f"/taken/{task.id}/claimen", data={"csrf_token": token})
    client.post(f"/taken/{task.id}", data={"csrf_token": token, "signalen": "feiten", "betreft_beroepskracht": "nee",
                                           "zorg": "midden", "datum_signalering": "2026-03-02"})
    actions = [(e.action, e.actor, e.client_ref) for e in audit_rows(services, case_id=start.case_id)]
    assert ("case.start", "professional", "CL-6006") in actions
    assert ("task.claim", "professional", "CL-6006") in actions
    assert ("task.complete", "professional", "CL-6006") in actions


def test_a_role_without_case_access_is_refused_even_in_its_own_team(app, services):
    case_id = start_case(services, "professional")
    client = app.test_client()
    login(client, "procesbeheerder")
    assert client.get(f"/zaken/{case_id}").status_code == 403
    assert client.get("/zaken").status_code == 403
    [event] = audit_rows(services, action="case.view", outcome="denied")
    assert event.actor == "procesbeheerder"


def test_the_inbox_lists_only_my_lanes_in_my_team(app, services):
    mine = start_case(services, "professional", client_ref="CL-1111")
    start_case(services, "zuid", client_ref="ZU-2222")
    client = app.test_client()
    login(client, "professional")
    page = client.get("/").text
    assert "CL-1111" in page and "ZU-2222" not in page
    login(other := app.test_client(), "aandachtsfunctionaris")
    assert "CL-1111" not in other.get("/").text  # Stap 1 is the professional's
    api = client.get("/api/tasks").json["tasks"]
    assert [t["case_id"] for t in api] == [mine]


def test_the_case_list_shows_only_my_team(app, services):
    start_case(services, "professional", client_ref="CL-3333")
    start_case(services, "zuid", client_ref="ZU-4444")
    client = app.test_client()
    login(client, "leidinggevende")
    page = client.get("/zaken").text
    assert "CL-3333" in page and "ZU-4444" not in page
    assert [c["client_ref"] for c in client.get("/api/cases").json["cases"]] == ["CL-3333"]


def test_a_team_member_without_the_lane_can_read_the_case_but_not_work_on_the_task(app, services):
    case_id = start_case(services, "professional")
    task = open_task(services, case_id)
    client = app.test_client()
    token = login(client, "leidinggevende")
    page = client.get(f"/zaken/{case_id}")
    assert page.status_code == 200
    assert f'href="/taken/{task.id}"' not in page.text  # shown, not linked
    assert client.get(f"/taken/{task.id}").status_code == 403
    assert client.post(f"/taken/{task.id}/claimen", data={"csrf_token": token}).status_code == 403
    assert user_of(services, "leidinggevende").team == "noord"


# -- need-to-know inside the engine, Veilig Thuis, beheerder, internal route, break-the-glass (issue 10 item 7) ----

NTK_DIAGRAMS = Path(__file__).resolve().parent / "ntk_diagrams"
SIGNALEN = "Blauwe plekken, gezien door de mentor"
CONSULTATIE = "Consultatie met de orthopedagoog"
MELDING = "Feiten van de melding aan Veilig Thuis"
ADVIESVRAAG = "Adviesvraag over de situatie thuis"
GLASS_REASON = "Collega met verlof, de cliënt belt vandaag in crisis"


@pytest.fixture
def ntk(services):
    """The need-to-know diagram deployed, and one user per role in team zuid (`zuid-<role>`)."""
    services.cases.deploy_directory(NTK_DIAGRAMS, "tester")
    for role in ROLES:
        accounts.create_user(services.sessions, f"zuid-{USERNAMES[role]}", PASSWORD, [role], OTHER_TEAM)
    return services


def start_ntk(services, username="professional", client_ref="CL-7001") -> int:
    user = user_of(services, username)
    return services.cases.start_case("ntk", client_ref, user.actor, team=user.team)


def complete(services, case_id, element_id, username, data):
    task = open_task(services, case_id, element_id)
    return services.cases.complete_task(task.id, user_of(services, username).actor, data)


def to_melding(services, case_id, *, advice=False):
    """Stap 1 (no colleague), [Veilig Thuis' advice], Stap 2 with a suspicion, and the melding."""
    complete(services, case_id, "stap1", "professional",
             {"signalen": SIGNALEN, "betreft_beroepskracht": False, "advies_veilig_thuis": advice})
    if advice:
        complete(services, case_id, "vt_advies", "veilig-thuis", {"adviesvraag": ADVIESVRAAG, "advies": "Melden"})
    complete(services, case_id, "stap2", "aandachtsfunctionaris", {"consultatie": CONSULTATIE, "vermoeden": True})
    complete(services, case_id, "melden", "professional", {"inhoud_melding": MELDING})


def test_the_engine_refuses_an_actor_of_another_team(app, ntk):
    case_id = start_ntk(ntk)
    task = open_task(ntk, case_id, "stap1")
    stranger = user_of(ntk, "zuid").actor  # a professional, the task's lane, but of team zuid
    engine = ntk.cases
    for attempt in (lambda: engine.case(case_id, stranger), lambda: engine.task(task.id, stranger),
                    lambda: engine.claim_task(task.id, stranger),
                    lambda: engine.complete_task(task.id, stranger, {"signalen": "x", "betreft_beroepskracht": False,
                                                                     "advies_veilig_thuis": False})):
        with pytest.raises(NotAllowedError):
            attempt()
    assert open_task(ntk, case_id, "stap1").state == "ready" and open_task(ntk, case_id).claimed_by is None
    denied = audit_rows(ntk, actor="zuid", outcome="denied")
    assert [e.action for e in denied] == ["case.view", "task.view", "task.claim", "task.complete"]
    assert all(e.case_id == case_id and e.client_ref == "CL-7001" for e in denied)
    assert not audit_rows(ntk, actor="zuid", outcome="success")


def test_veilig_thuis_sees_nothing_of_a_case_it_is_not_involved_in(app, ntk):
    case_id = start_ntk(ntk)
    complete(ntk, case_id, "stap1", "professional",
             {"signalen": SIGNALEN, "betreft_beroepskracht": False, "advies_veilig_thuis": False})
    client = app.test_client()
    login(client, "veilig-thuis")
    assert client.get(f"/zaken/{case_id}").status_code == 403
    assert client.get(f"/api/cases/{case_id}").status_code == 403
    assert client.get(f"/api/cases/{case_id}/diagram").status_code == 403
    assert "CL-7001" not in client.get("/zaken?status=alle").text
    assert client.get("/api/cases").json["cases"] == []
    with pytest.raises(NotAllowedError):
        ntk.cases.case(case_id, user_of(ntk, "veilig-thuis").actor)


def test_veilig_thuis_asked_for_advice_sees_its_own_part_only(app, ntk):
    from engine.models import CaseInvolvement

    case_id = start_ntk(ntk)
    complete(ntk, case_id, "stap1", "professional",
             {"signalen": SIGNALEN, "betreft_beroepskracht": False, "advies_veilig_thuis": True})
    with ntk.sessions() as session:  # recorded with the step that opened Veilig Thuis' task
        assert [(i.party, i.reason, i.element_id) for i in session.scalars(select(CaseInvolvement))] == \
            [("veilig_thuis", "advies", "vt_advies")]
    vt_task = open_task(ntk, case_id, "vt_advies")
    client = app.test_client()
    token = login(client, "veilig-thuis")
    assert [t["id"] for t in client.get("/api/tasks").json["tasks"]] == [vt_task.id]
    page = client.get(f"/zaken/{case_id}")
    assert page.status_code == 200 and "CL-7001" in page.text
    assert SIGNALEN not in page.text  # the team's own Stap 1 is not Veilig Thuis' business
    assert client.get(f"/taken/{vt_task.id}").status_code == 200
    assert client.post(f"/taken/{vt_task.id}", data={"csrf_token": token, "adviesvraag": ADVIESVRAAG,
                                                      "advies": "Bespreek het met de ouders"}).status_code == 302
    stap2 = open_task(ntk, case_id, "stap2")
    assert client.get(f"/taken/{stap2.id}").status_code == 403
    ntk.cases.complete_task(stap2.id, user_of(ntk, "aandachtsfunctionaris").actor,
                            {"consultatie": CONSULTATIE, "vermoeden": False})
    api = client.get(f"/api/cases/{case_id}").json
    assert api["access"] == "veilig_thuis"
    assert [h["element_id"] for h in api["history"]] == ["vt_advies"]
    assert api["history"][0]["data"]["adviesvraag"] == ADVIESVRAAG
    assert api["variables"] == {} and api["open_tasks"] == []
    assert SIGNALEN not in str(api) and CONSULTATIE not in str(api)
    page = client.get(f"/zaken/{case_id}").text
    assert ADVIESVRAAG in page and CONSULTATIE not in page and SIGNALEN not in page
    assert "alleen wat Veilig Thuis nodig heeft" in page
    [view] = audit_rows(ntk, actor="veilig-thuis", action="case.view", outcome="success")[-1:]
    assert view.details["access"] == "veilig_thuis"


def test_veilig_thuis_sees_the_facts_of_a_melding(app, ntk):
    from engine.models import CaseInvolvement

    case_id = start_ntk(ntk)
    to_melding(ntk, case_id)
    with ntk.sessions() as session:
        [involved] = session.scalars(select(CaseInvolvement))
        melden = session.scalar(select(CaseTask).where(CaseTask.element_id == "melden"))
    assert (involved.reason, involved.task_id) == ("melding", melden.id)
    client = app.test_client()
    login(client, "veilig-thuis")
    api = client.get(f"/api/cases/{case_id}").json
    assert [h["element_id"] for h in api["history"]] == ["melden"]
    assert api["milestones"] == ["melding_veilig_thuis"]
    page = client.get(f"/zaken/{case_id}").text
    assert MELDING in page and SIGNALEN not in page and CONSULTATIE not in page
    assert [c["id"] for c in client.get("/api/cases").json["cases"]] == [case_id]
    other = app.test_client()  # Veilig Thuis put in another team sees no case of this one
    login(other, "zuid-veilig-thuis")
    assert other.get(f"/zaken/{case_id}").status_code == 403


@pytest.mark.parametrize("username", ["beheerder", "zuid-beheerder"])
def test_the_beheerder_gets_metadata_only(app, ntk, username):
    case_id = start_ntk(ntk)
    to_melding(ntk, case_id, advice=True)
    client = app.test_client()
    login(client, username)
    page = client.get(f"/zaken/{case_id}")
    assert page.status_code == 200
    assert "CL-7001" in page.text and "Stap 2: collegiale consultatie" in page.text  # which step, by whom
    for content in (SIGNALEN, CONSULTATIE, MELDING, ADVIESVRAAG):
        assert content not in page.text
    assert "niet de inhoud" in page.text
    api = client.get(f"/api/cases/{case_id}").json
    assert api["access"] == "metadata" and api["variables"] == {}
    assert [h["element_id"] for h in api["history"]] == ["stap1", "vt_advies", "stap2", "melden"]
    assert all(h["data"] is None and h["completed_by"] and h["completed_at"] for h in api["history"])
    assert [t["element_id"] for t in api["open_tasks"]] == ["terugkoppeling"]
    assert client.get(f"/api/cases/{case_id}/diagram").status_code == 200
    assert [c["id"] for c in client.get("/api/cases").json["cases"]] == [case_id]
    task = open_task(ntk, case_id)
    assert client.get(f"/taken/{task.id}").status_code == 403
    assert client.get(f"/api/tasks/{task.id}").status_code == 403


def test_a_case_about_a_colleague_is_only_for_the_leidinggevende_and_the_aandachtsfunctionaris(app, ntk):
    case_id = start_ntk(ntk, client_ref="CL-7002")
    open_case = start_ntk(ntk, client_ref="CL-7003")
    complete(ntk, case_id, "stap1", "professional",
             {"signalen": SIGNALEN, "betreft_beroepskracht": True, "advies_veilig_thuis": False})
    accounts.create_user(ntk.sessions, "collega", PASSWORD, ["professional"], "noord")
    for username, allowed in (("professional", False), ("collega", False), ("veilig-thuis", False),
                              ("leidinggevende", True), ("aandachtsfunctionaris", True)):
        client = app.test_client()
        login(client, username)
        assert (client.get(f"/zaken/{case_id}").status_code == 200) == allowed, username
        assert (client.get(f"/api/cases/{case_id}").status_code == 200) == allowed, username
        listed = {c["client_ref"] for c in client.get("/api/cases").json.get("cases", [])}
        assert ("CL-7002" in listed) == allowed, username
        if username in ("professional", "collega", "leidinggevende", "aandachtsfunctionaris"):
            assert "CL-7003" in listed  # the team's other cases stay visible
    task = open_task(ntk, case_id, "interne_route_afhandelen")
    client = app.test_client()
    login(client, "leidinggevende")
    assert task.id in [t["id"] for t in client.get("/api/tasks").json["tasks"]]
    with pytest.raises(NotAllowedError):  # the reporter hands the case over (engine/access.py)
        ntk.cases.case(case_id, user_of(ntk, "professional").actor)
    assert open_case
    from engine.models import CaseRestriction

    with ntk.sessions() as session:  # recorded with the step that answered the question
        assert session.get(CaseRestriction, case_id).kind == "interne_route"


def test_break_the_glass_grants_audited_time_limited_access_reviewed_by_the_aandachtsfunctionaris(app, ntk):
    from engine.models import AccessGrant

    case_id = start_ntk(ntk, client_ref="CL-7004")
    to_melding(ntk, case_id)
    client = app.test_client()
    token = login(client, "zuid")  # a professional of the other team
    assert client.get(f"/zaken/{case_id}").status_code == 403
    assert "CL-7004" not in client.get("/zaken").text and "CL-7004" not in client.get("/").text
    assert client.get(f"/noodtoegang?zaak={case_id}").status_code == 200
    short = client.post("/noodtoegang", data={"csrf_token": token, "zaak": str(case_id), "reden": "nodig"})
    assert short.status_code == 422 and "minstens" in short.text
    no_csrf = client.post("/noodtoegang", data={"zaak": str(case_id), "reden": GLASS_REASON})
    assert no_csrf.status_code in (400, 403)
    missing = client.post("/noodtoegang", data={"csrf_token": token, "zaak": "987654", "reden": GLASS_REASON})
    assert missing.status_code == 422
    control = client.post("/noodtoegang", data={"csrf_token": token, "zaak": str(case_id),
                                                "reden": GLASS_REASON + "\x1b[2J"})
    assert control.status_code == 422 and "stuurteken" in control.text
    own = app.test_client()  # someone who may read the case already gets no grant
    own_token = login(own, "professional")
    already = own.post("/noodtoegang", data={"csrf_token": own_token, "zaak": str(case_id), "reden": GLASS_REASON})
    assert already.status_code == 302 and already.location.endswith(f"/zaken/{case_id}")
    with ntk.sessions() as session:
        assert session.scalars(select(AccessGrant)).all() == []
    granted = client.post("/noodtoegang", data={"csrf_token": token, "zaak": str(case_id), "reden": GLASS_REASON})
    assert granted.status_code == 302 and granted.location.endswith(f"/zaken/{case_id}")
    page = client.get(f"/zaken/{case_id}")
    assert page.status_code == 200 and MELDING in page.text and "met noodtoegang" in page.text
    [glass] = audit_rows(ntk, action="case.break_glass", outcome="success")
    assert (glass.actor, glass.case_id, glass.client_ref) == ("zuid", case_id, "CL-7004")
    assert glass.basis == "break-the-glass" and GLASS_REASON in glass.basis_detail
    [view] = audit_rows(ntk, actor="zuid", action="case.view", outcome="success")
    assert view.basis == "break-the-glass" and GLASS_REASON in view.basis_detail
    terugkoppeling = open_task(ntk, case_id, "terugkoppeling")  # acting is possible too, in the own lanes
    assert client.get(f"/taken/{terugkoppeling.id}").status_code == 200
    # and the case is in the lists while the grant lasts: the case list, and the task in the inbox
    assert "CL-7004" in client.get("/zaken").text
    assert f"/taken/{terugkoppeling.id}" in client.get("/").text

    reviewer = app.test_client()
    reviewer_token = login(reviewer, "aandachtsfunctionaris")  # of the case's team
    review = reviewer.get("/noodtoegang/controle")
    assert review.status_code == 200 and GLASS_REASON in review.text and "zuid" in review.text
    assert "dossier bekeken" in review.text and "taak bekeken" in review.text  # what was done with it
    with ntk.sessions() as session:
        grant_id = session.scalar(select(AccessGrant.id))
    outsider = app.test_client()
    outsider_token = login(outsider, "zuid-aandachtsfunctionaris")
    assert GLASS_REASON not in outsider.get("/noodtoegang/controle").text
    assert outsider.post(f"/noodtoegang/controle/{grant_id}", data={"csrf_token": outsider_token}).status_code == 403
    done = reviewer.post(f"/noodtoegang/controle/{grant_id}", data={"csrf_token": reviewer_token,
                                                                   "notitie": "Terecht, besproken"})
    assert done.status_code == 302
    with ntk.sessions() as session:
        grant = session.get(AccessGrant, grant_id)
        assert (grant.reviewed_by, grant.review_note) == ("aandachtsfunctionaris", "Terecht, besproken")
    assert audit_rows(ntk, action="case.break_glass.review", outcome="success")

    assert grant.expires_at - grant.granted_at == timedelta(hours=4)  # the default setting
    with clock.frozen_at(grant.expires_at + timedelta(seconds=1)):  # it expires by itself
        later = app.test_client()
        login(later, "zuid")
        assert later.get(f"/zaken/{case_id}").status_code == 403
        assert later.get(f"/taken/{terugkoppeling.id}").status_code == 403
        assert "CL-7004" not in later.get("/zaken?status=alle").text
        with pytest.raises(NotAllowedError):
            ntk.cases.case(case_id, user_of(ntk, "zuid").actor)


@pytest.mark.parametrize("username", ["zuid-veilig-thuis", "veilig-thuis", "beheerder", "procesbeheerder"])
def test_veilig_thuis_and_the_beheerder_cannot_break_the_glass(app, ntk, username):
    from engine import glass
    from engine.models import AccessGrant

    case_id = start_ntk(ntk, client_ref="CL-7005")
    client = app.test_client()
    token = login(client, username)
    assert client.post("/noodtoegang", data={"csrf_token": token, "zaak": str(case_id),
                                             "reden": GLASS_REASON}).status_code == 403
    with pytest.raises(NotAllowedError):
        glass.request_access(ntk.sessions, user_of(ntk, username).actor, case_id, GLASS_REASON)
    with ntk.sessions() as session:
        assert session.scalars(select(AccessGrant)).all() == []
    assert client.get(f"/zaken/{case_id}").status_code in (403, 200 if username == "beheerder" else 403)


def test_the_reporter_of_a_colleague_can_break_the_glass_on_the_internal_route(app, ntk):
    case_id = start_ntk(ntk, client_ref="CL-7006")
    complete(ntk, case_id, "stap1", "professional",
             {"signalen": SIGNALEN, "betreft_beroepskracht": True, "advies_veilig_thuis": False})
    client = app.test_client()
    token = login(client, "professional")
    assert client.get(f"/zaken/{case_id}").status_code == 403
    client.post("/noodtoegang", data={"csrf_token": token, "zaak": str(case_id), "reden": GLASS_REASON})
    assert client.get(f"/zaken/{case_id}").status_code == 200


# -- item 3: a page never fails on what is stored; an audited view that fails is audited as failed ----------------

def test_a_lone_surrogate_in_stored_data_is_shown_safely(app, services):
    case_id = start_case(services, "professional", client_ref="CL-8001")
    task = open_task(services, case_id)
    services.cases.complete_task(task.id, user_of(services, "professional").actor,
                                 {"signalen": "feiten", "betreft_beroepskracht": False, "zorg": "laag",
                                  "datum_signalering": "2026-02-03"})
    with services.sessions.begin() as session:  # as stored before input was checked (issue 10 item 3)
        session.execute(update(CaseTask).where(CaseTask.id == task.id).values(
            data={"signalen": "a\ud800b", "betreft_beroepskracht": False, "zorg": "laag\udfff",
                  "datum_signalering": "2026-02-03"}))
    client = app.test_client()
    login(client, "professional")
    page = client.get(f"/zaken/{case_id}")
    assert page.status_code == 200
    assert "a\ufffdb" in page.text
    api = client.get(f"/api/cases/{case_id}")
    assert api.status_code == 200
    assert [e.outcome for e in audit_rows(services, action="case.view", case_id=case_id)] == ["success", "success"]


def test_a_case_file_that_fails_to_render_is_audited_as_failed(app, services):
    from jinja2 import ChoiceLoader, DictLoader

    case_id = start_case(services, "professional", client_ref="CL-8002")
    app.jinja_env.loader = ChoiceLoader([DictLoader({"cases/show.html": "{{ case.id // 0 }}"}), app.jinja_env.loader])
    client = app.test_client()
    login(client, "professional")
    assert client.get(f"/zaken/{case_id}").status_code == 500
    [event] = audit_rows(services, action="case.view", case_id=case_id)
    assert (event.actor, event.outcome, event.client_ref) == ("professional", "error", "CL-8002")
    assert "ZeroDivisionError" in event.details["reason"]


def test_a_task_page_that_fails_to_render_is_audited_as_failed(app, services):
    from jinja2 import ChoiceLoader, DictLoader

    case_id = start_case(services, "professional", client_ref="CL-8003")
    task = open_task(services, case_id)
    app.jinja_env.loader = ChoiceLoader([DictLoader({"tasks/show.html": "{{ task.id // 0 }}"}), app.jinja_env.loader])
    client = app.test_client()
    login(client, "professional")
    assert client.get(f"/taken/{task.id}").status_code == 500
    failed = audit_rows(services, case_id=case_id, outcome="error")
    assert [(e.action, e.actor, e.task_id, e.client_ref) for e in failed] == \
        [("page.tasks.show", "professional", task.id, "CL-8003")]


def test_the_inbox_leads_to_break_the_glass_and_to_its_review(app, ntk):
    from engine import glass

    case_id = start_ntk(ntk, client_ref="CL-7007")
    client = app.test_client()
    login(client, "zuid")
    assert 'href="/noodtoegang"' in client.get("/").text
    glass.request_access(ntk.sessions, user_of(ntk, "zuid").actor, case_id, GLASS_REASON)
    reviewer = app.test_client()
    login(reviewer, "aandachtsfunctionaris")
    assert "1 keer noodtoegang" in reviewer.get("/").text
    for username in ("veilig-thuis", "beheerder"):
        other = app.test_client()
        login(other, username)
        assert 'href="/noodtoegang"' not in other.get("/").text


def test_lists_apply_the_same_policy_as_the_single_case_decision(app, ntk):
    """engine/access.py has the policy twice, as a decision and as SQL for lists: they must agree."""
    from engine import glass

    plain = start_ntk(ntk, client_ref="CL-7101")
    internal = start_ntk(ntk, client_ref="CL-7102")
    complete(ntk, internal, "stap1", "professional",
             {"signalen": SIGNALEN, "betreft_beroepskracht": True, "advies_veilig_thuis": False})
    advice = start_ntk(ntk, client_ref="CL-7103")
    complete(ntk, advice, "stap1", "professional",
             {"signalen": SIGNALEN, "betreft_beroepskracht": False, "advies_veilig_thuis": True})
    melding = start_ntk(ntk, client_ref="CL-7104")
    to_melding(ntk, melding)
    theirs = start_ntk(ntk, "zuid", client_ref="ZU-7105")
    glass.request_access(ntk.sessions, user_of(ntk, "zuid").actor, plain, GLASS_REASON)
    glass.request_access(ntk.sessions, user_of(ntk, "aandachtsfunctionaris").actor, theirs, GLASS_REASON)
    cases = [plain, internal, advice, melding, theirs]
    tasks = [t.id for t in ntk.cases.open_tasks()]
    usernames = [*USERNAMES.values(), *(f"zuid-{u}" for u in USERNAMES.values()), "zuid"]
    for username in usernames:
        actor = user_of(ntk, username).actor
        readable = {c for c in cases if ntk.cases.case_access(c, actor).allowed}
        assert {c.id for c in ntk.cases.list_cases(actor=actor)} == readable, username
        workable = {t for t in tasks if ntk.cases.task_with_access(t, actor)[1].allowed}
        assert {t.id for t in ntk.cases.open_tasks(actor=actor)} == workable, username
    expected = {"professional": {plain, advice, melding}, "leidinggevende": {plain, internal, advice, melding},
                "veilig-thuis": {advice, melding}, "beheerder": set(cases), "procesbeheerder": set(),
                "zuid": {theirs, plain}, "aandachtsfunctionaris": {plain, internal, advice, melding, theirs}}
    for username, readable in expected.items():
        assert {c.id for c in ntk.cases.list_cases(actor=user_of(ntk, username).actor)} == readable, username


@pytest.mark.parametrize("stored", [["een", "lijst"], "alleen tekst", 12, {"genest": {"diep": [1, {"x": None}]},
                                                                          "groot": 10 ** 30, "leeg": None,
                                                                          "signalen": "\x00\x07\u202e"}])
def test_odd_stored_answers_never_break_the_case_file(app, services, stored):
    case_id = start_case(services, "professional", client_ref="CL-8004")
    task = open_task(services, case_id)
    services.cases.complete_task(task.id, user_of(services, "professional").actor,
                                 {"signalen": "feiten", "betreft_beroepskracht": False, "zorg": "laag",
                                  "datum_signalering": "2026-02-03"})
    with services.sessions.begin() as session:  # as an older version or a manual repair may have left it
        session.execute(update(CaseTask).where(CaseTask.id == task.id).values(data=stored))
    client = app.test_client()
    login(client, "professional")
    assert client.get(f"/zaken/{case_id}").status_code == 200
    assert client.get(f"/api/cases/{case_id}").status_code == 200


def test_the_engine_shows_a_diagram_only_to_who_may_read_the_case(app, ntk):
    case_id = start_ntk(ntk, client_ref="CL-7008")
    assert ntk.cases.case_diagram(case_id, user_of(ntk, "beheerder").actor).active_elements == ["stap1"]
    with pytest.raises(NotAllowedError):
        ntk.cases.case_diagram(case_id, user_of(ntk, "zuid").actor)
    [denied] = audit_rows(ntk, action="case.diagram", outcome="denied")
    assert (denied.actor, denied.case_id, denied.client_ref) == ("zuid", case_id, "CL-7008")
