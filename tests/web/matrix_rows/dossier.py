"""Issue 13 (H2b): notes, attachments and the dossier export on a case file: the team lanes with full access to
the case (engine/access.py); not the beheerder (metadata only), not Veilig Thuis (another organisation)."""
from ..test_authorization_matrix import TEAM_LANES

ROWS = {
    ("cases.add_note", "POST"): TEAM_LANES,
    ("cases.add_attachment", "POST"): TEAM_LANES,
    ("cases.download_attachment", "GET"): TEAM_LANES,  # attachment 1 does not exist: 404 for those allowed
    ("cases.dossier", "GET"): TEAM_LANES,
    ("cases.dossier_pdf", "GET"): TEAM_LANES,
}
