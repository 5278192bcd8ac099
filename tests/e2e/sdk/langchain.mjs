// LangChain JS (`@langchain/openai` + `@langchain/core`, zod 4): ChatOpenAI on its default
// chat completions route (POST /v1/chat/completions), OpenAIEmbeddings (POST /v1/embeddings),
// and ChatOpenAI with `useResponsesApi: true` (POST /v1/responses), against the daemon backed by
// oci-genai-mock. Usage: node langchain.mjs <case>, environment: common.mjs. The test program
// checks in the daemon's access log which route each case used.
// The mock (src/mock/inference.cpp) echoes the last user turn, calls the first offered tool with
// {"city":"Paris","unit":"celsius"} when the last turn is a user's, answers a tool result with
// "The tool returned: <result>", and in JSON-schema mode answers a sample of the schema.
import assert from 'node:assert/strict';
import { apiKey, baseURL, echo, load, main, ok, versionOf } from './common.mjs';

const versions = [
  `@langchain/openai ${versionOf('@langchain/openai', /^1\./)}`,
  `@langchain/core ${versionOf('@langchain/core', /^1\./)}`,
  `zod ${versionOf('zod', /^4\./)}`,
].join(', ');
// LangSmith tracing would post runs to LangSmith: off, whatever the environment says.
for (const v of ['LANGSMITH_TRACING', 'LANGSMITH_TRACING_V2', 'LANGCHAIN_TRACING', 'LANGCHAIN_TRACING_V2']) {
  process.env[v] = 'false';
}
const { ChatOpenAI, OpenAIEmbeddings } = await load('@langchain/openai');
const { HumanMessage, SystemMessage, AIMessage, ToolMessage } = await load('@langchain/core/messages');
const { tool } = await load('@langchain/core/tools');
const { z } = await load('zod');

// As a user would build them: only the base URL and the key differ from OpenAI's. maxRetries 0:
// a failure shows at once; timeout: every call is bounded.
const common = { apiKey, configuration: { baseURL }, maxRetries: 0, timeout: 20_000 };
const chat = (model, extra = {}) => new ChatOpenAI({ ...common, model, ...extra });
const models = ['gpt-4o-mini', 'command-r-plus'];

const getWeather = (calls) =>
  tool(
    async ({ city, unit }) => {
      calls.push({ city, unit });
      return `18 degrees ${unit} and sunny in ${city}`;
    },
    {
      name: 'get_weather',
      description: 'Current weather in a city',
      schema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
    },
  );

// The mock's answer to a tool result: GENERIC sees the tool message's text, Cohere the
// toolResults outputs (the proxy wraps a text result as [{"output": <text>}]).
function checkToolAnswer(text, modelId, result) {
  assert.match(text, /^The tool returned: /, `final text of ${modelId}`);
  if (modelId === 'command-r-plus') {
    assert.ok(text.includes(JSON.stringify(result)), `${JSON.stringify(result)} in ${text}`);
  } else {
    assert.equal(text, `The tool returned: ${result}`, `final text of ${modelId}`);
  }
}

// One bindTools round trip: the model's tool call is executed (tool.invoke(toolCall) gives the
// ToolMessage) and sent back; the final answer holds the tool's result.
async function toolRoundTrip(llm, modelId, what) {
  const calls = [];
  const weather = getWeather(calls);
  const withTools = llm.bindTools([weather]);
  const messages = [new HumanMessage('What is the weather in Paris?')];
  const ai = await withTools.invoke(messages);
  assert.ok(ai instanceof AIMessage, `an AIMessage: ${ai?.constructor?.name}`);
  assert.equal(ai.tool_calls.length, 1, `tool calls of ${modelId}: ${JSON.stringify(ai.tool_calls)}`);
  const [call] = ai.tool_calls;
  assert.equal(call.name, 'get_weather');
  assert.deepEqual(call.args, { city: 'Paris', unit: 'celsius' });
  assert.ok(call.id, 'a tool call id');
  const toolMessage = await weather.invoke(call);
  assert.ok(toolMessage instanceof ToolMessage, `a ToolMessage: ${toolMessage?.constructor?.name}`);
  assert.equal(toolMessage.tool_call_id, call.id);
  assert.deepEqual(calls, [{ city: 'Paris', unit: 'celsius' }]);
  messages.push(ai, toolMessage);
  const final = await withTools.invoke(messages);
  assert.deepEqual(final.tool_calls ?? [], []);
  checkToolAnswer(final.text, modelId, '18 degrees celsius and sunny in Paris');
  ok(`${what} bindTools round trip ${modelId}: ${final.text}`);
}

const cases = {
  async invoke() {
    for (const modelId of models) {
      const llm = chat(modelId);
      const r = await llm.invoke('hello from langchain');
      assert.ok(r instanceof AIMessage);
      assert.equal(r.content, echo('hello from langchain'), `content of ${modelId}`);
      assert.equal(r.response_metadata.finish_reason, 'stop');
      assert.equal(r.response_metadata.model_name, modelId);
      assert.match(r.id, /^chatcmpl-/, 'a chat completion id');
      assert.ok(r.usage_metadata.input_tokens > 0, 'usage_metadata.input_tokens');
      assert.ok(r.usage_metadata.output_tokens > 0, 'usage_metadata.output_tokens');
      ok(`invoke ${modelId} (${r.id})`);

      const conv = await chat(modelId, { temperature: 0.2, maxTokens: 100 }).invoke([
        new SystemMessage('You are terse.'),
        new HumanMessage('first question'),
        new AIMessage('first answer'),
        new HumanMessage({ content: [{ type: 'text', text: 'second question' }] }),
      ]);
      assert.equal(conv.content, echo('second question'));
      ok(`invoke with a system prompt and a conversation ${modelId}`);
    }
    const cut = await chat('gpt-4o-mini', { maxTokens: 2 }).invoke('x');
    assert.equal(cut.content, 'Hello from ');
    assert.equal(cut.response_metadata.finish_reason, 'length');
    ok('invoke maxTokens -> length');
  },

  async stream() {
    for (const modelId of models) {
      const prompt = `stream to langchain ${modelId}`;
      const stream = await chat(modelId).stream(prompt);
      let full = null;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks += 1;
        full = full === null ? chunk : full.concat(chunk);
      }
      assert.equal(full.content, echo(prompt), `streamed content of ${modelId}`);
      assert.ok(chunks >= 3, `chunks: ${chunks}`);
      // streamUsage (the default) asks for stream_options.include_usage.
      assert.ok(full.usage_metadata?.output_tokens > 0, `usage_metadata ${JSON.stringify(full.usage_metadata)}`);
      ok(`stream ${modelId} (${chunks} chunks)`);
    }
  },

  async tools() {
    for (const modelId of models) await toolRoundTrip(chat(modelId), modelId, 'chat completions');

    // Streamed (GENERIC: the call's arguments arrive in fragments, merged by concat).
    const stream = await chat('gpt-4o-mini')
      .bindTools([getWeather([])])
      .stream('And in Paris, streamed?');
    let full = null;
    for await (const chunk of stream) full = full === null ? chunk : full.concat(chunk);
    assert.equal(full.tool_calls.length, 1, JSON.stringify(full.tool_calls));
    assert.equal(full.tool_calls[0].name, 'get_weather');
    assert.deepEqual(full.tool_calls[0].args, { city: 'Paris', unit: 'celsius' });
    ok('streamed tool call');
  },

  // withStructuredOutput: its default method for these model names is jsonSchema (response_format
  // json_schema); functionCalling forces a tool call instead.
  async structured() {
    const schema = z.object({
      city: z.string(),
      unit: z.enum(['celsius', 'fahrenheit']),
      degrees: z.number(),
      note: z.string().nullable(),
    });
    for (const modelId of models) {
      // The mock's sample of the schema that reached OCI (strings: the responseFormat type).
      const m = modelId === 'command-r-plus' ? 'JSON_OBJECT' : 'JSON_SCHEMA';
      const r = await chat(modelId).withStructuredOutput(schema, { name: 'weather' }).invoke('Weather in Paris as JSON');
      assert.deepEqual(r, { city: m, unit: 'celsius', degrees: 1, note: m }, `jsonSchema of ${modelId}`);
      ok(`withStructuredOutput ${modelId}: ${JSON.stringify(r)}`);
    }
    // functionCalling: the mock calls the one offered tool with its fixed arguments.
    const place = z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) });
    const fc = await chat('gpt-4o-mini')
      .withStructuredOutput(place, { name: 'place', method: 'functionCalling' })
      .invoke('Where?');
    assert.deepEqual(fc, { city: 'Paris', unit: 'celsius' });
    ok(`withStructuredOutput functionCalling: ${JSON.stringify(fc)}`);
  },

  async embeddings() {
    const embeddings = new OpenAIEmbeddings({ ...common, model: 'text-embedding-3-small' });
    const docs = ['the quick brown fox', 'jumps over the lazy dog'];
    const vectors = await embeddings.embedDocuments(docs);
    assert.equal(vectors.length, 2);
    for (const v of vectors) {
      // The mock's Cohere embedding: 16 dimensions, unit norm.
      assert.equal(v.length, 16, 'dimensions');
      const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `unit norm, got ${norm}`);
    }
    assert.notDeepEqual(vectors[0], vectors[1]);
    const query = await embeddings.embedQuery(docs[1]);
    assert.equal(query.length, 16);
    for (let k = 0; k < 16; k += 1) assert.ok(Math.abs(query[k] - vectors[1][k]) < 1e-6, `component ${k}`);
    ok(`embedDocuments (${vectors.length} x ${vectors[0].length}) and embedQuery`);
  },

  // useResponsesApi: true (also chosen by LangChain itself for built-in tools, `text`,
  // `include`, `reasoning.summary` or `previous_response_id`): the same calls on /v1/responses.
  async responses() {
    for (const modelId of models) {
      const llm = chat(modelId, { useResponsesApi: true });
      const r = await llm.invoke('hello over responses');
      assert.equal(r.text, echo('hello over responses'), `text of ${modelId}`);
      assert.match(r.id ?? r.response_metadata.id, /^(resp|msg)_/, `an id of the Responses API: ${r.id}`);
      ok(`invoke with useResponsesApi ${modelId}`);

      let full = null;
      for await (const chunk of await llm.stream('stream over responses')) full = full === null ? chunk : full.concat(chunk);
      assert.equal(full.text, echo('stream over responses'), `streamed text of ${modelId}`);
      assert.ok(full.usage_metadata?.output_tokens > 0, `usage_metadata ${JSON.stringify(full.usage_metadata)}`);
      ok(`stream with useResponsesApi ${modelId}`);

      const m = modelId === 'command-r-plus' ? 'JSON_OBJECT' : 'JSON_SCHEMA';
      const schema = z.object({ city: z.string(), note: z.string().nullable() });
      const structured = await llm.withStructuredOutput(schema, { name: 'weather' }).invoke('Weather in Paris as JSON');
      assert.deepEqual(structured, { city: m, note: m }, `withStructuredOutput of ${modelId}`);
      ok(`withStructuredOutput with useResponsesApi ${modelId}`);

      await toolRoundTrip(llm, modelId, 'responses');
    }
  },
};

await main(cases, versions);
