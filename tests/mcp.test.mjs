// Portcullis in front of an MCP server, driven by the official MCP TypeScript SDK: the SDK
// client starts with no credentials, follows the gateway's 401 to the RFC 9728 metadata,
// registers itself (RFC 7591), sends a person through sign-in and consent, gets a token for
// the route's resource (RFC 8707) and calls a tool on an MCP server (Streamable HTTP) that
// sees the person as subject and never the bearer token. Also: the discovery documents field
// by field, refusals (a token for another resource, registration off or outside the policy),
// and which endpoints answer browsers of other origins (CORS).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { startWorker, serve, basic, pkce, Person } from "./harness.mjs";

const PASSWORD = "correct horse battery";
const REDIRECT = "http://127.0.0.1:33418/callback";

let w;
let mcp; // { url, server, seen: [headers of each request] }
let alice;
let resource;
let docs; // { url, server, served: { path: document } }: client ID metadata documents

/** An MCP server (Streamable HTTP, stateless) with one tool, `whoami`, that reports the
 * identity headers it was sent and whether an Authorization header reached it. */
async function mcpServer() {
  const seen = [];
  const { url, server } = await serve(async (req, res) => {
    seen.push(req.headers);
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const mcpServer = new McpServer({ name: "tools", version: "1.0.0" });
    mcpServer.registerTool("whoami", { description: "Who is calling" }, async () => ({
      content: [
        {
          type: "text",
          text: JSON.stringify({
            subject: req.headers["x-portcullis-subject"],
            issuer: req.headers["x-portcullis-issuer"],
            scope: req.headers["x-portcullis-scope"],
            authorization: req.headers.authorization ?? null,
          }),
        },
      ],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      transport.close();
      mcpServer.close();
    });
    await mcpServer.connect(transport);
    await transport.handleRequest(req, res, body);
  });
  return { url, server, seen };
}

/** The SDK's client side of OAuth, kept in memory: what a desktop MCP client stores. */
class MemoryProvider {
  constructor(metadata = {}) {
    this.saved = {};
    this.authorizationUrl = undefined;
    this.clientMetadata = {
      client_name: "SDK test client",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
      ...metadata,
    };
  }
  get redirectUrl() {
    return REDIRECT;
  }
  clientInformation() {
    return this.saved.client;
  }
  saveClientInformation(info) {
    this.saved.client = info;
  }
  tokens() {
    return this.saved.tokens;
  }
  saveTokens(tokens) {
    this.saved.tokens = tokens;
  }
  redirectToAuthorization(url) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(v) {
    this.saved.verifier = v;
  }
  codeVerifier() {
    return this.saved.verifier;
  }
}

/** Connects an SDK client to the gateway's MCP route with `provider`. */
async function connect(provider) {
  const client = new Client({ name: "portcullis-test", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(`${w.url}/mcp`), { authProvider: provider });
  await client.connect(transport);
  return { client, transport };
}

const payload = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());

before(async () => {
  w = await startWorker();
  mcp = await mcpServer();
  const served = {};
  docs = {
    served,
    ...(await serve((req, res) => {
      const doc = served[req.url];
      res.writeHead(doc ? 200 : 404, { "content-type": "application/json", "cache-control": "max-age=60" });
      res.end(doc ? JSON.stringify(doc) : "{}");
    })),
  };
  resource = `${w.url}/mcp`;
  await w.scope("mcp", "Use your tools");
  await w.scope("admin", "Administer everything");
  const r = await w.admin("POST", "/admin/v1/users", { username: "alice", password: PASSWORD });
  assert.equal(r.status, 201, r.text);
  alice = r.body;
  const routes = await w.admin("PUT", "/admin/v1/routes", {
    routes: [
      { path: "/mcp", origin: mcp.url, scopes: ["mcp"], resource, resource_name: "Test tools" },
      { path: "/other", origin: mcp.url, scopes: ["mcp"], resource: `${w.url}/other` },
    ],
  });
  assert.equal(routes.status, 200, routes.text);
  const policy = await w.admin("PUT", "/admin/v1/registration", { enabled: true, scopes: ["mcp"] });
  assert.equal(policy.status, 200, policy.text);
});
after(async () => {
  await w?.stop();
  mcp?.server.close();
  docs?.server.close();
});

test("the SDK client follows the 401 to the metadata, registers, signs a person in and calls a tool as them", async () => {
  const provider = new MemoryProvider();
  // No credentials: the SDK meets the 401, discovers, registers and asks to redirect.
  await assert.rejects(connect(provider), UnauthorizedError);
  assert.ok(provider.saved.client?.client_id, "registered");
  assert.equal(provider.saved.client.token_endpoint_auth_method, "none");
  const auth = new URL(provider.authorizationUrl);
  assert.equal(auth.origin + auth.pathname, `${w.url}/oauth/authorize`);
  assert.equal(auth.searchParams.get("resource"), resource);
  assert.equal(auth.searchParams.get("scope"), "mcp");
  assert.equal(auth.searchParams.get("code_challenge_method"), "S256");
  // The person signs in and consents; the redirect carries the code and the issuer.
  const person = new Person(w);
  const r = await person.authorize(auth.pathname + auth.search, "alice", PASSWORD);
  assert.equal(r.status, 302, r.html);
  const back = new URL(r.location);
  assert.equal(back.origin + back.pathname, REDIRECT);
  assert.equal(back.searchParams.get("iss"), w.url);
  const first = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider });
  await first.finishAuth(back.searchParams.get("code"));
  const claims = payload(provider.saved.tokens.access_token);
  assert.equal(claims.aud, resource, "the token is bound to the resource");
  assert.equal(claims.sub, alice.id);
  assert.equal(claims.scope, "mcp");
  // With the token, the SDK lists and calls the tool through the gateway.
  const { client } = await connect(provider);
  const tools = await client.listTools();
  assert.deepEqual(
    tools.tools.map((t) => t.name),
    ["whoami"],
  );
  const result = await client.callTool({ name: "whoami", arguments: {} });
  const seen = JSON.parse(result.content[0].text);
  assert.equal(seen.subject, alice.id);
  assert.equal(seen.issuer, w.url);
  assert.equal(seen.scope, "mcp");
  assert.equal(seen.authorization, null, "the MCP server never sees the bearer token");
  assert.ok(mcp.seen.every((h) => h.authorization === undefined));
  await client.close();
  // The admin API shows the client as dynamic, with its last use.
  const listed = await w.admin("GET", `/admin/v1/clients/${provider.saved.client.client_id}`);
  assert.equal(listed.body.registration, "dynamic");
  assert.equal(typeof listed.body.last_used_at, "number");
});

test("the authorization server metadata follows RFC 8414 and advertises registration while it is on", async () => {
  const r = await w.fetch("/.well-known/oauth-authorization-server");
  assert.equal(r.status, 200);
  const m = await r.json();
  assert.equal(m.issuer, w.url);
  assert.equal(m.authorization_endpoint, `${w.url}/oauth/authorize`);
  assert.equal(m.token_endpoint, `${w.url}/oauth/token`);
  assert.equal(m.jwks_uri, `${w.url}/.well-known/jwks.json`);
  assert.equal(m.registration_endpoint, `${w.url}/oauth/register`);
  assert.deepEqual(m.code_challenge_methods_supported, ["S256"]);
  assert.ok(m.response_types_supported.includes("code"));
  assert.ok(m.grant_types_supported.includes("authorization_code"));
  assert.ok(m.token_endpoint_auth_methods_supported.includes("none"));
  assert.ok(m.scopes_supported.includes("mcp"));
  assert.equal(m.authorization_response_iss_parameter_supported, true);
  for (const [k, v] of Object.entries(m)) {
    if (k.endsWith("_endpoint") || k === "jwks_uri") assert.ok(v.startsWith(w.url), k);
  }
});

test("the protected resource metadata follows RFC 9728 field by field", async () => {
  const r = await w.fetch("/.well-known/oauth-protected-resource/mcp");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^application\/json/);
  assert.deepEqual(await r.json(), {
    resource,
    authorization_servers: [w.url],
    scopes_supported: ["mcp"],
    bearer_methods_supported: ["header"],
    resource_name: "Test tools",
    dpop_signing_alg_values_supported: ["ES256", "EdDSA", "Ed25519", "RS256"],
  });
  assert.equal((await w.fetch("/.well-known/oauth-protected-resource/none")).status, 404);
  // The 401 points at it and names the scope.
  const challenge = (await w.fetch("/mcp", { method: "POST" })).headers.get("www-authenticate");
  assert.equal(
    challenge,
    `Bearer realm="portcullis", resource_metadata="${w.url}/.well-known/oauth-protected-resource/mcp", scope="mcp"`,
  );
});

test("a token for another resource is refused at the MCP route", async () => {
  const svc = await w.client({ scopes: ["mcp"] });
  const token = async (res) => {
    const r = await w.form(
      "/oauth/token",
      { grant_type: "client_credentials", resource: res },
      { authorization: basic(svc.client_id, svc.client_secret) },
    );
    assert.equal(r.status, 200, r.text);
    return r.body.access_token;
  };
  const other = await token(`${w.url}/other`);
  assert.equal(payload(other).aud, `${w.url}/other`);
  const r = await w.fetch("/mcp", { method: "POST", headers: { authorization: `Bearer ${other}` } });
  assert.equal(r.status, 401);
  const challenge = r.headers.get("www-authenticate");
  assert.match(challenge, /error="invalid_token"/);
  assert.match(challenge, /resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource\/mcp"/);
  const before = mcp.seen.length;
  const own = await token(resource);
  const ok = await w.fetch("/mcp", {
    method: "POST",
    headers: {
      authorization: `Bearer ${own}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  assert.equal(ok.status, 200, await ok.text());
  assert.equal(mcp.seen.length, before + 1, "only the bound token reached the MCP server");
  // A resource no route names is invalid_target.
  const bad = await w.form(
    "/oauth/token",
    { grant_type: "client_credentials", resource: `${w.url}/elsewhere` },
    { authorization: basic(svc.client_id, svc.client_secret) },
  );
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, "invalid_target");
});

test("registration follows RFC 7591 and is refused outside the policy or while it is off", async () => {
  const register = (body) =>
    w.fetch("/oauth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const meta = {
    client_name: "Native editor",
    redirect_uris: ["http://127.0.0.1:9/cb", "com.example.editor:/oauth"],
    token_endpoint_auth_method: "none",
    scope: "mcp",
  };
  const ok = await register(meta);
  assert.equal(ok.status, 201);
  const doc = await ok.json();
  assert.deepEqual(Object.keys(doc).sort(), [
    "client_id",
    "client_id_issued_at",
    "client_name",
    "grant_types",
    "redirect_uris",
    "response_types",
    "scope",
    "token_endpoint_auth_method",
  ]);
  assert.deepEqual(doc.redirect_uris, meta.redirect_uris);
  assert.deepEqual(doc.grant_types, ["authorization_code"]);
  const outside = await register({ ...meta, scope: "mcp admin" });
  assert.equal(outside.status, 400);
  assert.equal((await outside.json()).error, "invalid_client_metadata");
  const badUri = await register({ ...meta, redirect_uris: ["http://evil.example/cb"] });
  assert.equal((await badUri.json()).error, "invalid_redirect_uri");
  const current = await w.admin("GET", "/admin/v1/registration");
  const off = await w.admin(
    "PUT",
    "/admin/v1/registration",
    { enabled: false, scopes: ["mcp"] },
    { headers: { "if-match": current.headers.get("etag") } },
  );
  assert.equal(off.status, 200, off.text);
  try {
    const closed = await register(meta);
    assert.equal(closed.status, 403);
    assert.equal((await closed.json()).error, "access_denied");
    const m = await (await w.fetch("/.well-known/oauth-authorization-server")).json();
    assert.equal(m.registration_endpoint, undefined);
  } finally {
    const on = await w.admin("PUT", "/admin/v1/registration", { enabled: true, scopes: ["mcp"] });
    assert.equal(on.status, 200);
  }
  const audit = await w.admin("GET", "/admin/v1/audit?action=registration.replace");
  assert.ok(audit.body.events.length >= 2);
});

test("discovery, registration and public token calls answer browsers of any origin; the admin API and pages never", async () => {
  const origin = { origin: "https://inspector.example" };
  const preflight = (p) =>
    w.fetch(p, {
      method: "OPTIONS",
      headers: { ...origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
  for (const p of [
    "/.well-known/oauth-authorization-server",
    "/.well-known/jwks.json",
    "/.well-known/oauth-protected-resource/mcp",
    "/oauth/register",
    "/oauth/token",
  ]) {
    const pre = await preflight(p);
    assert.equal(pre.status, 204, p);
    assert.equal(pre.headers.get("access-control-allow-origin"), "*", p);
    assert.equal(pre.headers.get("access-control-allow-headers"), "content-type", p);
  }
  const meta = await w.fetch("/.well-known/oauth-protected-resource/mcp", { headers: origin });
  assert.equal(meta.headers.get("access-control-allow-origin"), "*");
  const pub = await w.form("/oauth/token", { grant_type: "authorization_code", client_id: "x", code: "y" }, origin);
  assert.equal(pub.headers.get("access-control-allow-origin"), "*");
  const svc = await w.client({ scopes: ["mcp"] });
  const secret = await w.form(
    "/oauth/token",
    { grant_type: "client_credentials" },
    { ...origin, authorization: basic(svc.client_id, svc.client_secret) },
  );
  assert.equal(secret.status, 200);
  assert.equal(secret.headers.get("access-control-allow-origin"), null);
  for (const p of ["/admin/v1/clients", "/login", "/oauth/authorize", "/account/grants"]) {
    const pre = await preflight(p);
    assert.equal(pre.headers.get("access-control-allow-origin"), null, p);
    const r = await w.fetch(p, { headers: origin });
    assert.equal(r.headers.get("access-control-allow-origin"), null, p);
  }
});

/** Starts a code flow for `client_id` to the resource; answers the authorization path. */
function authorization(client_id, redirect_uri, challenge) {
  const q = new URLSearchParams({
    response_type: "code",
    client_id,
    redirect_uri,
    scope: "mcp",
    state: "st",
    resource,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return `/oauth/authorize?${q}`;
}

test("a client identified by its metadata document (served on loopback) gets a token for the resource", async () => {
  const clientId = `${docs.url}/clients/editor.json`;
  const redirect = "http://127.0.0.1:40123/cb";
  docs.served["/clients/editor.json"] = {
    client_id: clientId,
    client_name: "Doc Editor",
    redirect_uris: [redirect],
    grant_types: ["authorization_code"],
    token_endpoint_auth_method: "none",
  };
  const meta = await (await w.fetch("/.well-known/oauth-authorization-server")).json();
  assert.equal(meta.client_id_metadata_document_supported, true);
  const { verifier, challenge } = pkce();
  const person = new Person(w);
  let r = await person.get(authorization(clientId, redirect, challenge));
  assert.equal(r.status, 303);
  r = await person.login("alice", PASSWORD, new URL(r.location, w.url).searchParams.get("next"));
  r = await person.get(r.location);
  assert.equal(r.status, 200, "the consent page");
  assert.match(r.html, /not verified/);
  assert.match(r.html, /<strong>127\.0\.0\.1<\/strong>/, "the redirect host, prominently");
  // Exact redirect matching: another path is refused as a page.
  const other = await person.get(authorization(clientId, "http://127.0.0.1:40123/elsewhere", challenge));
  assert.equal(other.status, 400);
  r = await person.authorize(authorization(clientId, redirect, challenge), "alice", PASSWORD);
  assert.equal(r.status, 302, r.html);
  const code = new URL(r.location).searchParams.get("code");
  const t = await w.form("/oauth/token", {
    grant_type: "authorization_code",
    client_id: clientId,
    code,
    code_verifier: verifier,
    redirect_uri: redirect,
    resource,
  });
  assert.equal(t.status, 200, t.text);
  assert.equal(payload(t.body.access_token).aud, resource);
  assert.equal(payload(t.body.access_token).client_id, clientId);
  const ping = await w.fetch("/mcp", {
    method: "POST",
    headers: {
      authorization: `Bearer ${t.body.access_token}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
  });
  assert.equal(ping.status, 200);
  // A code is redeemed only for the resource it was authorized for (RFC 8707).
  const again = pkce();
  r = await person.authorize(authorization(clientId, redirect, again.challenge), "alice", PASSWORD);
  assert.equal(r.status, 302, "consent is remembered");
  const swapped = await w.form("/oauth/token", {
    grant_type: "authorization_code",
    client_id: clientId,
    code: new URL(r.location).searchParams.get("code"),
    code_verifier: again.verifier,
    redirect_uri: redirect,
    resource: `${w.url}/other`,
  });
  assert.equal(swapped.status, 400);
  assert.equal(swapped.body.error, "invalid_grant");
  const listed = await w.admin("GET", `/admin/v1/clients/${encodeURIComponent(clientId)}`);
  assert.equal(listed.status, 200, listed.text);
  assert.equal(listed.body.registration, "metadata_document");
  // An operator disables it like any client: it stops at once in this isolate.
  const off = await w.admin("PATCH", `/admin/v1/clients/${encodeURIComponent(clientId)}`, { disabled: true });
  assert.equal(off.status, 200, off.text);
  const refused = await person.get(authorization(clientId, redirect, challenge));
  assert.equal(refused.status, 400);
});

test("a metadata document that lies about its client_id names nobody", async () => {
  const clientId = `${docs.url}/clients/liar.json`;
  docs.served["/clients/liar.json"] = {
    client_id: `${docs.url}/clients/editor.json`,
    client_name: "Doc Editor",
    redirect_uris: ["http://127.0.0.1:40123/cb"],
    token_endpoint_auth_method: "none",
  };
  const { challenge } = pkce();
  const r = await new Person(w).get(authorization(clientId, "http://127.0.0.1:40123/cb", challenge));
  assert.equal(r.status, 400);
  assert.match(r.html, /not registered/);
  const t = await w.form("/oauth/token", { grant_type: "authorization_code", client_id: clientId, code: "x" });
  assert.equal(t.status, 401);
  assert.equal(t.body.error, "invalid_client");
});
