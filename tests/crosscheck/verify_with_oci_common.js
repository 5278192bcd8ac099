// Cross-check: verifies a request signed by our C++ signer with `http-signature`, the library
// Oracle's TypeScript SDK (npm `oci-common`) signs with, and checks the body hash the way
// oci-common computes it. Usage: node verify_with_oci_common.js <request.json>
// request.json: {method, target, headers: {lower-case name: value}, body, public_key_pem}.
// Modules are resolved through NODE_PATH (a folder where `npm install oci-common` was run).
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const httpSignature = require("http-signature");
require("oci-common"); // proves the SDK itself is installed next to its signer library

const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const req = { method: input.method, url: input.target, httpVersion: "1.1", headers: input.headers };
const parsed = httpSignature.parseRequest(req, { clockSkew: 600 });
if (parsed.params.algorithm !== "rsa-sha256") {
  throw new Error("unexpected algorithm " + parsed.params.algorithm);
}
if (!httpSignature.verifySignature(parsed, input.public_key_pem)) {
  console.error("signature does NOT verify");
  process.exit(1);
}
if (input.headers["x-content-sha256"] !== undefined) {
  // oci-common: crypto.createHash("sha256").update(body).digest("base64")
  const expected = crypto.createHash("sha256").update(input.body).digest("base64");
  if (expected !== input.headers["x-content-sha256"]) {
    console.error("x-content-sha256 mismatch");
    process.exit(1);
  }
}
console.log("verified: " + parsed.params.headers.join(" "));
