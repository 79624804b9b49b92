"""Authorization rows of the task page's drafts (issue 13, H3): whoever may work on the task (its lane, its team)."""
from __future__ import annotations

from ..test_authorization_matrix import PROFESSIONAL

ROWS = {
    ("tasks.save_draft", "POST"): PROFESSIONAL,  # the matrix' task lies in the professional's lane
    ("tasks.discard_draft", "POST"): PROFESSIONAL,
}
