"""Every route × every role: who may use what (the rules: tests/web/authorization/*.toml). A route missing from
the rules fails the suite.

PUBLIC: anyone, signed in or not. SIGNED_IN: any signed-in user. A set of roles: only users with one of those
roles (each test user has exactly one role, in team `noord`); everyone else gets 403, and anonymous users are
sent to the sign-in page (HTML) or get 401 (API). Case and task routes are exercised on a case of team `noord`
whose open task lies in the `professional` lane and in which Veilig Thuis is not involved.

Need-to-know (issue 10 item 7) is part of every row: the matrix is run once more with a user of every role in
the other team (`zuid-<role>`). On a route about one case, task or break-the-glass grant (CASE_BOUND) a user of
another team is refused, and so is Veilig Thuis without involvement, also in its own team; the beheerder gets
such routes as far as ROUTES allows it, in any team, and sees metadata only there (test_need_to_know.py).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from web.roles import ROLES

from .conftest import OTHER_TEAM, PASSWORD, USERNAMES, csrf_from, login, open_task, start_case, user_of

PUBLIC = "public"
SIGNED_IN = "signed in"
# Route arguments that name one case (directly or through a task or a break-the-glass grant).
CASE_BOUND = frozenset({"case_id", "task_id", "grant_id"})
SCOPES = {"beheerder": "metadata"}  # what a case file shows (engine/access.py); everyone else allowed: "full"

# Named role sets the rule files may use.
ROLE_SETS = {
    "case readers": frozenset({"professional", "aandachtsfunctionaris", "leidinggevende", "veilig_thuis", "beheerder"}),
    "team lanes": frozenset({"professional", "aandachtsfunctionaris", "leidinggevende"}),
}
RULE_FILES = Path(__file__).parent / "authorization"


# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _rule(value: str | list[str]) -> str | frozenset[str]:
    if isinstance(value, list):
        assert set(value) <= set(ROLES), f"unknown roles in {value}"
        return frozenset(value)
    assert value in (PUBLIC, SIGNED_IN) or value in ROLE_SETS, f"unknown rule {value!r}"
    return ROLE_SETS.get(value, value)


def read_routes() -> dict[tuple[str, str], str | frozenset[str]]:
    """The rows of every rule file in RULE_FILES: one per area, so that areas built side by side edit one file each."""
    routes: dict[tuple[str, str], str | frozenset[str]] = {}
    for path in sorted(RULE_FILES.glob("*.toml")):
        rows = tomllib.loads(path.read_text(encoding="utf-8"))["routes"]
        for key, value in rows.items():
            endpoint, method = key.split()
            assert (endpoint, method) not in routes, f"{path.name} repeats {key!r}"
            routes[endpoint, method] = _rule(value)
    return routes


ROUTES = read_routes()

FILENAMES = {"static": "app.css", "vendor.asset": "bpmn-navigated-viewer.production.min.js",
             "studio.vendor_asset": "bpmn-js/assets/bpmn-js.css"}


def routes_of(app) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_in_the_matrix(app):
    missing = routes_of(app) - set(ROUTES)
    assert not missing, f"routes without an authorization rule in ROUTES: {sorted(missing)}"
    stale = set(ROUTES) - routes_of(app)
    assert not stale, f"ROUTES lists routes the app does not have: {sorted(stale)}"


def _url(app, endpoint: str, ids: dict) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {"filename": FILENAMES.get(endpoint), **ids}
    # An id the test did not create (a note, an attachment) is 1: a missing object is a 404, which still shows
    # whether the role got past the authorization check (403) or not.
    return app.url_map.bind("localhost").build(endpoint, {k: values.get(k, 1) for k in rule.arguments})


def _request(client, method: str, url: str, token: str | None):
    if method == "GET":
        return client.get(url)
    if url.startswith("/api/"):
        return client.post(url, json={"data": {}} if "/tasks/" in url else {},
                           headers={"X-CSRFToken": token} if token else {})
    return client.post(url, data={"csrf_token": token} if token else {})


def _outcome(response) -> str:
    if response.status_code == 403:
        return "denied"
    location = response.location or ""
    if response.status_code == 401 or (response.status_code == 302 and location.split("?")[0].endswith("/inloggen")
                                       and "afgemeld=1" not in location):
        return "login"
    return "allowed"


def _expected(rule, role: str | None, *, case_bound: bool = False, other_team: bool = False) -> str:
    if rule == PUBLIC:
        return "allowed"
    if role is None:
        return "login"
    want = "allowed" if rule == SIGNED_IN or role in rule else "denied"
    if want == "allowed" and case_bound and role != "beheerder" and (other_team or role == "veilig_thuis"):
        return "denied"  # another team's case; Veilig Thuis is not involved in this one
    return want


def _case_bound(app, endpoint: str) -> bool:
    return any(r.arguments & CASE_BOUND for r in app.url_map.iter_rules() if r.endpoint == endpoint)


def test_authorization_matrix(app, services):
    from engine import glass
    from web.auth import service as accounts

    case_id = start_case(services, "professional")
    task = open_task(services, case_id, "stap1")
    for role in ROLES:
        accounts.create_user(services.sessions, f"zuid-{USERNAMES[role]}", PASSWORD, [role], OTHER_TEAM)
    grant = glass.request_access(services.sessions, user_of(services, "zuid").actor, case_id,
                                 "Matrix: noodtoegang voor de controlelijst")
    ids = {"case_id": case_id, "task_id": task.id, "token_id": 1, "notification_id": 1, "event": "verhuisd",
           "grant_id": grant.id}
    users = [(role, USERNAMES[role] if role else None, False) for role in (None, *ROLES)] + \
        [(role, f"zuid-{USERNAMES[role]}", True) for role in ROLES]
    # One signed-in client per user, reused across routes; a POST to an auth route may end or change its
    # session (sign-out, end sessions, enrolment), so that user signs in afresh for the next route.
    signed_in: dict[str | None, tuple] = {}

    def client_of(username: str | None) -> tuple:
        if username not in signed_in:
            client = app.test_client()
            token = login(client, username) if username else csrf_from(client.get("/inloggen").text)
            signed_in[username] = (client, token)
        return signed_in[username]

    wrong = []
    for (endpoint, method), rule in sorted(ROUTES.items()):
        url = _url(app, endpoint, ids)
        bound = _case_bound(app, endpoint)
        for role, username, other_team in users:
            client, token = client_of(username)
            response = _request(client, method, url, token)
            if method == "POST" and endpoint.startswith("auth."):
                signed_in.pop(username)
            got, want = _outcome(response), _expected(rule, role, case_bound=bound, other_team=other_team)
            if got == "allowed" and endpoint == "api.case" and response.json["access"] != SCOPES.get(role, "full"):
                wrong.append(f"GET {url} as {username}: access {response.json['access']!r}")
            if got != want:
                wrong.append(f"{method} {url} as {username or 'anonymous'} ({role}): {got} ({response.status_code}),"
                             f" expected {want}")
    assert not wrong, "authorization matrix violated:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_a_task_in_another_lane_is_refused_to_all_but_that_lane(app, services, role):
    """The same routes on the aandachtsfunctionaris' task: only that lane may open, claim or complete it."""
    case_id = start_case(services, "professional")
    stap1 = open_task(services, case_id, "stap1")
    professional = services.cases  # complete Stap 1 so that Stap 2 (aandachtsfunctionaris) opens
    from .conftest import user_of
    professional.complete_task(stap1.id, user_of(services, "professional").actor,
                               {"signalen": "x", "betreft_beroepskracht": False, "zorg": "laag",
                                "datum_signalering": "2026-01-05"})
    stap2 = open_task(services, case_id, "stap2")
    client = app.test_client()
    token = login(client, USERNAMES[role])
    allowed = role == "aandachtsfunctionaris"
    for response in (client.get(f"/taken/{stap2.id}"),
                     client.post(f"/taken/{stap2.id}/claimen", data={"csrf_token": token}),
                     client.get(f"/api/tasks/{stap2.id}")):
        assert (response.status_code != 403) == allowed, (role, response.request.path, response.status_code)
