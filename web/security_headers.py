"""Security headers on every response (pages, API, errors, static files).

The CSP fits the bpmn-js viewer of the case file: its scripts are files of this site (no inline script, no
eval), the diagram's SVG carries inline style attributes (style-src-attr), and the QR code of the second
factor is an inline SVG data: image. Nothing may frame the app (clickjacking). HSTS is only sent when the
deployment says it is served over HTTPS (MELDCODE_HSTS_SECONDS), so the plain-http demo stays reachable.
"""
from __future__ import annotations

from flask import Flask, request

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "style-src-elem 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

FIXED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers without CSP frame-ancestors
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# Endpoints that set their own caching: files of the site, and a process version's diagram (no client data,
# never changes; web/cases/diagram_source.py)
UNCACHED = ("static", "vendor.asset", "cases.diagram_source")


def register(app: Flask, hsts_seconds: int) -> None:
    hsts = f"max-age={hsts_seconds}; includeSubDomains" if hsts_seconds > 0 else None

    @app.after_request
    def security_headers(response):
        response.headers["Content-Security-Policy"] = CSP
        for name, value in FIXED.items():
            response.headers[name] = value
        if hsts:
            response.headers["Strict-Transport-Security"] = hsts
        if request.endpoint not in UNCACHED:
            # Pages carry client data: never keep them in a shared or browser cache.
            response.headers["Cache-Control"] = "no-store"
        return response
