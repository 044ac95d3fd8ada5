"""Login endpoints: ``/services/oauth2/token``, ``/services/oauth2/revoke``, SOAP ``login()`` and the identity URL."""

from __future__ import annotations

import typing as t

from connector.sandbox.http import Request, Response, Router
from connector.sandbox.salesforce.auth import parse_soap_login, soap_fault, soap_login_response
from connector.sandbox.salesforce.errors import OAuthError, not_found

if t.TYPE_CHECKING:
    from connector.sandbox.salesforce.app import SalesforceApp

__all__ = ["register"]

_XML = {"Content-Type": "text/xml;charset=UTF-8"}


def register(router: Router, app: SalesforceApp) -> None:
    """Add the login routes."""

    @router.route("POST", "/services/oauth2/token")
    def token(request: Request) -> Response:
        if "application/x-www-form-urlencoded" not in request.header("content-type", "application/x-www-form-urlencoded"):
            raise OAuthError("invalid_request", "must use HTTP POST with a form-encoded body")
        form = request.form()
        form.update({k: v[0] for k, v in request.query.items() if k not in form and v})
        return Response.json(app.token_endpoint.grant(form, request.header("authorization")))

    @router.route("POST", "/services/oauth2/revoke")
    def revoke(request: Request) -> Response:
        token = request.form().get("token") or request.arg("token") or ""
        if not app.sessions.revoke(token):
            raise OAuthError("unsupported_token_type", "this token type is not supported")
        return Response(status=200)

    @router.route("POST", "/services/Soap/u/{version}")
    def soap_login(request: Request) -> Response:
        try:
            username, password = parse_soap_login(request.body)
        except ValueError as exc:
            return Response(500, soap_fault("INVALID_LOGIN", f"Invalid username, password, security token; or user locked out. ({exc})"), dict(_XML))
        login = app.logins.get(username.lower())
        user_id = app.user_by_username(username)
        if login is None or user_id is None or password != login.password + login.security_token:
            return Response(500, soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out."), dict(_XML))
        session = app.sessions.issue(user_id)
        body = soap_login_response(app.base_url, request.path_params["version"], app.org.org_id, user_id, session, username)
        return Response(200, body, dict(_XML))

    @router.route("GET", "/id/{orgId}/{userId}")
    def identity(request: Request) -> Response:
        _token, user_id = app.sessions.authenticate(request.header("authorization"))
        if request.path_params["userId"] != user_id or request.path_params["orgId"] != app.org.org_id:
            raise not_found()
        user = app.org.tables["user"][user_id]
        base = app.base_url
        return Response.json({
            "id": f"{base}/id/{app.org.org_id}/{user_id}", "asserted_user": True, "user_id": user_id, "organization_id": app.org.org_id,
            "username": user["Username"], "display_name": user["Name"], "email": user["Email"], "active": bool(user.get("IsActive")),
            "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": 0,
            "urls": {"rest": f"{base}/services/data/v{{version}}/", "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                     "query": f"{base}/services/data/v{{version}}/query/", "limits": f"{base}/services/data/v{{version}}/limits/"},
        })
