// jose (panva) verifies Heimdall's tokens of every algorithm through the app's remote JWKS,
// unmodified, and refuses each one when only another algorithm is allowed.
import { readFileSync } from "node:fs";
import { createRemoteJWKSet, jwtVerify } from "jose";

const tokens = JSON.parse(readFileSync(process.argv[2], "utf8"));
for (const t of tokens) {
  const jwks = createRemoteJWKSet(new URL(`${t.issuer}/v1/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(t.token, jwks, {
    issuer: t.issuer,
    audience: t.slug,
    algorithms: [t.alg],
  });
  if (protectedHeader.alg !== t.alg || payload.type !== "m2m") throw new Error(`unexpected token ${JSON.stringify(payload)}`);
  for (const other of ["RS256", "ES256", "EdDSA"].filter((a) => a !== t.alg)) {
    const refused = await jwtVerify(t.token, jwks, { issuer: t.issuer, audience: t.slug, algorithms: [other] }).then(
      () => false,
      () => true,
    );
    if (!refused) throw new Error(`a ${t.alg} token verified as ${other}`);
  }
  console.log(`jose verified a ${t.alg} token of ${t.slug}`);
}
