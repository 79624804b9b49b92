"""The shipped diagrams carry complete, legible BPMN diagram interchange (DI).

bpmn-js draws only what the DI describes: a flow node without a shape or a flow without an edge is invisible, and
overlapping shapes make the route unreadable. These tests check every .bpmn file in processes/.
"""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import pytest
from lxml import etree

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
FLOW_NODE_TAGS = (
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
    "callActivity", "subProcess", "transaction",
    "startEvent", "endEvent", "intermediateThrowEvent", "intermediateCatchEvent", "boundaryEvent",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
)


def _parse(path: Path):
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()


def _flow_nodes(root):
    query = " | ".join(f"//bpmn:process//bpmn:{tag}" for tag in FLOW_NODE_TAGS)
    return root.xpath(query, namespaces=NS)


def _shapes(root) -> dict:
    return {s.get("bpmnElement"): s for s in root.xpath("//bpmndi:BPMNShape", namespaces=NS)}


def _bounds(shape):
    b = shape.find("dc:Bounds", NS)
    assert b is not None, f"shape {shape.get('id')} has no dc:Bounds"
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def _describe(node) -> str:
    name = node.get("name")
    return f"{etree.QName(node).localname} '{node.get('id')}'" + (f" ({name})" if name else "")


def _may_overlap(a, b) -> bool:
    """A boundary event sits on its host's border, and a node may sit inside its (expanded) subprocess."""
    for x, y in ((a, b), (b, a)):
        if etree.QName(x).localname == "boundaryEvent" and x.get("attachedToRef") == y.get("id"):
            return True
        if y in x.iterancestors():
            return True
    return False


def test_there_are_diagrams():
    assert BPMN_FILES, f"no .bpmn files in {PROCESSES}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_flow_node_has_a_shape(path):
    root = _parse(path)
    shapes = _shapes(root)
    nodes = _flow_nodes(root)
    assert nodes, f"{path.name}: no flow nodes found"
    missing = [_describe(n) for n in nodes if n.get("id") not in shapes]
    assert not missing, f"{path.name}: flow nodes without a BPMNShape: {missing}"
    for node in nodes:
        x, y, w, h = _bounds(shapes[node.get("id")])
        assert w > 0 and h > 0, f"{path.name}: {_describe(node)} has an empty shape ({w}x{h})"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_sequence_flow_has_an_edge_with_waypoints(path):
    root = _parse(path)
    edges = {e.get("bpmnElement"): e for e in root.xpath("//bpmndi:BPMNEdge", namespaces=NS)}
    flows = root.xpath("//bpmn:sequenceFlow", namespaces=NS)
    assert flows, f"{path.name}: no sequence flows found"
    for flow in flows:
        fid = flow.get("id")
        where = f"{path.name}: sequenceFlow '{fid}' ({flow.get('sourceRef')} -> {flow.get('targetRef')})"
        assert fid in edges, f"{where} has no BPMNEdge"
        waypoints = edges[fid].findall("di:waypoint", NS)
        assert len(waypoints) >= 2, f"{where} has {len(waypoints)} waypoint(s); at least 2 are needed"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_lane_and_participant_has_a_shape(path):
    root = _parse(path)
    shapes = _shapes(root)
    lanes = root.xpath("//bpmn:lane", namespaces=NS)
    assert lanes, f"{path.name}: the process has no lanes"
    missing = [f"lane '{lane.get('id')}' ({lane.get('name')})" for lane in lanes if lane.get("id") not in shapes]
    missing += [f"participant '{p.get('id')}'" for p in root.xpath("//bpmn:participant", namespaces=NS)
                if p.get("id") not in shapes]
    assert not missing, f"{path.name}: without a BPMNShape: {missing}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_flow_node_lies_in_a_lane(path):
    root = _parse(path)
    in_lane = {ref.text.strip() for ref in root.xpath("//bpmn:lane/bpmn:flowNodeRef", namespaces=NS)}
    top_level = root.xpath(" | ".join(f"//bpmn:process/bpmn:{tag}" for tag in FLOW_NODE_TAGS), namespaces=NS)
    missing = [_describe(n) for n in top_level if n.get("id") not in in_lane]
    assert not missing, f"{path.name}: flow nodes in no lane: {missing}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_no_two_flow_node_shapes_overlap(path):
    root = _parse(path)
    shapes = _shapes(root)
    placed = [(n, _bounds(shapes[n.get("id")])) for n in _flow_nodes(root) if n.get("id") in shapes]
    overlaps = []
    for (a, (ax, ay, aw, ah)), (b, (bx, by, bw, bh)) in combinations(placed, 2):
        if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah and not _may_overlap(a, b):
            overlaps.append(f"{_describe(a)} and {_describe(b)}")
    assert not overlaps, f"{path.name}: overlapping shapes: {overlaps}"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_flow_node_shapes_lie_inside_their_lane(path):
    root = _parse(path)
    shapes = _shapes(root)
    for lane in root.xpath("//bpmn:lane", namespaces=NS):
        lx, ly, lw, lh = _bounds(shapes[lane.get("id")])
        for ref in lane.xpath("bpmn:flowNodeRef/text()", namespaces=NS):
            if ref.strip() not in shapes:
                continue  # reported by test_every_flow_node_has_a_shape
            x, y, w, h = _bounds(shapes[ref.strip()])
            assert lx <= x and x + w <= lx + lw and ly <= y and y + h <= ly + lh, (
                f"{path.name}: '{ref.strip()}' is drawn outside its lane '{lane.get('name')}'")
