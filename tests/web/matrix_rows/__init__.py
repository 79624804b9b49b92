"""Rows of the authorization matrix (test_authorization_matrix.py), one module per area: `ROWS = {(endpoint,
method): rule}` using that module's rule constants (PUBLIC, SIGNED_IN, CASE_READERS, frozensets of roles)."""
