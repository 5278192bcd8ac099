// Shared by the client scripts of this folder (not cases.mjs, which predates it): the
// environment the test program sets, the package loader for the client's own prefix, `ok` lines
// and the case dispatcher.
//   OGP_BASE_URL     http://127.0.0.1:<port>/v1 (the daemon; loopback only; https for tls.mjs)
//   OGP_API_KEY      the daemon's client key
//   OGP_NODE_PREFIX  the folder whose node_modules holds the client (installed by a fixture)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const { OGP_BASE_URL: baseURL, OGP_API_KEY: apiKey, OGP_NODE_PREFIX: prefix } = process.env;
if (!baseURL || !apiKey || !prefix) {
  throw new Error('OGP_BASE_URL, OGP_API_KEY and OGP_NODE_PREFIX must be set');
}
assert.match(baseURL, /^https?:\/\/127\.0\.0\.1:\d+\/v1$/, 'the daemon must be on loopback');

// Every request any client makes goes through fetch: refuse anything but the daemon, so that
// no traffic (tracing exports, telemetry, a provider's default URL) can leave loopback.
const daemonOrigin = new URL(baseURL).origin;
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  if (url.origin !== daemonOrigin) {
    throw new Error(`refused a request to ${url} (only the daemon at ${daemonOrigin} is allowed)`);
  }
  return realFetch(input, init);
};

const require = createRequire(path.join(prefix, 'package.json'));

/// The installed version of `name` in the prefix, checked against `expected` (a RegExp).
export function versionOf(name, expected) {
  const manifest = path.join(prefix, 'node_modules', name, 'package.json');
  const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
  assert.match(version, expected, `${name} ${expected} expected in ${prefix}, found ${version}`);
  return version;
}

/// `import()` of an ESM-only (or dual) package from the prefix.
export async function load(name) {
  return import(pathToFileURL(require.resolve(name)).href);
}

/// CommonJS `require` from the prefix.
export const requireFromPrefix = require;

export const ok = (what) => console.log(`ok ${what}`);

/// The mock's answer to a user turn `prompt` (src/mock/inference.cpp).
export const echo = (prompt) => `Hello from the OCI mock. You said: ${prompt}`;

/// Runs the case named by argv[2]; prints `PASS <case> (<versions>)` when it returns.
export async function main(cases, versions) {
  const name = process.argv[2];
  if (!cases[name]) {
    console.error(`unknown case '${name}'; cases: ${Object.keys(cases).join(', ')}`);
    process.exit(2);
  }
  await cases[name]();
  console.log(`PASS ${name} (${versions}, node ${process.version})`);
}
