from __future__ import annotations

import time

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from engine.cases import Actor

from ..services import services
from . import bp, service
from .forms import EmptyForm, LoginForm, TokenForm


def safe_next(target: str | None) -> str | None:
    """Only local paths, so the sign-in page cannot send people to another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target


@bp.route("/inloggen", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("inbox.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    status = 200
    error = None
    if form.validate_on_submit():
        settings = services().settings
        username = service.normalise_username(form.username.data)
        result = service.sign_in(services().sessions, username, form.password.data, request.remote_addr or "?",
                                 max_failures=settings.login_max_failures,
                                 window_seconds=settings.login_window_seconds)
        if result.user is not None:
            next_url = safe_next(form.next.data)
            session.clear()  # a fresh session on sign-in (no fixation)
            login_user(result.user)
            session.permanent = True
            session["login_at"] = session["seen_at"] = time.time()
            services().cases.record_access(result.user.actor, "auth.login", outcome="success",
                                           ip=request.remote_addr)
            return redirect(next_url or url_for("inbox.index"))
        actor = Actor(username[:100] or "(leeg)")
        if result.rate_limited:
            status = 429
            error = "Te veel mislukte pogingen. Wacht een minuut en probeer het dan opnieuw."
            services().cases.record_access(actor, "auth.login", outcome="denied", reason="rate limited",
                                           ip=request.remote_addr)
        else:
            status = 401
            error = "Onbekende gebruikersnaam of onjuist wachtwoord."
            services().cases.record_access(actor, "auth.login", outcome="denied", reason="wrong credentials",
                                           ip=request.remote_addr)
    elif request.method == "POST":
        status = 400
    signed_out = request.method == "GET" and request.args.get("afgemeld") == "1"
    return render_template("auth/login.html", form=form, error=error, signed_out=signed_out), status


@bp.post("/afmelden")
def logout():
    """Sign out (harmless when not signed in, so it needs no sign-in itself)."""
    if current_user.is_authenticated and EmptyForm().validate_on_submit():
        services().cases.record_access(current_user.actor, "auth.logout", outcome="success")
        logout_user()
        session.clear()
    return redirect(url_for("auth.login", afgemeld=1))


@bp.get("/sessie")
@login_required
def keepalive():
    """Called by the task page while someone is typing, so a long text does not outlive the idle timeout."""
    return "", 204


@bp.get("/account")
@login_required
def account():
    tokens = service.list_tokens(services().sessions, current_user.id)
    return render_template("auth/account.html", tokens=tokens, form=TokenForm(), revoke_form=EmptyForm(),
                           new_token=None)


@bp.post("/account/tokens")
@login_required
def create_token():
    form = TokenForm()
    new_token = None
    status = 400
    if form.validate_on_submit():
        new_token = service.create_token(services().sessions, current_user.username, form.label.data.strip())
        services().cases.record_access(current_user.actor, "api_token.create", outcome="success",
                                       label=form.label.data.strip())
        form = TokenForm(formdata=None)
        status = 201
    tokens = service.list_tokens(services().sessions, current_user.id)
    # The secret is shown in this response only (never flashed: the session cookie is not secret).
    return render_template("auth/account.html", tokens=tokens, form=form, revoke_form=EmptyForm(),
                           new_token=new_token), status


@bp.post("/account/tokens/<int:token_id>/intrekken")
@login_required
def revoke_token(token_id: int):
    if EmptyForm().validate_on_submit() and service.revoke_token(services().sessions, current_user.id, token_id):
        services().cases.record_access(current_user.actor, "api_token.revoke", outcome="success",
                                       token_id=token_id)
        flash("Het token is ingetrokken.", "success")
    else:
        flash("Dit token bestaat niet of is al ingetrokken.", "warning")
    return redirect(url_for("auth.account"))
