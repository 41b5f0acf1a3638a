// A round trip through the TypeScript client generated from openapi.json (openapi-typescript
// types, openapi-fetch calls): every request and answer below is checked by `tsc --strict`
// against the spec, then run against a real server.
import createClient from "openapi-fetch";
import type { paths } from "./generated/schema.js";

const base = process.env.HEIMDALL_URL;
const platformKey = process.env.HEIMDALL_PLATFORM_KEY;
if (!base || !platformKey) throw new Error("set HEIMDALL_URL and HEIMDALL_PLATFORM_KEY");

const client = createClient<paths>({ baseUrl: base });
const admin = { Authorization: `Bearer ${platformKey}` };

function check(condition: boolean, what: string, detail?: unknown): asserts condition {
  if (!condition) throw new Error(`${what}: ${JSON.stringify(detail)}`);
}

const slug = `ts-${Date.now().toString(36)}`;
const created = await client.POST("/v1/apps", { headers: admin, body: { slug, display_name: "TypeScript round trip" } });
check(created.response.status === 201 && created.data !== undefined, "create app", created.error);
const app = created.data;
const appPath = { params: { path: { app_id: app.id } }, headers: admin };

const permission = await client.POST("/v1/apps/{app_id}/permissions", { ...appPath, body: { resource: "docs", action: "read" } });
check(permission.response.ok, "create permission", permission.error);
const granted = await client.PUT("/v1/apps/{app_id}/roles/{role_name}/permissions", {
  params: { path: { app_id: app.id, role_name: "member" } },
  headers: admin,
  body: { permissions: ["docs.read"] },
});
check(granted.response.ok, "grant docs.read to member", granted.error);

const consumer = { params: { path: { app_slug: slug } } };
const password = "correct horse battery staple 42";
const signup = await client.POST("/{app_slug}/v1/auth/signup", { ...consumer, body: { username: "ada", email: "ada@example.com", password } });
check(signup.response.status === 201, "sign up", signup.error);

const signin = await client.POST("/{app_slug}/v1/auth/signin", { ...consumer, body: { identifier: "ada", password } });
check(signin.data !== undefined, "sign in", signin.error);
const token = signin.data.access_token;

const allowed = await client.POST("/{app_slug}/v1/authorize", { ...consumer, body: { token, permission: "docs.read" } });
check(allowed.data?.authorized === true, "authorize docs.read", allowed.data ?? allowed.error);
const refused = await client.POST("/{app_slug}/v1/authorize", { ...consumer, body: { token, permission: "docs.write" } });
check(refused.data?.authorized === false, "authorize docs.write", refused.data ?? refused.error);
check(JSON.stringify(refused.data.missing_permissions) === '["docs.write"]', "missing permissions", refused.data);

const users = await client.GET("/v1/apps/{app_id}/end-users", { ...appPath });
check(users.data !== undefined, "list end-users", users.error);
check(users.data.data.some((u) => u.username === "ada"), "ada is listed", users.data);

// An error answers the documented body with a catalogue code.
const taken = await client.POST("/v1/apps", { headers: admin, body: { slug, display_name: "again" } });
check(taken.response.status === 409 && taken.error?.code === "slug_taken", "slug taken", taken.error);

console.log(`typescript round trip passed (app ${slug})`);
