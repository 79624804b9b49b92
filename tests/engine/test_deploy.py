"""Deploying diagrams: safe parsing, clear errors naming file and element, nothing stored on failure."""
from __future__ import annotations

import socket
import threading

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine.errors import DiagramError
from engine.models import AuditEvent, Deployment, ProcessVersion
from engine.xmlsafe import make_parser, parse_xml
from tests.conftest import TEST_DIAGRAMS


def files_of_test_diagrams() -> dict[str, bytes]:
    return {p.relative_to(TEST_DIAGRAMS).as_posix(): p.read_bytes()
            for p in TEST_DIAGRAMS.rglob("*") if p.is_file()}


def with_replaced(filename: str, old: str, new: str) -> dict[str, bytes]:
    files = files_of_test_diagrams()
    text = files[filename].decode()
    assert old in text, "test set-up: the text to replace must exist"
    files[filename] = text.replace(old, new).encode()
    return files


def count(case_engine, model) -> int:
    with case_engine.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_deploy_creates_one_version_per_process(case_engine):
    versions = case_engine.deploy_directory(TEST_DIAGRAMS, "procesbeheerder")
    assert {(v.process_id, v.version, v.created) for v in versions} == {("lus", 1, True), ("voorbeeld", 1, True)}
    with case_engine.sessions() as session:
        pv = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "voorbeeld")).one()
        assert pv.deployed_by == "procesbeheerder" and len(pv.content_hash) == 64
        assert set(pv.forms) == {"wegen.json", "terugkoppeling.json"}
        actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("process.deploy") == 2


def test_identical_content_twice_is_a_noop(case_engine):
    case_engine.deploy_directory(TEST_DIAGRAMS, "a")
    again = case_engine.deploy_directory(TEST_DIAGRAMS, "b")
    assert all(not v.created and v.version == 1 for v in again)
    assert count(case_engine, ProcessVersion) == 2
    assert count(case_engine, Deployment) == 1


def test_changed_diagram_gets_next_version_and_others_stay(case_engine):
    case_engine.deploy_directory(TEST_DIAGRAMS, "a")
    files = with_replaced("voorbeeld.bpmn", 'name="Wegen"', 'name="Signalen wegen"')
    versions = {v.process_id: v for v in case_engine.deploy_files(files, "b")}
    assert (versions["voorbeeld"].version, versions["voorbeeld"].created) == (2, True)
    assert (versions["lus"].version, versions["lus"].created) == (1, False)


def assert_rejected(case_engine, files, filename, element_id, reason_part):
    with pytest.raises(DiagramError) as info:
        case_engine.deploy_files(files, "a")
    err = info.value
    assert err.filename == filename
    assert err.element_id == element_id
    assert reason_part in err.reason, err.reason
    assert count(case_engine, ProcessVersion) == 0 and count(case_engine, Deployment) == 0


def test_malformed_xml_is_rejected(case_engine):
    files = with_replaced("voorbeeld.bpmn", "</bpmn:process>", "</bpmn:proces>")
    assert_rejected(case_engine, files, "voorbeeld.bpmn", None, "malformed XML")


def test_xxe_attempt_is_rejected_without_reading_the_file(case_engine):
    files = files_of_test_diagrams()
    files["voorbeeld.bpmn"] = files["voorbeeld.bpmn"].decode().replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>').replace(
        "Weeg de signalen.", "&x;").encode()
    assert_rejected(case_engine, files, "voorbeeld.bpmn", None, "DOCTYPE")


def test_billion_laughs_is_rejected(case_engine):
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    files = files_of_test_diagrams()
    files["voorbeeld.bpmn"] = files["voorbeeld.bpmn"].decode().replace(
        '<?xml version="1.0" encoding="UTF-8"?>', f'<?xml version="1.0"?><!DOCTYPE d [{lol}]>').replace(
        "Weeg de signalen.", "&l9;").encode()
    assert_rejected(case_engine, files, "voorbeeld.bpmn", None, "DOCTYPE")


def test_oversized_file_is_rejected(case_engine, settings):
    files = files_of_test_diagrams()
    files["voorbeeld.bpmn"] += b" " * settings.max_diagram_bytes
    assert_rejected(case_engine, files, "voorbeeld.bpmn", None, "limit")


def test_unknown_bpmn_element_fails_the_schema(case_engine):
    files = with_replaced("voorbeeld.bpmn", '<bpmn:endEvent id="afgesloten"/>',
                          '<bpmn:endEvent id="afgesloten"/><bpmn:flyingTask id="x"/>')
    with pytest.raises(DiagramError) as info:
        case_engine.deploy_files(files, "a")
    assert info.value.filename == "voorbeeld.bpmn" and "flyingTask" in info.value.reason
    assert count(case_engine, ProcessVersion) == 0


def test_broken_gateway_condition_names_the_flow(case_engine):
    files = with_replaced("voorbeeld.bpmn", "vermoeden == True", "vermoeden == = True")
    assert_rejected(case_engine, files, "voorbeeld.bpmn", "f_ja", "condition rejected")


@pytest.mark.parametrize("script", ["import os", "().__class__.__mro__", "open('/etc/passwd')",
                                    "exec('1')", "x = eval('1')"])
def test_dangerous_script_is_rejected_at_deploy(case_engine, script):
    files = with_replaced("lus.bpmn", "<bpmn:script>rondes = 0</bpmn:script>", f"<bpmn:script>{script}</bpmn:script>")
    assert_rejected(case_engine, files, "lus.bpmn", "init", "script rejected")


def test_missing_form_schema_is_rejected(case_engine):
    files = files_of_test_diagrams()
    del files["forms/evaluatie.json"]
    assert_rejected(case_engine, files, "lus.bpmn", "evalueren", "forms/evaluatie.json does not exist")


def test_invalid_form_schema_is_rejected(case_engine):
    files = files_of_test_diagrams()
    files["forms/evaluatie.json"] = b'{"type": "object", "properties": {"x": {"type": "bogus"}}}'
    assert_rejected(case_engine, files, "forms/evaluatie.json", None, "not a valid JSON Schema")


def test_user_task_outside_a_lane_is_rejected(case_engine):
    files = with_replaced("lus.bpmn", "<bpmn:flowNodeRef>evalueren</bpmn:flowNodeRef>", "")
    assert_rejected(case_engine, files, "lus.bpmn", "evalueren", "not in a lane")


def test_unknown_function_in_a_timer_is_rejected_at_deploy(case_engine):
    files = with_replaced("voorbeeld.bpmn", ">werkdagen(5)<", ">werkdagn(5)<")
    assert_rejected(case_engine, files, "voorbeeld.bpmn", "te_laat_timer", "'werkdagn' is not allowed")


@pytest.mark.parametrize("script, named", [
    ("rondes = rondes + onbekend", ("onbekend", "tel")),
    # passes the deploy check (a plain name) but the sandbox's size guard refuses it while running
    ("rondes = rondes + 1\nx = 'a' * 10 ** 9", ()),
])
def test_script_failing_at_run_time_fails_the_step_and_changes_nothing(case_engine, professional, script, named):
    from engine.errors import CaseFailure
    from engine.models import Case

    files = with_replaced("lus.bpmn", "<bpmn:script>rondes = rondes + 1</bpmn:script>", f"<bpmn:script>{script}</bpmn:script>")
    case_engine.deploy_files(files, "a")
    case_id = case_engine.start_case("lus", "CL-S1", professional)
    task = case_engine.open_tasks(case_id=case_id)[0]
    with case_engine.sessions() as session:
        before = session.get(Case, case_id).row_version
    with pytest.raises(CaseFailure) as info:
        case_engine.complete_task(task.id, professional, {"duurzame_veiligheid": True})
    assert all(word in str(info.value) for word in named)
    with case_engine.sessions() as session:
        assert session.get(Case, case_id).row_version == before
    assert [t.id for t in case_engine.open_tasks(case_id=case_id)] == [task.id]


def test_cli_upgrade_and_deploy_on_a_fresh_sqlite_file(tmp_path):
    """`meldcode db upgrade` + `meldcode deploy processes/` on a database whose folder does not exist yet."""
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT

    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'nieuw' / 'meldcode.sqlite3'}"}

    def meldcode(*args):
        return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                              cwd=PROJECT, env=env, timeout=120)

    upgraded = meldcode("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    deployed = meldcode("deploy", "processes/")
    assert deployed.returncode == 0, deployed.stderr
    assert "meldcode v1 deployed" in deployed.stdout and "kindcheck v1 deployed" in deployed.stdout
    again = meldcode("deploy", "processes/")
    assert "meldcode v1 unchanged" in again.stdout
    broken = tmp_path / "kapot"
    broken.mkdir()
    (broken / "x.bpmn").write_text("<bpmn:definitions")
    failed = meldcode("deploy", str(broken))
    assert failed.returncode == 1 and "x.bpmn: malformed XML" in failed.stderr


def scenario_for(expect_milestone: str) -> tuple[str, dict]:
    return ("geen_vermoeden.json", {"name": "geen vermoeden", "process": "voorbeeld",
                                    "answers": {"vermoeden": False, "toelichting": "x"},
                                    "expect": {"milestones_include": [expect_milestone], "state": "completed"}})


def test_a_change_whose_scenarios_fail_is_not_deployed(case_engine):
    with pytest.raises(DiagramError) as info:
        case_engine.deploy_directory(TEST_DIAGRAMS, "a", scenarios=[scenario_for("melding_veilig_thuis")])
    assert info.value.filename == "geen_vermoeden.json"
    assert "scenario 'geen vermoeden' fails" in info.value.reason and "melding_veilig_thuis" in info.value.reason
    assert count(case_engine, ProcessVersion) == 0


def test_a_change_whose_scenarios_pass_is_deployed_and_unchanged_content_skips_them(case_engine):
    versions = case_engine.deploy_directory(TEST_DIAGRAMS, "a", scenarios=[scenario_for("afgesloten")])
    assert {v.process_id for v in versions if v.created} == {"lus", "voorbeeld"}
    # Nothing changes: the (now failing) scenario is not even run, and nothing is refused.
    again = case_engine.deploy_directory(TEST_DIAGRAMS, "a", scenarios=[scenario_for("melding_veilig_thuis")])
    assert not any(v.created for v in again)


def test_cli_deploy_refuses_a_diagram_change_that_breaks_a_scenario(tmp_path):
    import json
    import os
    import shutil
    import subprocess
    import sys

    from tests.conftest import PROJECT

    diagrams = tmp_path / "processes"
    shutil.copytree(TEST_DIAGRAMS, diagrams)
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    name, scenario = scenario_for("afgesloten")
    (scenarios / name).write_text(json.dumps(scenario))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    def meldcode(*args):
        return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True,
                              cwd=PROJECT, env=env, timeout=120)

    assert meldcode("db", "upgrade").returncode == 0
    ok = meldcode("deploy", str(diagrams), "--scenarios", str(scenarios))
    assert ok.returncode == 0, ok.stderr
    # A process owner flips the gateway: "no suspicion" would now lead to a melding.
    bpmn = diagrams / "voorbeeld.bpmn"
    bpmn.write_text(bpmn.read_text().replace("vermoeden == True", "vermoeden == False"))
    refused = meldcode("deploy", str(diagrams), "--scenarios", str(scenarios))
    assert refused.returncode == 1
    assert "geen_vermoeden.json" in refused.stderr and "fails against this deployment" in refused.stderr


# --- issue 10 item 8: encodings, the parser's own hardening, read-only conditions -----------------------------



@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_diagram_gives_a_clear_error(case_engine, encoding):
    files = files_of_test_diagrams()
    text = files["voorbeeld.bpmn"].decode().replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    files["voorbeeld.bpmn"] = text.encode(encoding)
    assert_rejected(case_engine, files, "voorbeeld.bpmn", None, "not UTF-8")


def test_declared_non_utf8_encoding_is_rejected(case_engine):
    files = with_replaced("voorbeeld.bpmn", 'encoding="UTF-8"', 'encoding="ISO-8859-1"')
    assert_rejected(case_engine, files, "voorbeeld.bpmn", None, "diagrams must be UTF-8")


def test_utf8_with_byte_order_mark_is_accepted(case_engine):
    files = files_of_test_diagrams()
    files["voorbeeld.bpmn"] = b"\xef\xbb\xbf" + files["voorbeeld.bpmn"]
    assert {v.process_id for v in case_engine.deploy_files(files, "a")} == {"lus", "voorbeeld"}


def test_other_deployed_files_must_be_utf8_too(case_engine):
    files = files_of_test_diagrams()
    files["notes.txt"] = "opmerking".encode("utf-16")
    assert_rejected(case_engine, files, "notes.txt", None, "not UTF-8")


def test_utf16_doctype_that_the_byte_check_cannot_see_is_refused():
    xxe = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    with pytest.raises(DiagramError):
        parse_xml(xxe.encode("utf-16"), "x.bpmn", 10_000)


XXE = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'


def test_parser_does_not_resolve_external_entities():
    # The DOCTYPE refusal in parse_xml runs first, so the parser's own hardening is tested on its own here.
    unsafe = etree.fromstring(XXE, etree.XMLParser(resolve_entities=True, load_dtd=True))
    assert "root:" in etree.tostring(unsafe).decode()  # control: a default-ish parser reads the file
    safe = etree.fromstring(XXE, make_parser())
    assert "root:" not in etree.tostring(safe).decode()
    assert [type(node).__name__ for node in safe] == ["_Entity"]  # kept as a reference, then refused


def test_parser_does_not_expand_entity_bombs():
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb = f'<?xml version="1.0"?><!DOCTYPE d [{lol}]><d>&l9;</d>'.encode()
    try:
        root = etree.fromstring(bomb, make_parser())
    except etree.XMLSyntaxError:
        return  # libxml2's amplification limit refused it
    assert len(etree.tostring(root)) < 1000


def test_parser_does_not_load_external_dtds(tmp_path):
    dtd = tmp_path / "x.dtd"
    dtd.write_text('<!ENTITY x "uit de DTD">')
    document = f'<?xml version="1.0"?><!DOCTYPE d SYSTEM "{dtd.as_uri()}"><d>&x;</d>'.encode()
    unsafe = etree.fromstring(document, etree.XMLParser(load_dtd=True))
    assert "uit de DTD" in etree.tostring(unsafe).decode()  # control: loading it is what is prevented
    try:
        safe = etree.fromstring(document, make_parser())
    except etree.XMLSyntaxError:
        return
    assert "uit de DTD" not in etree.tostring(safe).decode()


def test_parser_does_not_touch_the_network():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    connections = []

    def accept():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        connections.append(connection)
        connection.close()

    thread = threading.Thread(target=accept)
    thread.start()
    document = (f'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:{port}/x.dtd">'
                f'<d>&x;</d>').encode()
    try:
        try:
            etree.fromstring(document, make_parser())
        except etree.XMLSyntaxError:
            pass
    finally:
        thread.join()
        listener.close()
    assert connections == []


def test_parser_refuses_huge_trees():
    deep = b"<a>" * 300 + b"</a>" * 300
    etree.fromstring(deep, etree.XMLParser(huge_tree=True))  # control: valid XML
    with pytest.raises(etree.XMLSyntaxError, match="depth"):
        etree.fromstring(deep, make_parser())
    with pytest.raises(etree.XMLSyntaxError, match="too long"):
        etree.fromstring(b"<a>" + b"x" * 20_000_000 + b"</a>", make_parser())


def test_deep_diagram_gives_a_clear_error():
    with pytest.raises(DiagramError, match="malformed XML.*depth"):
        parse_xml(b"<a>" * 300 + b"</a>" * 300, "diep.bpmn", 10_000)


def test_condition_that_changes_case_data_is_rejected_at_deploy(case_engine):
    files = with_replaced("voorbeeld.bpmn", "vermoeden == True", "signalen.append(1) is None")
    assert_rejected(case_engine, files, "voorbeeld.bpmn", "f_ja", "would change case data")


def test_script_may_still_append(case_engine):
    files = with_replaced("lus.bpmn", "<bpmn:script>rondes = 0</bpmn:script>",
                          "<bpmn:script>rondes = 0\nlog = []\nlog.append(rondes)</bpmn:script>")
    assert {v.process_id for v in case_engine.deploy_files(files, "a")} == {"lus", "voorbeeld"}
