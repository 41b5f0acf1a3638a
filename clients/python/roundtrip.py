"""A round trip through the Python client generated from openapi.json by openapi-python-client,
against a real server: create an app, sign up, sign in, /authorize, list end-users."""

import os
import time

from heimdall_client import AuthenticatedClient, Client
from heimdall_client.api.apps import app_create
from heimdall_client.api.auth import auth_signin, auth_signup
from heimdall_client.api.authorization import token_authorize
from heimdall_client.api.end_users import end_user_list
from heimdall_client.api.permissions import permission_create
from heimdall_client.api.roles import role_set_permissions
from heimdall_client.models import (
    App,
    AuthorizeRequest,
    AuthorizeResponse,
    CreateApp,
    CreatePermission,
    EndUserList,
    ErrorBody,
    SetPermissions,
    SigninRequest,
    SignupRequest,
    TokenResponse,
)

base = os.environ["HEIMDALL_URL"]
admin = AuthenticatedClient(base_url=base, token=os.environ["HEIMDALL_PLATFORM_KEY"], raise_on_unexpected_status=True)
public = Client(base_url=base, raise_on_unexpected_status=True)


def check(condition: bool, what: str, detail: object = None) -> None:
    if not condition:
        raise SystemExit(f"{what}: {detail!r}")


slug = f"py-{int(time.time() * 1000):x}"
created = app_create.sync_detailed(client=admin, body=CreateApp(slug=slug, display_name="Python round trip"))
check(created.status_code == 201 and isinstance(created.parsed, App), "create app", created.content)
app = created.parsed

permission = permission_create.sync_detailed(app.id, client=admin, body=CreatePermission(resource="docs", action="read"))
check(permission.status_code == 201, "create permission", permission.content)
granted = role_set_permissions.sync_detailed(app.id, "member", client=admin, body=SetPermissions(permissions=["docs.read"]))
check(granted.status_code == 200, "grant docs.read to member", granted.content)

password = "correct horse battery staple 42"
signup = auth_signup.sync_detailed(slug, client=public, body=SignupRequest(username="ada", email="ada@example.com", password=password))
check(signup.status_code == 201 and isinstance(signup.parsed, TokenResponse), "sign up", signup.content)

signin = auth_signin.sync_detailed(slug, client=public, body=SigninRequest(identifier="ada", password=password))
check(isinstance(signin.parsed, TokenResponse), "sign in", signin.content)
token = signin.parsed.access_token

allowed = token_authorize.sync(slug, client=public, body=AuthorizeRequest(token=token, permission="docs.read"))
check(isinstance(allowed, AuthorizeResponse) and allowed.authorized, "authorize docs.read", allowed)
refused = token_authorize.sync(slug, client=public, body=AuthorizeRequest(token=token, permission="docs.write"))
check(isinstance(refused, AuthorizeResponse) and not refused.authorized, "authorize docs.write", refused)
check(list(refused.missing_permissions) == ["docs.write"], "missing permissions", refused)

users = end_user_list.sync(app.id, client=admin)
check(isinstance(users, EndUserList) and any(u.username == "ada" for u in users.data), "ada is listed", users)

# An error answers the documented body with a catalogue code.
taken = app_create.sync_detailed(client=admin, body=CreateApp(slug=slug, display_name="again"))
check(taken.status_code == 409 and isinstance(taken.parsed, ErrorBody) and taken.parsed.code == "slug_taken", "slug taken", taken.content)

print(f"python round trip passed (app {slug})")
