"""Mints one M2M access token per signing algorithm from a running Heimdall (an app each, created
with that algorithm) and writes them to the JSON file named on the command line, for the
third-party verifiers (verify.py: PyJWT, verify.mjs: jose)."""
import json
import os
import sys
import urllib.request
import uuid

BASE, KEY = os.environ["HEIMDALL_URL"], os.environ["HEIMDALL_PLATFORM_KEY"]


def call(method, path, body, key=KEY):
    request = urllib.request.Request(
        BASE + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **({"authorization": f"Bearer {key}"} if key else {})},
    )
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)


tokens = []
for alg in ["RS256", "ES256", "EdDSA"]:
    slug = f"interop-{alg.lower()}-{uuid.uuid4().hex[:8]}"
    app = call("POST", "/v1/apps", {"display_name": f"Interop {alg}", "slug": slug, "signing_alg": alg})
    assert app["signing_alg"] == alg, app
    client = call("POST", f"/v1/apps/{app['id']}/credentials", {"name": "interop", "scopes": []})
    grant = {"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]}
    token = call("POST", f"/{slug}/v1/oauth/token", grant, key=None)["access_token"]
    tokens.append({"alg": alg, "slug": slug, "issuer": f"{BASE}/{slug}", "token": token})
json.dump(tokens, open(sys.argv[1], "w"))
