// The official OpenAI Node SDK (openai@6) against the daemon's HTTPS listener. The daemon's
// certificate is signed by a test CA that this process trusts only through NODE_EXTRA_CA_CERTS
// (no option that turns verification off, anywhere).
// Usage: node tls.mjs <chat|stream|untrusted>   with OGP_BASE_URL (https://127.0.0.1:<port>/v1),
// OGP_API_KEY, OGP_NODE_PREFIX (the folder whose node_modules holds openai) and, except for
// `untrusted`, NODE_EXTRA_CA_CERTS (empty or unset for `untrusted`). Prints `PASS <case>` when
// every check held.
import assert from 'node:assert/strict';
import { apiKey, baseURL, echo, main, ok, requireFromPrefix, versionOf } from './common.mjs';

assert.match(baseURL, /^https:\/\//, 'the daemon must be reached over https');
assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined, 'certificate checks must stay on');

const version = versionOf('openai', /^6\./);
const sdk = requireFromPrefix('openai');
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });

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
    assert.ok(!process.env.NODE_EXTRA_CA_CERTS, 'no extra CA for this case');
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof OpenAI.APIConnectionError,
    );
    ok('untrusted certificate refused');
  },
};

await main(cases, `openai ${version}`);
