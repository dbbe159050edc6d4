// Runs schemathesis (PyPI) against the admin API's OpenAPI document on the live worker: zero
// server errors and zero schema violations (status codes, content types, headers and bodies
// must all match the document). Usage: node tests/schemathesis.mjs <schemathesis binary>
import { spawn } from "node:child_process";
import { startWorker, ADMIN_TOKEN } from "./harness.mjs";

const bin = process.argv[2] ?? "schemathesis";
const w = await startWorker();
await w.scope("read", "Read things");
let code = 1;
try {
  const child = spawn(bin, [
    "run", `${w.url}/admin/v1/openapi.json`,
    "--url", w.url,
    "-H", `Authorization: Bearer ${ADMIN_TOKEN}`,
    "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance,unsupported_method,allow_header_conformance,ignored_auth,missing_required_header,use_after_free,ensure_resource_availability,negative_data_rejection",
    "--max-examples", "40",
    "--seed", "20261125",
    "--no-color",
  ], { stdio: "inherit" });
  code = await new Promise((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
} finally {
  await w.stop();
}
process.exit(code);
