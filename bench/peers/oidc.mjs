// Peer: oidc-provider issuing JWT access tokens (EdDSA) for the client credentials grant.
// Usage: node oidc.mjs <port> <client_id> <client_secret> <jwk-json>
import Provider from "oidc-provider";

const [port, clientId, clientSecret, jwk] = process.argv.slice(2);
const resource = "https://api.bench.test";
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
    id_token_signed_response_alg: "EdDSA",
  }],
  jwks: { keys: [JSON.parse(jwk)] },
  scopes: ["read"],
  ttl: { ClientCredentials: 3600 },
  enabledJWA: { idTokenSigningAlgValues: ["EdDSA"] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "read",
        audience: resource,
        accessTokenTTL: 3600,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "EdDSA" } },
      }),
    },
  },
});
provider.listen(Number(port), "127.0.0.1");
