// The official OpenAI Node SDK (openai@6) against the daemon (backed by oci-genai-mock).
// Usage: node cases.mjs <case>   with OGP_BASE_URL (http://127.0.0.1:<port>/v1), OGP_API_KEY and
// OGP_NODE_PREFIX (the folder whose node_modules holds openai). Prints one `ok ...` line per
// check; any failed check throws, and node exits non-zero with the reason.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const { OGP_BASE_URL: baseURL, OGP_API_KEY: apiKey, OGP_NODE_PREFIX: prefix } = process.env;
if (!baseURL || !apiKey || !prefix) {
  throw new Error('OGP_BASE_URL, OGP_API_KEY and OGP_NODE_PREFIX must be set');
}
const require = createRequire(path.join(prefix, 'package.json'));
const sdk = require('openai');
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;
const version = JSON.parse(readFileSync(path.join(prefix, 'node_modules/openai/package.json'), 'utf8')).version;
assert.match(version, /^6\./, `openai@6 expected, found ${version}`);

// maxRetries 0: the SDK must not hide the daemon's answers behind its own retries.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const ok = (what) => console.log(`ok ${what}`);

const weatherTools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
        required: ['city'],
      },
    },
  },
  {
    type: 'function',
    function: { name: 'get_time', description: 'Local time', parameters: { type: 'object', properties: {} } },
  },
];

const cases = {
  async chat() {
    for (const model of ['gpt-4o-mini', 'command-r-plus']) {
      const r = await client.chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'hello from the sdk' },
        ],
      });
      assert.equal(r.object, 'chat.completion');
      assert.match(r.id, /^chatcmpl-/);
      assert.equal(r.model, model);
      assert.equal(r.choices.length, 1);
      assert.equal(r.choices[0].message.role, 'assistant');
      assert.equal(r.choices[0].message.content, 'Hello from the OCI mock. You said: hello from the sdk');
      assert.equal(r.choices[0].finish_reason, 'stop');
      assert.ok(r.usage.prompt_tokens > 0);
      assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
      ok(`chat ${model}`);
    }
    // withResponse: the SDK sees the daemon's headers.
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 })
      .withResponse();
    assert.equal(response.status, 200);
    assert.equal(data.choices[0].finish_reason, 'length');
    assert.equal(data.choices[0].message.content, 'Hello from ');
    ok('chat max_tokens');
  },

  async stream() {
    for (const model of ['gpt-4o-mini', 'command-r-plus']) {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'stream to the sdk' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish = null;
      let usage = null;
      let chunks = 0;
      const ids = new Set();
      for await (const chunk of stream) {
        chunks += 1;
        assert.equal(chunk.object, 'chat.completion.chunk');
        ids.add(chunk.id);
        if (chunk.usage) {
          assert.equal(chunk.choices.length, 0);
          usage = chunk.usage;
          continue;
        }
        text += chunk.choices[0].delta.content ?? '';
        finish = chunk.choices[0].finish_reason ?? finish;
      }
      assert.equal(text, 'Hello from the OCI mock. You said: stream to the sdk');
      assert.equal(finish, 'stop');
      assert.ok(usage && usage.completion_tokens > 0, 'usage chunk');
      assert.equal(ids.size, 1);
      assert.ok(chunks >= 3);
      ok(`stream ${model} (${chunks} chunks)`);
    }
    // The SDK's stream helper accumulates the same completion.
    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'helper' }],
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Hello from the OCI mock. You said: helper');
    assert.equal(final.choices[0].finish_reason, 'stop');
    ok('stream helper finalChatCompletion');
  },

  async tools() {
    const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: weatherTools });
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius' });
    assert.ok(call.id);
    ok('tool call');

    // Round trip: the assistant's call and the tool's answer go back.
    messages.push(choice.message);
    messages.push({ role: 'tool', tool_call_id: call.id, content: '18 degrees and sunny' });
    const second = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools: weatherTools });
    assert.equal(second.choices[0].message.content, 'The tool returned: 18 degrees and sunny');
    assert.equal(second.choices[0].finish_reason, 'stop');
    ok('tool result round trip');

    // Streamed: the SDK assembles the progressive fragments into one call.
    const runner = client.chat.completions.stream({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'And in Paris, streamed?' }],
      tools: weatherTools,
    });
    let fragments = 0;
    runner.on('chunk', (chunk) => {
      if (chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments) fragments += 1;
    });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0].message.tool_calls;
    assert.equal(streamed.length, 1);
    assert.equal(streamed[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(streamed[0].function.arguments), { city: 'Paris', unit: 'celsius' });
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.ok(fragments >= 2, `argument fragments: ${fragments}`);
    ok(`streamed tool call (${fragments} fragments)`);
  },

  async embeddings() {
    const input = ['the quick brown fox', 'jumps over the lazy dog'];
    // The SDK's default: encoding_format base64, decoded by the SDK into numbers.
    const b64 = await client.embeddings.create({ model: 'text-embedding-3-small', input });
    assert.equal(b64.object, 'list');
    assert.equal(b64.data.length, 2);
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input, encoding_format: 'float' });
    for (let i = 0; i < 2; i += 1) {
      const a = b64.data[i].embedding;
      const b = floats.data[i].embedding;
      assert.equal(b64.data[i].index, i);
      assert.ok(Array.isArray(a) && a.length > 0, 'decoded vector');
      assert.equal(a.length, b.length);
      const norm = Math.sqrt(a.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `unit norm, got ${norm}`);
      for (let k = 0; k < a.length; k += 1) {
        assert.ok(Math.abs(a[k] - b[k]) < 1e-6, `component ${k}: ${a[k]} vs ${b[k]}`);
      }
    }
    assert.ok(b64.usage.prompt_tokens > 0);
    ok('embeddings base64 == float');
    const single = await client.embeddings.create({ model: 'text-embedding-3-small', input: input[1] });
    assert.deepEqual(single.data[0].embedding, b64.data[1].embedding);
    ok('embeddings single input');
  },

  async models() {
    const ids = [];
    for await (const m of client.models.list()) {
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    for (const alias of ['gpt-4o-mini', 'command-r-plus', 'text-embedding-3-small']) {
      assert.ok(ids.includes(alias), `${alias} in ${ids}`);
    }
    ok(`models (${ids.length})`);
    // retrieve(): GET /v1/models/{id} as the SDK encodes the id; an unknown id is a NotFoundError.
    const one = await client.models.retrieve('gpt-4o-mini');
    assert.equal(one.id, 'gpt-4o-mini');
    assert.equal(one.object, 'model');
    assert.equal(one.owned_by, 'meta');
    try {
      await client.models.retrieve('ft:gpt-4o:org/x');
      assert.fail('retrieve of an unknown model succeeded');
    } catch (e) {
      assert.ok(e instanceof OpenAI.NotFoundError, `${e}`);
      assert.equal(e.code, 'model_not_found');
      assert.ok(e.message.includes('ft:gpt-4o:org/x'), e.message);
    }
    ok('models.retrieve (and NotFoundError)');
  },

  async errors() {
    const expectError = async (what, promise, cls, status) => {
      try {
        await promise;
      } catch (e) {
        assert.ok(e instanceof cls, `${what}: ${e?.constructor?.name} is not ${cls.name}: ${e}`);
        assert.ok(e instanceof OpenAI.APIError, `${what}: not an APIError`);
        assert.equal(e.status, status, `${what}: status`);
        assert.ok(e.error && typeof e.error.message === 'string', `${what}: OpenAI error body`);
        ok(`${what} -> ${cls.name} ${e.status}`);
        return e;
      }
      throw new Error(`${what}: no error`);
    };
    const chat = (c, model) => c.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
    const wrongKey = new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0, timeout: 20_000 });
    await expectError('wrong key', chat(wrongKey, 'gpt-4o-mini'), OpenAI.AuthenticationError, 401);
    const nf = await expectError('unknown model', chat(client, 'meta.unknown-x'), OpenAI.NotFoundError, 404);
    assert.equal(nf.code, 'model_not_found');
    const rl = await expectError('rate limited', chat(client, 'meta.mock-429'), OpenAI.RateLimitError, 429);
    assert.ok(rl.headers?.get?.('retry-after') ?? rl.headers?.['retry-after'], 'Retry-After');
    const ise = await expectError('upstream 500', chat(client, 'meta.mock-500'), OpenAI.InternalServerError, 502);
    assert.ok(ise instanceof OpenAI.APIError);
    // A stream request fails before the stream starts: the same classes.
    await expectError(
      'stream unknown model',
      client.chat.completions.create({ model: 'meta.unknown-x', messages: [{ role: 'user', content: 'x' }], stream: true }),
      OpenAI.NotFoundError,
      404,
    );
  },
};

const name = process.argv[2];
if (!cases[name]) {
  console.error(`unknown case '${name}'; cases: ${Object.keys(cases).join(', ')}`);
  process.exit(2);
}
await cases[name]();
console.log(`PASS ${name} (openai ${version}, node ${process.version})`);
