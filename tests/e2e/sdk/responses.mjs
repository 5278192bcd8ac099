// The official OpenAI Node SDK (openai 6.x) on the Responses API (`POST /v1/responses`) of the
// daemon (backed by oci-genai-mock). Usage: node responses.mjs <case>, environment: common.mjs.
// Prints one `ok ...` line per check; any failed check throws, and node exits non-zero.
// Models: gpt-4o-mini (meta llama, OCI's GENERIC format) and command-r-plus (Cohere).
import assert from 'node:assert/strict';
import { apiKey, baseURL, echo, main, ok, requireFromPrefix, versionOf } from './common.mjs';

const version = versionOf('openai', /^6\./);
const sdk = requireFromPrefix('openai');
const OpenAI = sdk.OpenAI ?? sdk.default ?? sdk;
// maxRetries 0: the SDK must not hide the daemon's answers behind its own retries.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
const models = ['gpt-4o-mini', 'command-r-plus'];

const weatherTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city', 'unit'],
    additionalProperties: false,
  },
  strict: true,
};
const timeTool = {
  type: 'function',
  name: 'get_time',
  description: 'Local time',
  parameters: { type: 'object', properties: {}, additionalProperties: false },
  strict: false,
};

// The checks every completed Response passes: its one message item holds `text`.
function checkResponse(r, model, text, what) {
  assert.equal(r.object, 'response', `${what}: object`);
  assert.match(r.id, /^resp_/, `${what}: id`);
  assert.equal(r.status, 'completed', `${what}: status`);
  assert.equal(r.model, model, `${what}: model`);
  assert.equal(typeof r.created_at, 'number', `${what}: created_at`);
  assert.equal(r.error ?? null, null, `${what}: error`);
  // The mock does not reason: the output is the one message.
  assert.equal(r.output.length, 1, `${what}: one output item in ${JSON.stringify(r.output)}`);
  const [message] = r.output;
  assert.equal(message.type, 'message');
  assert.equal(message.role, 'assistant');
  assert.equal(message.status, 'completed');
  assert.ok(message.id, `${what}: message id`);
  assert.equal(message.content.length, 1);
  assert.equal(message.content[0].type, 'output_text');
  assert.equal(message.content[0].text, text, `${what}: output text`);
  assert.deepEqual(message.content[0].annotations, []);
  // The SDK's helper concatenates the output_text parts.
  assert.equal(r.output_text, text, `${what}: output_text`);
  assert.ok(r.usage.input_tokens > 0, `${what}: usage.input_tokens`);
  assert.ok(r.usage.output_tokens > 0, `${what}: usage.output_tokens`);
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens, `${what}: usage total`);
}

const cases = {
  async create() {
    for (const model of models) {
      // A string input.
      const r = await client.responses.create({ model, input: 'hello from the responses sdk' });
      checkResponse(r, model, echo('hello from the responses sdk'), `string input ${model}`);
      ok(`responses.create string input ${model} (${r.id})`);

      // An item list with instructions and an earlier exchange: the last user turn is answered.
      const items = await client.responses.create({
        model,
        instructions: 'You are terse.',
        input: [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'second question' }] },
        ],
        temperature: 0.2,
        max_output_tokens: 100,
        metadata: { suite: 'e2e' },
      });
      checkResponse(items, model, echo('second question'), `item list ${model}`);
      // The request's parameters are repeated in the Response.
      assert.equal(items.instructions, 'You are terse.');
      assert.equal(items.temperature, 0.2);
      assert.equal(items.max_output_tokens, 100);
      assert.deepEqual(items.metadata, { suite: 'e2e' });
      assert.equal(items.previous_response_id ?? null, null);
      assert.notEqual(items.id, r.id);
      ok(`responses.create item list with instructions ${model}`);
    }

    // max_output_tokens cuts the answer: status incomplete with the reason.
    const cut = await client.responses.create({ model: 'gpt-4o-mini', input: 'x', max_output_tokens: 2 });
    assert.equal(cut.status, 'incomplete');
    assert.equal(cut.incomplete_details?.reason, 'max_output_tokens');
    assert.equal(cut.output_text, 'Hello from ');
    ok('responses.create max_output_tokens -> incomplete');

    // withResponse: the daemon's headers reach the SDK.
    const { data, response } = await client.responses.create({ model: 'gpt-4o-mini', input: 'hi' }).withResponse();
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^application\/json/);
    assert.equal(data.output_text, echo('hi'));
    ok('responses.create withResponse');
  },

  async stream() {
    const expectedOrder = [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ];
    for (const model of models) {
      const prompt = `stream to the responses sdk ${model}`;
      const stream = client.responses.stream({ model, input: prompt, instructions: 'Be brief.' });
      const types = [];
      let deltas = '';
      let deltaEvents = 0;
      let lastSequence = -1;
      let created = null;
      let doneText = null;
      for await (const event of stream) {
        assert.ok(event.sequence_number > lastSequence, `sequence_number ${event.sequence_number} after ${lastSequence}`);
        lastSequence = event.sequence_number;
        // Consecutive deltas count once in the order.
        if (types.at(-1) !== event.type || event.type !== 'response.output_text.delta') types.push(event.type);
        if (event.type === 'response.created') created = event.response;
        if (event.type === 'response.output_text.delta') {
          deltas += event.delta;
          deltaEvents += 1;
          assert.equal(event.output_index, 0);
          assert.equal(event.content_index, 0);
          assert.ok(event.item_id, 'delta item_id');
        }
        if (event.type === 'response.output_text.done') doneText = event.text;
      }
      const final = await stream.finalResponse();
      assert.deepEqual(types, expectedOrder, `event order for ${model}`);
      assert.equal(created.status, 'in_progress');
      assert.equal(created.id, final.id);
      assert.equal(deltas, echo(prompt), `deltas of ${model}`);
      assert.equal(doneText, deltas);
      assert.ok(deltaEvents >= 3, `delta events: ${deltaEvents}`);
      checkResponse(final, model, deltas, `finalResponse ${model}`);
      assert.equal(final.instructions, 'Be brief.');
      ok(`responses.stream ${model} (${deltaEvents} deltas, ${lastSequence + 1} events)`);
    }

    // stream: true on create: the raw events, the last one the whole Response.
    const raw = await client.responses.create({ model: 'command-r-plus', input: 'raw events', stream: true });
    let last = null;
    let text = '';
    for await (const event of raw) {
      last = event;
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    assert.equal(last.type, 'response.completed');
    assert.equal(text, echo('raw events'));
    assert.equal(last.response.output_text ?? last.response.output[0].content[0].text, text);
    ok('responses.create stream: true');
  },

  async tools() {
    for (const model of models) {
      const input = [{ role: 'user', content: 'What is the weather in Paris?' }];
      const first = await client.responses.create({ model, input, tools: [weatherTool, timeTool] });
      assert.equal(first.status, 'completed');
      const calls = first.output.filter((item) => item.type === 'function_call');
      assert.equal(calls.length, 1, `one function_call in ${JSON.stringify(first.output)}`);
      const [call] = calls;
      assert.equal(call.name, 'get_weather');
      assert.ok(call.call_id, 'call_id');
      assert.ok(call.id, 'item id');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris', unit: 'celsius' });
      assert.equal(first.output_text, '');
      assert.equal(first.tools.length, 2);
      ok(`function_call ${model} (${call.call_id})`);

      // Round trip: the call and its output go back as items.
      const second = await client.responses.create({
        model,
        input: [...input, ...first.output, { type: 'function_call_output', call_id: call.call_id, output: '18 degrees and sunny' }],
        tools: [weatherTool, timeTool],
      });
      assert.equal(second.status, 'completed');
      // GENERIC hands the output over as it is; Cohere as its tool result (the output inside).
      assert.match(second.output_text, /^The tool returned: /);
      assert.ok(second.output_text.includes('18 degrees and sunny'), second.output_text);
      if (model === 'gpt-4o-mini') assert.equal(second.output_text, 'The tool returned: 18 degrees and sunny');
      assert.equal(second.output.filter((item) => item.type === 'function_call').length, 0);
      ok(`function_call_output round trip ${model}: ${second.output_text}`);
    }

    // Streamed: the call's arguments arrive in fragments, the final Response holds the call.
    const stream = client.responses.stream({
      model: 'gpt-4o-mini',
      input: 'And in Paris, streamed?',
      tools: [weatherTool],
      tool_choice: 'auto',
    });
    let fragments = '';
    let added = null;
    let argsDone = null;
    for await (const event of stream) {
      if (event.type === 'response.output_item.added' && event.item.type === 'function_call') added = event.item;
      if (event.type === 'response.function_call_arguments.delta') fragments += event.delta;
      if (event.type === 'response.function_call_arguments.done') argsDone = event.arguments;
    }
    const final = await stream.finalResponse();
    const call = final.output.find((item) => item.type === 'function_call');
    assert.ok(added, 'output_item.added for the function_call');
    assert.equal(added.name, 'get_weather');
    assert.equal(added.call_id, call.call_id);
    assert.equal(fragments, call.arguments);
    assert.equal(argsDone, call.arguments);
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris', unit: 'celsius' });
    ok('streamed function_call');
  },

  async json_schema() {
    const schema = {
      type: 'object',
      properties: {
        city: { type: 'string' },
        temperature: { type: 'number' },
        sky: { type: 'string', enum: ['sunny', 'cloudy'] },
        alerts: { type: 'array', items: { type: 'string' } },
      },
      required: ['city', 'temperature', 'sky', 'alerts'],
      additionalProperties: false,
    };
    const text = { format: { type: 'json_schema', name: 'weather', schema, strict: true } };
    // The mock answers JSON mode with a sample of the schema it received, its strings the
    // responseFormat type OCI got: JSON_SCHEMA (GENERIC) or JSON_OBJECT with the schema (Cohere).
    for (const [model, marker] of [
      ['gpt-4o-mini', 'JSON_SCHEMA'],
      ['command-r-plus', 'JSON_OBJECT'],
    ]) {
      const expected = { city: marker, temperature: 1, sky: 'sunny', alerts: [marker] };
      const r = await client.responses.create({ model, input: 'Weather in Paris as JSON', text });
      assert.equal(r.status, 'completed');
      assert.deepEqual(JSON.parse(r.output_text), expected, `the schema reached OCI for ${model}`);
      assert.equal(r.text?.format?.type, 'json_schema', 'text.format echoed');
      assert.equal(r.text.format.name, 'weather');
      ok(`text.format json_schema ${model}: ${r.output_text}`);

      // The SDK's parse helper: output_parsed.
      const parsed = await client.responses.parse({ model, input: 'Weather in Paris, parsed', text });
      assert.deepEqual(parsed.output_parsed, expected);
      ok(`responses.parse ${model}`);
    }

    // json_object: no schema, the mock answers {"echo": ...}.
    const jo = await client.responses.create({
      model: 'gpt-4o-mini',
      input: 'Answer in JSON',
      text: { format: { type: 'json_object' } },
    });
    assert.deepEqual(JSON.parse(jo.output_text), { echo: echo('Answer in JSON') });
    ok('text.format json_object');
  },

  async errors() {
    const expectError = async (what, promise, cls, status) => {
      try {
        await promise;
      } catch (e) {
        assert.ok(e instanceof cls, `${what}: ${e?.constructor?.name} is not ${cls.name}: ${e}`);
        assert.equal(e.status, status, `${what}: status`);
        assert.ok(e.error && typeof e.error.message === 'string', `${what}: OpenAI error body`);
        ok(`${what} -> ${cls.name} ${e.status}: ${e.error.message}`);
        return e;
      }
      throw new Error(`${what}: no error`);
    };
    // The daemon keeps no state: previous_response_id is refused, naming the parameter.
    const prev = await expectError(
      'previous_response_id',
      client.responses.create({ model: 'gpt-4o-mini', input: 'again', previous_response_id: 'resp_0123456789abcdef' }),
      OpenAI.BadRequestError,
      400,
    );
    assert.equal(prev.param, 'previous_response_id');
    const conv = await expectError(
      'conversation',
      client.responses.create({ model: 'gpt-4o-mini', input: 'again', conversation: 'conv_0123456789abcdef' }),
      OpenAI.BadRequestError,
      400,
    );
    assert.equal(conv.param, 'conversation');
    // A built-in tool OCI cannot run is refused up front, naming the tool; so is web_search on
    // a Cohere model (OCI's web search is GENERIC's).
    for (const [what, model, tool] of [
      ['built-in file_search tool', 'gpt-4o-mini', { type: 'file_search', vector_store_ids: ['vs_1'] }],
      ['web_search on Cohere', 'command-r-plus', { type: 'web_search' }],
    ]) {
      const e = await expectError(what, client.responses.create({ model, input: 'search', tools: [tool] }), OpenAI.BadRequestError, 400);
      assert.match(e.param ?? '', /^tools/, `${what}: param ${e.param}`);
    }
    // Nothing is stored, so nothing can be retrieved (or deleted).
    await expectError('GET /v1/responses/{id}', client.responses.retrieve('resp_0123456789abcdef'), OpenAI.NotFoundError, 404);
    // The usual errors on this route too.
    const wrongKey = new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0, timeout: 20_000 });
    await expectError('wrong key', wrongKey.responses.create({ model: 'gpt-4o-mini', input: 'x' }), OpenAI.AuthenticationError, 401);
    const nf = await expectError(
      'unknown model',
      client.responses.create({ model: 'meta.unknown-x', input: 'x' }),
      OpenAI.NotFoundError,
      404,
    );
    assert.equal(nf.code, 'model_not_found');
    await expectError(
      'stream unknown model',
      client.responses.create({ model: 'meta.unknown-x', input: 'x', stream: true }),
      OpenAI.NotFoundError,
      404,
    );
  },
};

await main(cases, `openai ${version}`);
