"""The shipped afwegingskader table gives the contract's decision for every combination of its inputs.

contract.md: melden_nodig = acute_onveiligheid or disclosure or structurele_onveiligheid or not hulp_mogelijk or
not meewerken; besluit is afsluiten without vermoeden, else melden_en_hulp when melden_nodig and help is possible and
accepted, else melden when melden_nodig, else hulp. The table is run through SpiffWorkflow's DMN engine, as a case
runs it.
"""
from __future__ import annotations

from itertools import product

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tests.conftest import PROJECT
from tests.decision_caller import decision_caller

DMN = PROJECT / "processes" / "afwegingskader.dmn"
INPUTS = ("vermoeden", "acute_onveiligheid", "disclosure", "structurele_onveiligheid", "hulp_mogelijk", "meewerken")
CALLER = decision_caller("afwegingskader")


def contract_besluit(vermoeden, acute_onveiligheid, disclosure, structurele_onveiligheid, hulp_mogelijk, meewerken):
    if not vermoeden:
        return "afsluiten"
    melden_nodig = acute_onveiligheid or disclosure or structurele_onveiligheid or not hulp_mogelijk or not meewerken
    if melden_nodig and hulp_mogelijk and meewerken:
        return "melden_en_hulp"
    return "melden" if melden_nodig else "hulp"


@pytest.fixture(scope="module")
def spec():
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(CALLER.encode(), filename="caller.bpmn")
    parser.add_dmn_file(str(DMN))
    return parser.get_spec("caller")


def test_the_table_reads_disclosure():
    root = etree.parse(str(DMN)).getroot()
    texts = [t.text for t in root.iter("{*}text") if t.getparent().tag.endswith("inputExpression")]
    assert sorted(texts) == sorted(INPUTS)


def test_the_hit_policy_says_what_the_overlapping_rules_do():
    table = next(etree.parse(str(DMN)).getroot().iter("{*}decisionTable"))
    assert table.get("hitPolicy") == "FIRST"


@pytest.mark.parametrize("values", list(product([False, True], repeat=len(INPUTS))),
                         ids=lambda v: "".join("1" if x else "0" for x in v))
def test_every_combination_gives_the_contract_decision(spec, values):
    workflow = BpmnWorkflow(spec)
    workflow.get_tasks()[0].data.update(dict(zip(INPUTS, values)))
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data["besluit"] == contract_besluit(*values)
