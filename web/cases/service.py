"""Use cases of the case pages, shared by the HTML views and the JSON API."""
from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import CaseFailure, EngineError, NotFoundError, ValidationError

from ..services import Services

# A pseudonymous reference (a client number), never a name: letters, digits and . _ / -, with a digit.
CLIENT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{2,39}$")
MAX_REASON = 500


class StartError(Exception):
    def __init__(self, errors: dict[str, list[str]], message: str | None = None):
        self.errors = errors
        self.message = message
        super().__init__(message or str(errors))


@dataclass(frozen=True)
class StartRequest:
    client_ref: str
    aanleiding: str
    levensbedreigend: bool | None


def check_start(req: StartRequest) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    ref = (req.client_ref or "").strip()
    if not ref:
        errors["client_ref"] = ["Vul het cliëntkenmerk in."]
    elif not CLIENT_REF.match(ref) or not any(c.isdigit() for c in ref):
        errors["client_ref"] = ["Gebruik een pseudoniem kenmerk, bijvoorbeeld het cliëntnummer (3–40 letters en "
                                "cijfers, minstens één cijfer, geen spaties) — nooit een naam."]
    reason = (req.aanleiding or "").strip()
    if not reason:
        errors["aanleiding"] = ["Beschrijf kort de aanleiding."]
    elif len(reason) > MAX_REASON:
        errors["aanleiding"] = [f"Houd de aanleiding kort (hoogstens {MAX_REASON} tekens)."]
    if req.levensbedreigend is None:
        errors["levensbedreigend"] = ["Geef aan of er sprake is van een acute, levensbedreigende situatie."]
    return errors


def start_case(services: Services, user, req: StartRequest) -> int:
    """Start the configured process for the user's team. Raises StartError with Dutch messages."""
    errors = check_start(req)
    if errors:
        raise StartError(errors)
    process = services.settings.start_process
    data = {"levensbedreigend": bool(req.levensbedreigend), "aanleiding": req.aanleiding.strip()}
    try:
        case_id = services.cases.start_case(process, req.client_ref.strip(), user.actor, team=user.team, data=data)
    except NotFoundError:
        detail = f" De laatste poging gaf: {services.deploy_error}" if services.deploy_error else ""
        raise StartError({}, f"Het proces ‘{process}’ is niet beschikbaar: het is nog niet gedeployed. Vraag de "
                             f"procesbeheerder om `meldcode deploy processes/` uit te voeren.{detail}") from None
    except ValidationError as exc:
        raise StartError({k: ["Ongeldige waarde."] for k in exc.errors}) from None
    except CaseFailure as exc:
        raise StartError({}, f"Het proces kon niet starten: {exc}. Er is niets opgeslagen; meld dit aan de "
                             "procesbeheerder.") from None
    answer_first_task(services, user, case_id, data)
    return case_id


def answer_first_task(services: Services, user, case_id: int, data: dict) -> bool:
    """The start form asks what the route's first task asks (Stap 0 of the meldcode): a question is asked once.

    When the case's only open task asks nothing but what the start form answered, it is completed with those
    answers, by the person who started the case (audited as any completion). When it asks more, or cannot be
    completed now, it simply stays in the inbox: nothing is lost either way."""
    tasks = services.cases.open_tasks(case_id=case_id)
    if len(tasks) != 1:
        return False
    try:
        task = services.cases.task(tasks[0].id, user.actor, audit_read=False)
        fields = set((task.form_schema or {}).get("properties", {}))
        if not fields or not fields <= set(data):
            return False
        services.cases.complete_task(task.id, user.actor, {name: data[name] for name in fields})
    except EngineError:
        return False
    return True


def parse_yes_no(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("ja", "true", "1"):
        return True
    if value in ("nee", "false", "0"):
        return False
    return None
