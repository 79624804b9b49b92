"""Flask extensions, bound to the app in `create_app` with `init_app`."""
from __future__ import annotations

from flask import request
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from .auth.identity import Anonymous

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Meld u aan om verder te gaan."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"
login_manager.anonymous_user = Anonymous


@login_manager.user_loader
def load_user_from_session(user_id: str):
    """Only while the session's server-side record is open (sign-out and "overal afmelden" revoke it)."""
    from flask import session

    from .auth import service
    from .services import services

    try:
        ident, version = (int(part) for part in str(user_id).split(":", 1))
    except ValueError:
        return None
    return service.load_session_user(services().sessions, session.get("sid"), ident, version,
                                     idle_minutes=services().settings.idle_timeout_minutes)


@login_manager.request_loader
def load_user_from_bearer_token(req):
    """API clients: `Authorization: Bearer mc_...` (only under /api/)."""
    from .auth import service
    from .services import services

    if not request.path.startswith("/api/"):
        return None
    header = req.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return service.user_for_token(services().sessions, secret.strip())


@login_manager.unauthorized_handler
def unauthorized():
    from flask import flash, redirect, url_for

    from . import current_path, error_response

    if request.path.startswith("/api/"):
        return error_response(401)
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for("auth.login", next=current_path()))
