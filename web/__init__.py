"""The professionals' web app: sign-in, inbox, task forms, case file with live diagram, JSON API.

`create_app(config=None)` builds the app (flaskr's shape: one blueprint per area, extensions bound
with `init_app`). `config` may hold Flask settings and, for tests and the CLI:
  MELDCODE_WEB_SETTINGS     a `web.settings.WebSettings` (default: from the environment)
  MELDCODE_ENGINE_SETTINGS  an `engine.settings.Settings` (default: from the environment)
  MELDCODE_DB_ENGINE        a SQLAlchemy engine to share (default: one made from DATABASE_URL)
  DATABASE_URL              overrides the engine settings' database URL
The schema is not created here: run `meldcode db upgrade` (the demo `run` command does it).
"""
from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import notifications
from engine.cases import CaseEngine
from engine.db import make_engine, make_sessionmaker
from engine.settings import Settings

from . import labels, safe_output, security_headers
from .access import audit_failed_views
from .extensions import csrf, login_manager
from .markdown import render_markdown
from .services import Services
from .settings import WebSettings


def create_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    web_settings: WebSettings = config.pop("MELDCODE_WEB_SETTINGS", None) or WebSettings.from_env()
    engine_settings: Settings = config.pop("MELDCODE_ENGINE_SETTINGS", None) or Settings.from_env()
    if config.get("DATABASE_URL"):
        engine_settings = engine_settings.replace(database_url=config["DATABASE_URL"])
    db = config.pop("MELDCODE_DB_ENGINE", None) or make_engine(engine_settings.database_url)

    app = Flask(__name__, instance_path=str(web_settings.instance_dir))
    secret_key = config.get("SECRET_KEY") or web_settings.secret_key
    if not secret_key:
        raise RuntimeError("SECRET_KEY is not set: export SECRET_KEY (a long random string) before starting the "
                           "web app; the demo command `meldcode run` makes one in instance/secret_key")
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_NAME="meldcode_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=web_settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=web_settings.session_lifetime_minutes),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=web_settings.session_cookie_secure,
        # A CSRF token lives as long as the session: a long form must not fail after an hour of writing.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=True,
        MAX_CONTENT_LENGTH=1_000_000,
    )
    app.json.sort_keys = False
    app.config.update(config)
    if web_settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=web_settings.proxy_hops, x_proto=web_settings.proxy_hops)

    sessions = make_sessionmaker(db)
    app.extensions["meldcode"] = Services(
        settings=web_settings, engine_settings=engine_settings, db=db, sessions=sessions,
        cases=CaseEngine(sessions, engine_settings),
        notifications=notifications.inbox_provider(sessions, tz=engine_settings.timezone))

    login_manager.init_app(app)
    csrf.init_app(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auditlog import bp as auditlog_bp
    from .auth import bp as auth_bp
    from .cases import bp as cases_bp
    from .dashboards import bp as dashboards_bp
    from .glass import bp as glass_bp
    from .inbox import bp as inbox_bp
    from .studio import bp as studio_bp
    from .tasks import bp as tasks_bp
    from .vendor import bp as vendor_bp

    for blueprint in (auth_bp, inbox_bp, cases_bp, tasks_bp, api_bp, vendor_bp, auditlog_bp, admin_bp, glass_bp,
                      studio_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(dashboards_bp)
    csrf.exempt(api_bp)  # the API checks CSRF itself for cookie sessions; bearer tokens need none

    _register_template_helpers(app, engine_settings.timezone)
    _register_session_timeouts(app, web_settings)
    security_headers.register(app, web_settings.hsts_seconds)
    safe_output.install(app)  # a page never fails on what is stored (lone surrogates and the like)
    app.after_request(audit_failed_views)  # a read of case data that fails is audited as failed
    _register_error_pages(app)

    @app.get("/gezondheid")
    def health():
        """Health for load balancers and compose checks: the app answers and reaches its database."""
        try:
            with db.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return jsonify(status="database unavailable"), 503
        return jsonify(status="ok")

    return app


def current_path() -> str | None:
    """Where to come back to after signing in (GET pages only)."""
    if request.method != "GET":
        return None
    return request.full_path.rstrip("?")


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _register_template_helpers(app: Flask, tz: str) -> None:
    from engine import clock

    app.jinja_env.filters.update(
        datum_tijd=lambda value: labels.format_datetime(value, tz),
        datum=labels.format_date,
        rol=labels.role_label,
        mijlpaal=labels.milestone_label,
        status=labels.status_label,
        markdown=render_markdown,
    )
    app.jinja_env.globals.update(due_phrase=lambda due: labels.due_phrase(due, clock.now(), tz))

    @app.context_processor
    def globals_for_pages():
        services = app.extensions["meldcode"]
        return {"now": clock.now(), "deploy_error": services.deploy_error,
                "start_roles": services.settings.start_roles}


def _timestamp(value) -> float:
    """A time kept in the cookie; anything odd counts as long ago (the session ends, no 500)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _register_session_timeouts(app: Flask, settings: WebSettings) -> None:
    """End a session after `idle_timeout_minutes` without requests or `session_lifetime_minutes` in all."""

    @app.before_request
    def enforce_session_timeouts():
        if request.endpoint in ("static", "vendor.asset", "health") or "_user_id" not in session:
            return None
        now = time.time()
        login_at = _timestamp(session.get("login_at"))
        seen_at = _timestamp(session.get("seen_at"))
        expired = (now - login_at > settings.session_lifetime_minutes * 60
                   or now - seen_at > settings.idle_timeout_minutes * 60)
        if expired:
            from .auth import sessions as user_sessions

            user_sessions.revoke_secret(app.extensions["meldcode"].sessions, session.get("sid"), "expired")
            logout_user()
            session.clear()
            if _is_api():
                return jsonify(error="session_expired", message="Uw sessie is verlopen; meld u opnieuw aan."), 401
            flash("Uw sessie is verlopen. Meld u opnieuw aan.", "warning")
            return redirect(url_for("auth.login", next=current_path()))
        if now - seen_at > 15:
            session["seen_at"] = now
        return None


ERROR_TEXTS = {
    400: ("Ongeldig verzoek", "Het verzoek kon niet worden verwerkt."),
    401: ("Niet aangemeld", "Meld u eerst aan."),
    403: ("Geen toegang", "U heeft geen toegang tot deze pagina, of de pagina bestaat niet."),
    404: ("Niet gevonden", "Deze pagina bestaat niet."),
    405: ("Niet toegestaan", "Deze handeling is hier niet mogelijk."),
    413: ("Te groot", "De verstuurde gegevens zijn te groot."),
    429: ("Te veel pogingen", "Te veel pogingen in korte tijd. Wacht een minuut en probeer het opnieuw."),
    500: ("Er ging iets mis", "Er ging iets mis bij het verwerken. Er is niets gewijzigd; probeer het opnieuw."),
}
API_ERRORS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              413: "too_large", 429: "too_many_requests", 500: "server_error"}


def error_response(code: int, message: str | None = None):
    title, text = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    if _is_api():
        response = jsonify(error=API_ERRORS.get(code, "error"), message=message or text)
        if code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="meldcode"'
        return response, code
    return render_template("errors/error.html", code=code, title=title, message=message or text, minimal=True), code


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return error_response(400, "Het formulier is verlopen of ongeldig (beveiligingscontrole). Er is niets "
                                   "opgeslagen. Ga terug, vernieuw de pagina en probeer het opnieuw.")

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code in ERROR_TEXTS:
            return error_response(error.code)
        return error

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500)
