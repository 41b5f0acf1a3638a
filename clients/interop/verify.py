"""PyJWT verifies Heimdall's tokens of every algorithm through the app's JWKS, unmodified, and
refuses each one under any other algorithm."""
import json
import sys

import jwt

for t in json.load(open(sys.argv[1])):
    jwks = jwt.PyJWKClient(f"{t['issuer']}/v1/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(t["token"])
    claims = jwt.decode(t["token"], key.key, algorithms=[t["alg"]], audience=t["slug"], issuer=t["issuer"])
    assert claims["aud"] == t["slug"] and claims["type"] == "m2m", claims
    assert jwt.get_unverified_header(t["token"])["alg"] == t["alg"]
    for other in {"RS256", "ES256", "EdDSA"} - {t["alg"]}:
        try:
            jwt.decode(t["token"], key.key, algorithms=[other], audience=t["slug"], issuer=t["issuer"])
        except jwt.InvalidTokenError:
            continue
        raise AssertionError(f"a {t['alg']} token verified as {other}")
    print(f"PyJWT {jwt.__version__} verified a {t['alg']} token of {t['slug']}")
