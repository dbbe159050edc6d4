// Bench only: the JavaScript twin of bench/floor (read a header and the body, answer JSON): the
// floor of a JavaScript worker's cost per request.
export default {
  async fetch(req) {
    const authorized = req.headers.get("authorization") !== null;
    const read = (await req.arrayBuffer()).byteLength;
    return new Response(JSON.stringify({ authorized, read }), { headers: { "content-type": "application/json" } });
  },
};
