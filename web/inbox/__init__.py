"""The inbox: the open tasks of my lanes in my team, most urgent first."""
from flask import Blueprint

bp = Blueprint("inbox", __name__)


@bp.record_once
def _wire_need_to_know(state) -> None:
    # WIRING (H5): the break-the-glass pages and safe page output belong in create_app (web/__init__.py, H3's
    # file); until they are moved there, the inbox's registration brings them along.
    from .. import safe_output
    from ..access import audit_failed_views
    from ..glass import bp as glass_bp

    safe_output.install(state.app)
    state.app.after_request(audit_failed_views)
    if "glass" not in state.app.blueprints:
        state.app.register_blueprint(glass_bp)


from . import views  # noqa: F401
