// The official OpenAI Node SDK (openai 6.x) on the daemon's `openai` route: an alias whose
// requests the daemon forwards to OCI's OpenAI-compatible endpoint (oci-genai-mock's
// /openai/v1/...), signed (instance principal) or with a GenAI API key, depending on how the
// test program configured the daemon. Usage: node openai_route.mjs <case>, environment:
// common.mjs and
//   OGP_OPENAI_MODEL     the openai-route alias (e.g. gpt-oss)
//   OGP_OPENAI_MODEL_ID  its OCI id, which the answers carry (the body is relayed as OCI sent it)
// Prints one `ok ...` line per check; any failed check throws, and node exits non-zero.
import assert from 'node:assert/strict';
import { apiKey, baseURL, main, ok, requireFromPrefix, versionOf } from './common.mjs';

const version = versionOf('openai', /^6\./);
const sdk = requireFromPrefix('openai');
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;
const { toFile } = sdk;
const { OGP_OPENAI_MODEL: model, OGP_OPENAI_MODEL_ID: modelId } = process.env;
assert.ok(model && modelId, 'OGP_OPENAI_MODEL and OGP_OPENAI_MODEL_ID must be set');
// maxRetries 0: the SDK must not hide the daemon's answers behind its own retries. A client
// `project` must not reach OCI (the daemon sends its configured one; the test program checks).
const client = new OpenAI({
  baseURL,
  apiKey,
  maxRetries: 0,
  timeout: 20_000,
  project: 'ocid1.generativeaiproject.oc1..from-the-client',
});

// Awaits `promise`, which must fail with the SDK's error class `cls` and `status`.
async function expectError(what, promise, cls, status) {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof cls, `${what}: ${e?.constructor?.name} is not ${cls.name}: ${e}`);
    assert.ok(e instanceof OpenAI.APIError, `${what}: not an APIError`);
    assert.equal(e.status, status, `${what}: status`);
    ok(`${what} -> ${cls.name} ${e.status}`);
    return e;
  }
  assert.fail(`${what}: no error`);
}

const cases = {
  // Chat completions (plain and stream) and Responses (create, stream, retrieve, a second turn,
  // delete) on the openai-route alias.
  async inference() {
    const chat = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hello from the sdk on the openai route' },
      ],
      temperature: 0.3,
    });
    assert.equal(chat.object, 'chat.completion');
    assert.equal(chat.model, modelId);
    assert.equal(chat.choices[0].message.role, 'assistant');
    assert.ok(chat.choices[0].message.content.includes('hello from the sdk on the openai route'), chat.choices[0].message.content);
    ok(`chat.completions.create: ${chat.choices[0].message.content}`);

    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'stream on the openai route' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage = null;
    for await (const chunk of stream) {
      chunks += 1;
      assert.equal(chunk.object, 'chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.ok(chunks >= 3, `chunks: ${chunks}`);
    assert.ok(text.includes('stream on the openai route'), text);
    assert.ok(usage === null || usage.completion_tokens > 0, JSON.stringify(usage));
    ok(`chat.completions.create stream (${chunks} chunks)`);

    const first = await client.responses.create({ model, input: 'first turn on the openai route' });
    assert.equal(first.object, 'response');
    assert.match(first.id, /^resp/);
    assert.equal(first.status, 'completed');
    assert.ok(first.output_text.includes('first turn on the openai route'), first.output_text);
    ok(`responses.create (${first.id})`);

    const events = client.responses.stream({ model, input: 'stream the response' });
    let deltas = '';
    const types = new Set();
    for await (const event of events) {
      types.add(event.type);
      if (event.type === 'response.output_text.delta') deltas += event.delta;
    }
    const final = await events.finalResponse();
    assert.ok(types.has('response.created') && types.has('response.completed'), [...types].join(' '));
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, deltas);
    assert.ok(deltas.includes('stream the response'), deltas);
    ok(`responses.stream + finalResponse (${final.id})`);

    const got = await client.responses.retrieve(first.id);
    assert.equal(got.id, first.id);
    assert.equal(got.output_text, first.output_text);
    ok('responses.retrieve');

    const second = await client.responses.create({ model, input: 'and the second turn', previous_response_id: first.id });
    assert.equal(second.status, 'completed');
    assert.ok(second.output_text.includes('turn 2'), second.output_text);
    ok(`previous_response_id: ${second.output_text}`);
    await expectError(
      'previous_response_id unknown',
      client.responses.create({ model, input: 'x', previous_response_id: 'resp_unknown_e2e' }),
      OpenAI.NotFoundError,
      404,
    );

    await client.responses.delete(first.id);
    ok('responses.delete');
    await expectError('responses.retrieve after delete', client.responses.retrieve(first.id), OpenAI.NotFoundError, 404);
    await expectError('responses.retrieve unknown', client.responses.retrieve('resp_never_was'), OpenAI.NotFoundError, 404);
  },

  // Files, conversations and vector stores: state kept by OCI in the project.
  async state() {
    const bytes = Buffer.from('first line\nsecond line\n\u0000\u0001 binary \xff end\n', 'latin1');
    const file = await client.files.create({ file: await toFile(bytes, 'notes.txt'), purpose: 'assistants' });
    assert.match(file.id, /^file/);
    assert.equal(file.filename, 'notes.txt');
    assert.equal(file.bytes, bytes.length);
    ok(`files.create (${file.id}, ${file.bytes} bytes)`);

    const list = await client.files.list();
    assert.ok(list.data.some((f) => f.id === file.id), JSON.stringify(list.data));
    ok(`files.list (${list.data.length})`);
    const meta = await client.files.retrieve(file.id);
    assert.equal(meta.id, file.id);
    assert.equal(meta.filename, 'notes.txt');
    ok('files.retrieve');
    const content = await client.files.content(file.id);
    const back = Buffer.from(await content.arrayBuffer());
    assert.ok(back.equals(bytes), `content: ${back.toString('latin1')}`);
    ok('files.content byte for byte');
    const deleted = await client.files.delete(file.id);
    assert.equal(deleted.id, file.id);
    assert.equal(deleted.deleted, true);
    ok('files.delete');
    await expectError('files.retrieve after delete', client.files.retrieve(file.id), OpenAI.NotFoundError, 404);

    const conv = await client.conversations.create({ metadata: { topic: 'e2e' } });
    assert.match(conv.id, /^conv/);
    assert.equal(conv.object, 'conversation');
    ok(`conversations.create (${conv.id})`);
    const convGot = await client.conversations.retrieve(conv.id);
    assert.equal(convGot.id, conv.id);
    assert.deepEqual(convGot.metadata, { topic: 'e2e' });
    ok('conversations.retrieve');
    const convDeleted = await client.conversations.delete(conv.id);
    assert.equal(convDeleted.id, conv.id);
    assert.equal(convDeleted.deleted, true);
    ok('conversations.delete');
    await expectError('conversations.retrieve after delete', client.conversations.retrieve(conv.id), OpenAI.NotFoundError, 404);

    const store = await client.vectorStores.create({ name: 'e2e store' });
    assert.match(store.id, /^vs/);
    assert.equal(store.name, 'e2e store');
    ok(`vectorStores.create (${store.id})`);
    const stores = await client.vectorStores.list();
    assert.ok(stores.data.some((s) => s.id === store.id), JSON.stringify(stores.data));
    ok(`vectorStores.list (${stores.data.length})`);
    const storeDeleted = await client.vectorStores.delete(store.id);
    assert.equal(storeDeleted.id, store.id);
    assert.equal(storeDeleted.deleted, true);
    ok('vectorStores.delete');
  },
};

await main(cases, `openai ${version}`);
