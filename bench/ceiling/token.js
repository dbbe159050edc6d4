// Ceiling of the runtime for token issuance: the least a worker can do to issue a JWT.
// Checks one Basic secret and signs an EdDSA JWT with WebCrypto (the algorithm Portcullis uses).
const enc = new TextEncoder();
const b64u = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const b64uStr = (s) => b64u(enc.encode(s));
let keyPromise;

export default {
  async fetch(req, env) {
    keyPromise ??= crypto.subtle.importKey("jwk", JSON.parse(env.SIGNING_JWK), { name: "Ed25519" }, false, ["sign"]);
    const expected = "Basic " + btoa(`${env.CLIENT_ID}:${env.CLIENT_SECRET}`);
    const got = req.headers.get("authorization") ?? "";
    if (got.length !== expected.length || !crypto.subtle.timingSafeEqual(enc.encode(got), enc.encode(expected))) {
      return new Response('{"error":"invalid_client"}', { status: 401 });
    }
    const now = Math.floor(Date.now() / 1000);
    const header = b64uStr(JSON.stringify({ alg: "EdDSA", typ: "at+jwt", kid: "k1" }));
    const claims = b64uStr(JSON.stringify({
      iss: "http://127.0.0.1", sub: env.CLIENT_ID, aud: "http://127.0.0.1", exp: now + 3600, iat: now,
      jti: b64u(crypto.getRandomValues(new Uint8Array(16))), client_id: env.CLIENT_ID, scope: "read",
    }));
    const sig = await crypto.subtle.sign("Ed25519", await keyPromise, enc.encode(`${header}.${claims}`));
    return Response.json(
      { access_token: `${header}.${claims}.${b64u(sig)}`, token_type: "Bearer", expires_in: 3600, scope: "read" },
      { headers: { "cache-control": "no-store" } },
    );
  },
};
