"""Sign-in in two steps (password, then the TOTP code when set up), sign-out, the account page with the
second factor, open sessions, password and API tokens, and the beheerder's token overview."""
from __future__ import annotations

import time
from functools import wraps

from flask import abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from engine import clock
from engine.cases import Actor

from ..services import services
from . import bp, mfa, service
from . import sessions as user_sessions
from .forms import CodeForm, EmptyForm, LoginForm, PasswordForm, TokenForm
from .redirects import safe_next

PENDING_SECONDS = 300  # the second step must follow the password within five minutes
# Reachable while a required second factor is not set up yet (everything else sends there first).
ENROLMENT_ENDPOINTS = frozenset({"auth.account", "auth.mfa_begin", "auth.mfa_confirm", "auth.logout",
                                 "auth.keepalive", "auth.login", "auth.second_factor", "auth.end_all_sessions",
                                 "static", "vendor.asset", "health"})


def _client_ip() -> str:
    return request.remote_addr or "?"


def _audit(actor, action: str, outcome: str = "success", **details) -> None:
    services().cases.record_access(actor, action, outcome=outcome, ip=request.remote_addr, **details)


def _start_session(user, *, mfa_verified: bool, next_url: str | None):
    """Open a server-side session for `user` in a fresh cookie (no fixation) and go on."""
    settings = services().settings
    secret, _ = user_sessions.start(services().sessions, user.id, lifetime_minutes=settings.session_lifetime_minutes,
                                    ip=request.remote_addr, user_agent=request.headers.get("User-Agent"),
                                    mfa_verified=mfa_verified)
    session.clear()
    session["sid"] = secret
    login_user(user)
    session.permanent = True
    session["login_at"] = session["seen_at"] = time.time()
    _audit(user.actor, "auth.login", second_factor=mfa_verified)
    return redirect(next_url or url_for("inbox.index"))


def _end_this_session(reason: str) -> None:
    user_sessions.revoke_secret(services().sessions, session.get("sid"), reason)
    logout_user()
    session.clear()


def mfa_setup_pending(user) -> bool:
    return (services().settings.mfa_required and user.is_authenticated and not user.via_token
            and not user.mfa_enabled and not user.mfa_exempt)


@bp.before_app_request
def require_second_factor():
    """MELDCODE_MFA_REQUIRED: a signed-in account without a second factor can only set one up (or sign out)."""
    if request.endpoint in ENROLMENT_ENDPOINTS or not services().settings.mfa_required:
        return None
    user = current_user
    if not user.is_authenticated or user.mfa_exempt:
        return None
    if user.via_token:
        if not user.mfa_enabled:
            return jsonify(error="mfa_required", message="Stel eerst tweestapsverificatie in op de accountpagina."), 403
        return None
    if not user.mfa_enabled:
        if request.path.startswith("/api/"):
            return jsonify(error="mfa_required", message="Stel eerst tweestapsverificatie in op de accountpagina."), 403
        flash("Stel eerst tweestapsverificatie in. Daarna kunt u verder.", "info")
        return redirect(url_for("auth.account"))
    return None


@bp.route("/inloggen", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    status = 200
    error = None
    if form.validate_on_submit():
        settings = services().settings
        username = service.normalise_username(form.username.data)
        result = service.sign_in(services().sessions, username, form.password.data, _client_ip(),
                                 max_failures=settings.login_max_failures,
                                 window_seconds=settings.login_window_seconds)
        if result.user is not None:
            next_url = safe_next(form.next.data)
            if result.user.mfa_enabled:
                session.clear()
                session["mfa_pending"] = {"uid": result.user.id, "v": result.user.session_version,
                                          "at": time.time(), "next": next_url}
                _audit(result.user.actor, "auth.password", outcome="success", next_step="second factor")
                return redirect(url_for("auth.second_factor"))
            return _start_session(result.user, mfa_verified=False, next_url=next_url)
        actor = Actor(username[:100] or "(leeg)")
        if result.rate_limited:
            status = 429
            error = "Te veel mislukte pogingen. Wacht een minuut en probeer het dan opnieuw."
            _audit(actor, "auth.login", outcome="denied", reason="rate limited")
        else:
            status = 401
            error = "Onbekende gebruikersnaam of onjuist wachtwoord."
            _audit(actor, "auth.login", outcome="denied", reason="wrong credentials")
    elif request.method == "POST":
        status = 400
    signed_out = request.method == "GET" and request.args.get("afgemeld") == "1"
    return render_template("auth/login.html", form=form, error=error, signed_out=signed_out), status


def _pending_user():
    pending = session.get("mfa_pending")
    if not isinstance(pending, dict) or time.time() - float(pending.get("at") or 0) > PENDING_SECONDS:
        return None, None
    try:
        user = service.load_user(services().sessions, int(pending["uid"]), int(pending["v"]))
    except (KeyError, TypeError, ValueError):
        return None, None
    return user, pending


@bp.route("/inloggen/code", methods=["GET", "POST"])
def second_factor():
    """Step two: the code from the authenticator app, or one of the recovery codes."""
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    user, pending = _pending_user()
    if user is None or not user.mfa_enabled:
        session.pop("mfa_pending", None)
        flash("Meld u opnieuw aan.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status, error = 200, None
    if form.validate_on_submit():
        settings = services().settings
        if not service.second_factor_allowed(services().sessions, user.id, _client_ip(),
                                             max_failures=settings.login_max_failures,
                                             window_seconds=settings.login_window_seconds):
            status, error = 429, "Te veel onjuiste codes. Wacht een minuut en probeer het dan opnieuw."
            _audit(user.actor, "auth.second_factor", outcome="denied", reason="rate limited")
        else:
            kind = mfa.check(services().sessions, service.HASHER, user.id, form.code.data)
            if kind is not None:
                service.second_factor_passed(services().sessions, user.id)
                _audit(user.actor, "auth.second_factor", outcome="success", kind=kind)
                response = _start_session(user, mfa_verified=True, next_url=pending.get("next"))
                if kind == "recovery":  # after the fresh session started, or the message is lost
                    left = mfa.remaining_recovery_codes(services().sessions, user.id)
                    flash(f"U heeft een herstelcode gebruikt; er zijn er nog {left} over.", "warning")
                return response
            status, error = 401, "Deze code klopt niet of is al gebruikt."
            _audit(user.actor, "auth.second_factor", outcome="denied", reason="wrong code")
    elif request.method == "POST":
        status = 400
    return render_template("auth/second_factor.html", form=form, error=error), status


@bp.post("/afmelden")
def logout():
    """Sign out (harmless when not signed in, so it needs no sign-in itself). Ends the session on the server."""
    if current_user.is_authenticated and EmptyForm().validate_on_submit():
        _audit(current_user.actor, "auth.logout")
        _end_this_session("signed out")
    return redirect(url_for("auth.login", afgemeld=1))


@bp.get("/sessie")
@login_required
def keepalive():
    """Called by the task page while someone is typing, so a long text does not outlive the idle timeout."""
    return "", 204


def _account_page(status: int = 200, **extra):
    s = services()
    context = {
        "tokens": service.list_tokens(s.sessions, current_user.id),
        "open_sessions": user_sessions.list_open(s.sessions, current_user.id,
                                                 idle_minutes=s.settings.idle_timeout_minutes),
        "recovery_left": mfa.remaining_recovery_codes(s.sessions, current_user.id) if current_user.mfa_enabled
        else None,
        "mfa_required": s.settings.mfa_required, "token_days": s.settings.token_days,
        "form": TokenForm(), "empty_form": EmptyForm(), "password_form": PasswordForm(), "code_form": CodeForm(),
        "new_token": None, "enrolment": None, "recovery_codes": None, "token_expiry": service.token_expiry,
        "now": clock.now(),
    }
    context.update(extra)
    return render_template("auth/account.html", **context), status


@bp.get("/account")
@login_required
def account():
    return _account_page()


def _account_form(form_class, name: str):
    """A form posted from the account page: the view gets it valid; otherwise the page again, with its errors
    (400), under `name` in the page's context."""
    def decorate(view):
        @wraps(view)
        def checked():
            form = form_class()
            if not form.validate_on_submit():
                return _account_page(400, **{name: form})
            return view(form)
        return checked
    return decorate


def _require_button_form() -> None:
    """A form of only a button: it carries nothing but its CSRF token, which must check out."""
    if not EmptyForm().validate_on_submit():
        abort(400)


# -- second factor ------------------------------------------------------------------------------
@bp.errorhandler(mfa.MfaError)
def mfa_step_refused(exc: mfa.MfaError):
    """A step of setting up the second factor that does not fit its state (already on, not begun): said on the
    account page, nothing changed."""
    flash(str(exc), "warning")
    return redirect(url_for("auth.account"))


@bp.post("/account/tweestapsverificatie")
@login_required
def mfa_begin():
    """Make a new secret and show it once, as a QR code and as text (never again after this response)."""
    _require_button_form()
    secret, uri = mfa.begin_enrolment(services().sessions, current_user.id)
    _audit(current_user.actor, "auth.mfa_enrolment", outcome="started")
    return _account_page(enrolment={"secret": secret, "qr": mfa.qr_data_uri(uri)})


@bp.post("/account/tweestapsverificatie/bevestigen")
@login_required
@_account_form(CodeForm, "code_form")
def mfa_confirm(form: CodeForm):
    settings = services().settings
    if not service.second_factor_allowed(services().sessions, current_user.id, _client_ip(),
                                         max_failures=settings.login_max_failures,
                                         window_seconds=settings.login_window_seconds):
        flash("Te veel onjuiste codes. Wacht een minuut en begin dan opnieuw.", "error")
        return _account_page(429)
    codes = mfa.confirm_enrolment(services().sessions, service.HASHER, current_user.id, form.code.data,
                                  keep_session_id=current_user.session_id)
    if codes is None:
        flash("Die code klopt niet. Begin opnieuw en scan de nieuwe QR-code.", "error")
        _audit(current_user.actor, "auth.mfa_enrolment", outcome="denied", reason="wrong code")
        return _account_page(400)
    service.mark_session_verified(services().sessions, current_user.session_id)
    service.second_factor_passed(services().sessions, current_user.id)
    _audit(current_user.actor, "auth.mfa_enrolment", outcome="success")
    # The identity of this request predates the change; the page must already show the new state.
    return _account_page(mfa_enabled_now=True, recovery_codes=codes, recovery_left=len(codes))


@bp.post("/account/herstelcodes")
@login_required
def mfa_recovery_codes():
    _require_button_form()
    codes = mfa.new_recovery_codes(services().sessions, service.HASHER, current_user.id)
    _audit(current_user.actor, "auth.recovery_codes", outcome="success")
    return _account_page(recovery_codes=codes, recovery_left=len(codes))


# -- sessions ---------------------------------------------------------------------------------------
@bp.post("/account/sessies/beeindigen")
@login_required
def end_session():
    """End one of the user's own sessions (the id comes with the form; another user's id does nothing)."""
    _require_button_form()
    try:
        session_id = int(request.form.get("session_id", ""))
    except ValueError:
        session_id = None
    if session_id is not None and session_id == current_user.session_id:
        _audit(current_user.actor, "auth.logout")
        _end_this_session("signed out")
        return redirect(url_for("auth.login", afgemeld=1))
    if session_id is not None and user_sessions.revoke(services().sessions, current_user.id, session_id,
                                                       "ended by user"):
        _audit(current_user.actor, "auth.session_end", session_id=session_id)
        flash("Die sessie is beëindigd.", "success")
    else:
        flash("Die sessie bestaat niet of is al beëindigd.", "warning")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessies/overal-afmelden")
@login_required
def end_all_sessions():
    """"Overal afmelden": every session of this user ends, this one too."""
    _require_button_form()
    actor = current_user.actor
    count = service.end_sessions(services().sessions, current_user.username)
    _audit(actor, "auth.logout_everywhere", sessions=count)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login", afgemeld=1))


@bp.post("/account/wachtwoord")
@login_required
@_account_form(PasswordForm, "password_form")
def change_password(form: PasswordForm):
    try:
        service.change_own_password(services().sessions, current_user.id, form.current.data, form.new.data,
                                    current_user.session_id)
    except service.AccountError as exc:
        getattr(form, exc.field or "new").errors = [str(exc)]
        return _account_page(400, password_form=form)
    _audit(current_user.actor, "auth.password_change")
    flash("Uw wachtwoord is gewijzigd. Uw andere sessies en uw API-tokens zijn beëindigd.", "success")
    return redirect(url_for("auth.account"))


# -- API tokens -------------------------------------------------------------------------------------
def _may_make_tokens() -> bool:
    """A token outlives the session, so it is made only by a session that passed the second factor — or by
    an account that is not asked for one (demo users; MFA not required and not set up)."""
    user = current_user
    if user.mfa_verified or user.mfa_exempt:
        return True
    return not user.mfa_enabled and not services().settings.mfa_required


@bp.post("/account/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not _may_make_tokens():
        flash("Een API-token maakt u na aanmelden met tweestapsverificatie.", "error")
        return _account_page(403)
    new_token = None
    status = 400
    if form.validate_on_submit():
        label = form.label.data.strip()
        new_token = service.create_token(services().sessions, current_user.username, label,
                                         services().settings.token_days)
        _audit(current_user.actor, "api_token.create", label=label)
        form = TokenForm(formdata=None)
        status = 201
    # The secret is shown in this response only (never flashed: the session cookie is not secret).
    return _account_page(status, form=form, new_token=new_token)


def _revoke_token(token_id: int, owner_id: int | None, back: str, **audit_details):
    """Revoke a token of `owner_id` (None: of anyone, for the beheerder) and go back to the page `back`."""
    if EmptyForm().validate_on_submit() and service.revoke_token(services().sessions, owner_id, token_id):
        _audit(current_user.actor, "api_token.revoke", token_id=token_id, **audit_details)
        flash("Het token is ingetrokken.", "success")
    else:
        flash("Dit token bestaat niet of is al ingetrokken.", "warning")
    return redirect(url_for(back))


@bp.post("/account/tokens/<int:token_id>/intrekken")
@login_required
def revoke_token(token_id: int):
    return _revoke_token(token_id, current_user.id, "auth.account")


# -- beheerder: every user's tokens -----------------------------------------------------------------
def beheerder_only(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if "beheerder" not in current_user.roles or current_user.via_token:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


@bp.get("/beheer/tokens")
@beheerder_only
def admin_tokens():
    tokens = service.all_tokens(services().sessions)
    return render_template("auth/admin_tokens.html", tokens=tokens, empty_form=EmptyForm(), now=clock.now())


@bp.post("/beheer/tokens/<int:token_id>/intrekken")
@beheerder_only
def admin_revoke_token(token_id: int):
    return _revoke_token(token_id, None, "auth.admin_tokens", by_beheerder=True)
