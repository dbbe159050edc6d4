// Ceiling of the runtime for the gateway: a worker that forwards every request to the origin
// unchanged, with no verification at all.
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    return fetch(env.ORIGIN_URL + url.pathname + url.search, req);
  },
};
