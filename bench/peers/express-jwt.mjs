// Peer: the blog-style token server, express + jsonwebtoken (ES256: jsonwebtoken has no EdDSA).
// Usage: node express-jwt.mjs <port> <client_id> <client_secret> <pkcs8-pem-es256>
import express from "express";
import jwt from "jsonwebtoken";
import { randomBytes, timingSafeEqual } from "node:crypto";

const [port, clientId, clientSecret, pem] = process.argv.slice(2);
const expected = Buffer.from("Basic " + Buffer.from(`${clientId}:${clientSecret}`).toString("base64"));
const app = express();
app.use(express.urlencoded({ extended: false }));
app.post("/oauth/token", (req, res) => {
  const got = Buffer.from(req.get("authorization") ?? "");
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    return res.status(401).json({ error: "invalid_client" });
  }
  if (req.body.grant_type !== "client_credentials") {
    return res.status(400).json({ error: "unsupported_grant_type" });
  }
  const token = jwt.sign(
    { client_id: clientId, scope: "read", jti: randomBytes(16).toString("base64url") },
    pem,
    { algorithm: "ES256", expiresIn: 3600, issuer: "http://127.0.0.1", audience: "https://api.bench.test", subject: clientId, keyid: "k1", header: { typ: "at+jwt" } },
  );
  res.set("cache-control", "no-store").json({ access_token: token, token_type: "Bearer", expires_in: 3600, scope: "read" });
});
app.listen(Number(port), "127.0.0.1");
