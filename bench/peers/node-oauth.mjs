// Peer: @node-oauth/express-oauth-server with a model that issues EdDSA JWT access tokens (jose).
// Usage: node node-oauth.mjs <port> <client_id> <client_secret> <jwk-json>
import express from "express";
import ExpressOAuthServer from "@node-oauth/express-oauth-server";
import { SignJWT, importJWK } from "jose";
import { randomBytes } from "node:crypto";

const [port, clientId, clientSecret, jwk] = process.argv.slice(2);
const key = await importJWK(JSON.parse(jwk), "EdDSA");
const client = { id: clientId, grants: ["client_credentials"], accessTokenLifetime: 3600 };
const model = {
  async getClient(id, secret) {
    return id === clientId && secret === clientSecret ? client : null;
  },
  async getUserFromClient() {
    return { id: clientId };
  },
  async validateScope(_user, _client, scope) {
    return scope ?? ["read"];
  },
  async generateAccessToken(c, _user, scope) {
    return new SignJWT({ client_id: c.id, scope: [].concat(scope ?? "read").join(" "), jti: randomBytes(16).toString("base64url") })
      .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: "k1" })
      .setIssuer("http://127.0.0.1").setSubject(c.id).setAudience("https://api.bench.test")
      .setIssuedAt().setExpirationTime("1h").sign(key);
  },
  async saveToken(token, c, user) {
    return { ...token, client: c, user };
  },
};
const app = express();
app.use(express.urlencoded({ extended: false }));
const oauth = new ExpressOAuthServer({ model, useErrorHandler: false });
app.post("/oauth/token", oauth.token({ requireClientAuthentication: { client_credentials: true } }));
app.listen(Number(port), "127.0.0.1");
