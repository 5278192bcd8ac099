// The official OpenAI Node SDK (openai@6) against the daemon's HTTPS listener. The daemon's
// certificate is signed by a test CA that this process trusts only through NODE_EXTRA_CA_CERTS
// (no option that turns verification off, anywhere).
// Usage: node tls.mjs <chat|stream|untrusted>   with OGP_BASE_URL (https://127.0.0.1:<port>/v1),
// OGP_API_KEY, OGP_NODE_PREFIX (the folder whose node_modules holds openai) and, except for
// `untrusted`, NODE_EXTRA_CA_CERTS. Prints `PASS <case>` when every check held.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const { OGP_BASE_URL: baseURL, OGP_API_KEY: apiKey, OGP_NODE_PREFIX: prefix } = process.env;
if (!baseURL || !apiKey || !prefix) {
  throw new Error('OGP_BASE_URL, OGP_API_KEY and OGP_NODE_PREFIX must be set');
}
assert.match(baseURL, /^https:\/\/127\.0\.0\.1:\d+\/v1$/, 'the daemon must be on loopback, over https');
assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined, 'certificate checks must stay on');

// Only the daemon may be reached.
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
const sdk = require('openai');
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;
const version = JSON.parse(readFileSync(path.join(prefix, 'node_modules/openai/package.json'), 'utf8')).version;
assert.match(version, /^6\./, `openai@6 expected, found ${version}`);

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const ok = (what) => console.log(`ok ${what}`);
const echo = (prompt) => `Hello from the OCI mock. You said: ${prompt}`;

const cases = {
  async chat() {
    assert.ok(process.env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS must name the test CA');
    const r = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello over tls' }],
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.content, echo('hello over tls'));
    assert.equal(r.choices[0].finish_reason, 'stop');
    ok('chat over https');
  },

  async stream() {
    assert.ok(process.env.NODE_EXTRA_CA_CERTS, 'NODE_EXTRA_CA_CERTS must name the test CA');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream over tls' }],
      stream: true,
    });
    let text = '';
    let chunks = 0;
    let finish = null;
    for await (const chunk of stream) {
      chunks += 1;
      const choice = chunk.choices[0];
      if (choice) {
        text += choice.delta?.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
    }
    assert.ok(chunks > 1, `several chunks expected, got ${chunks}`);
    assert.equal(text, echo('stream over tls'));
    assert.equal(finish, 'stop');
    ok('stream over https');
  },

  // Without the CA the daemon's certificate is not trusted: a connection error, no answer.
  async untrusted() {
    assert.equal(process.env.NODE_EXTRA_CA_CERTS, undefined);
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.APIConnectionError,
    );
    ok('untrusted certificate refused');
  },
};

const name = process.argv[2];
if (!cases[name]) {
  console.error(`unknown case '${name}'; cases: ${Object.keys(cases).join(', ')}`);
  process.exit(2);
}
await cases[name]();
console.log(`PASS ${name} (openai ${version})`);
