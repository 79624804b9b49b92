"""Issue 13 (H4): the team dashboards, for the aandachtsfunctionaris and the leidinggevende (counts of their own
team only, whichever team they are in)."""
from ..test_authorization_matrix import AANDACHTSFUNCTIONARIS

DASHBOARD_ROLES = AANDACHTSFUNCTIONARIS | {"leidinggevende"}

ROWS = {
    ("dashboards.index", "GET"): DASHBOARD_ROLES,
    ("dashboards.export", "GET"): DASHBOARD_ROLES,
}
