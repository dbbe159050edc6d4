// Portcullis's worker entry (`cargo xtask build` installs it as edge/build/index.js, beside the
// worker-build output, edge/build/portcullis.mjs): it keeps each request in JavaScript and asks
// the wasm `gateway` export for a decision from the method, URL and headers alone. A refusal
// comes back as a Response; a forward as the core's header diff, which is applied to a copy of
// the caller's headers here and sent on with the caller's body streamed, untouched, so a
// gateway request never crosses into wasm whole. A Portcullis endpoint (`is_endpoint`) and the
// Cron Trigger go to the workers-rs handlers, as do the Durable Objects.
import { WorkerEntrypoint } from "cloudflare:workers";
import Rust, { AuthorityObject, GrantObject } from "./portcullis.mjs";

export { AuthorityObject, GrantObject };

/** The caller's headers as `name\nvalue\n` pairs (names lower-case): one string for wasm. */
function serialise(headers) {
  let out = "";
  for (const [name, value] of headers) out += `${name}\n${value}\n`;
  return out;
}

/** The origin's answer without any `Set-Cookie` naming one of Portcullis's cookies. */
function withoutOwnCookies(resp, rust) {
  if (!resp.headers.has("set-cookie")) return resp;
  const cookies = resp.headers.getSetCookie();
  const kept = cookies.filter((c) => !rust.is_own_set_cookie(c));
  if (kept.length === cookies.length) return resp;
  const headers = new Headers(resp.headers);
  headers.delete("set-cookie");
  for (const c of kept) headers.append("set-cookie", c);
  return new Response(resp.body, { status: resp.status, statusText: resp.statusText, headers });
}

/** Sends `request` on as `forward` (the core's `Forward`) says; logs the outcome. */
async function send(request, { forward, id, started }, rust) {
  const headers = new Headers(request.headers);
  for (const name of forward.remove) headers.delete(name);
  for (const [name, value] of forward.set) headers.set(name, value);
  // A GET or HEAD may arrive with `Content-Length: 0`, but fetch refuses any body on them.
  const bodyless = request.method === "GET" || request.method === "HEAD";
  const init = { method: request.method, headers, redirect: "manual", body: bodyless ? undefined : request.body };
  let resp;
  try {
    resp = await fetch(forward.url, init);
  } catch (e) {
    rust.gateway_log(id, forward.route, 502, `origin unreachable: ${e}`, started);
    const body = JSON.stringify({ error: "bad_gateway", error_description: "the origin could not be reached" });
    return new Response(body, { status: 502, headers: { "content-type": "application/json", "x-content-type-options": "nosniff" } });
  }
  rust.gateway_log(id, forward.route, resp.status, undefined, started);
  return withoutOwnCookies(resp, rust);
}

export default class Portcullis extends WorkerEntrypoint {
  async fetch(request) {
    const rust = new Rust(this.ctx, this.env);
    if (rust.is_endpoint(request.url)) return rust.fetch(request);
    const decision = await rust.gateway(this.env, request.method, request.url, serialise(request.headers));
    if (typeof decision !== "string") return decision;
    return send(request, JSON.parse(decision), rust);
  }

  async scheduled(event) {
    return new Rust(this.ctx, this.env).scheduled(event);
  }
}
