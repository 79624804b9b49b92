"""Issue 13 (H2a): ownership, handover and corrections on the case file.

The handover page is for the team lanes with full access to the case; handing over the case is for its responsible
professional (in the matrix the professional who started it) and the team's leidinggevende; handing over the
matrix's open task (professional lane, unclaimed) for who may work in its lane and the leidinggevende. A correction
is for who may work in the step's lane (the matrix's task is in the professional lane; it is still open, so the
allowed user is sent back to the case file).
"""
from ..test_authorization_matrix import PROFESSIONAL, TEAM_LANES

HOLDERS = frozenset({"professional", "leidinggevende"})

ROWS = {
    ("cases.handover_form", "GET"): TEAM_LANES,
    ("cases.handover_case", "POST"): HOLDERS,
    ("cases.handover_task", "POST"): HOLDERS,
    ("cases.correction", "GET"): PROFESSIONAL,
    ("cases.correction", "POST"): PROFESSIONAL,
}
