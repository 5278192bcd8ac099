// The Vercel AI SDK (`ai` + `@ai-sdk/openai`, zod 4) with its CHAT COMPLETIONS model
// `openai.chat(model)` (POST /v1/chat/completions) and its embedding model
// `openai.embedding(model)` (POST /v1/embeddings), against the daemon backed by oci-genai-mock.
// Usage: node ai_sdk_chat.mjs <case>, environment: common.mjs. The test program also checks in
// the daemon's access log that no request went to /v1/responses.
// The mock (src/mock/inference.cpp) echoes the last user turn, calls the first offered tool with
// {"city":"Paris","unit":"celsius"} when the last turn is a user's, answers a tool result with
// "The tool returned: <result>", and in JSON-schema mode answers a sample of the schema (strings
// the responseFormat type or an enum's first value, numbers 1, booleans true, arrays one item).
import assert from 'node:assert/strict';
import { apiKey, baseURL, echo, load, main, ok, versionOf } from './common.mjs';

const versions = [
  `ai ${versionOf('ai', /^7\./)}`,
  `@ai-sdk/openai ${versionOf('@ai-sdk/openai', /^4\./)}`,
  `zod ${versionOf('zod', /^4\./)}`,
].join(', ');
const ai = await load('ai');
const { createOpenAI } = await load('@ai-sdk/openai');
const { z } = await load('zod');
const { embedMany, generateObject, generateText, Output, streamText, tool } = ai;
const stepCountIs = ai.isStepCount ?? ai.stepCountIs;

const openai = createOpenAI({ baseURL, apiKey });
const models = ['gpt-4o-mini', 'command-r-plus'];
// maxRetries 0: a failure shows at once; timeout: every call is bounded.
const common = { maxRetries: 0, timeout: 20_000 };

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

// The string the mock puts in JSON mode: OCI's responseFormat type (GENERIC JSON_SCHEMA, Cohere
// JSON_OBJECT with a schema).
const jsonMarker = (modelId) => (modelId === 'command-r-plus' ? 'JSON_OBJECT' : 'JSON_SCHEMA');

function chatModel(modelId) {
  const model = openai.chat(modelId);
  assert.equal(model.provider, 'openai.chat', `provider of openai.chat(${modelId})`);
  return model;
}

const cases = {
  async generate() {
    for (const modelId of models) {
      const model = chatModel(modelId);
      const r = await generateText({ ...common, model, prompt: 'hello from the ai sdk chat model' });
      assert.equal(r.text, echo('hello from the ai sdk chat model'), `text of ${modelId}`);
      assert.equal(r.finishReason, 'stop');
      assert.ok(r.usage.inputTokens > 0, 'usage.inputTokens');
      assert.ok(r.usage.outputTokens > 0, 'usage.outputTokens');
      assert.match(r.response.id, /^chatcmpl-/, 'a chat completion id');
      assert.equal(r.response.modelId, modelId);
      ok(`generateText ${modelId} (${r.response.id})`);

      const conv = await generateText({
        ...common,
        model,
        system: 'You are terse.',
        messages: [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: [{ type: 'text', text: 'second question' }] },
        ],
        temperature: 0.3,
        maxOutputTokens: 100,
      });
      assert.equal(conv.text, echo('second question'));
      ok(`generateText with system and messages ${modelId}`);

      // A second turn built from the first one's response.messages, as chat apps do.
      const messages = [{ role: 'user', content: 'turn one' }];
      const first = await generateText({ ...common, model, messages });
      messages.push(...first.response.messages, { role: 'user', content: 'turn two' });
      const second = await generateText({ ...common, model, messages });
      assert.equal(second.text, echo('turn two'));
      ok(`second turn from response.messages ${modelId}`);
    }

    const cut = await generateText({ ...common, model: chatModel('gpt-4o-mini'), prompt: 'x', maxOutputTokens: 2 });
    assert.equal(cut.text, 'Hello from ');
    assert.equal(cut.finishReason, 'length');
    ok('generateText maxOutputTokens -> length');
  },

  async stream() {
    for (const modelId of models) {
      const prompt = `stream to the ai sdk chat model ${modelId}`;
      let streamError = null;
      const result = streamText({
        ...common,
        model: chatModel(modelId),
        prompt,
        onError: ({ error }) => {
          streamError = error;
        },
      });
      const pieces = [];
      for await (const piece of result.textStream) pieces.push(piece);
      assert.equal(streamError, null, `stream error: ${streamError}`);
      assert.equal(pieces.join(''), echo(prompt), `textStream of ${modelId}`);
      assert.ok(pieces.length >= 3, `text pieces: ${pieces.length}`);
      assert.equal(await result.finishReason, 'stop');
      // The AI SDK asks for stream_options.include_usage: the usage chunk arrived.
      const usage = await result.usage;
      assert.ok(usage.inputTokens > 0, `usage.inputTokens ${JSON.stringify(usage)}`);
      assert.ok(usage.outputTokens > 0, `usage.outputTokens ${JSON.stringify(usage)}`);
      const response = await result.response;
      assert.match(response.id, /^chatcmpl-/);
      ok(`streamText ${modelId} (${pieces.length} pieces)`);
    }
  },

  // The model's tool call is executed by the AI SDK and its result sent back (assistant
  // tool_calls + a tool message); the mock answers with the result.
  async tools() {
    for (const modelId of models) {
      const calls = [];
      const getWeather = tool({
        description: 'Current weather in a city',
        inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
        execute: async ({ city, unit }) => {
          calls.push({ city, unit });
          return `18 degrees ${unit} and sunny in ${city}`;
        },
      });
      const r = await generateText({
        ...common,
        model: chatModel(modelId),
        prompt: 'What is the weather in Paris?',
        tools: { get_weather: getWeather },
        stopWhen: stepCountIs(3),
      });
      assert.deepEqual(calls, [{ city: 'Paris', unit: 'celsius' }], `tool calls of ${modelId}`);
      assert.equal(r.steps.length, 2, `steps of ${modelId}`);
      assert.equal(r.steps[0].finishReason, 'tool-calls');
      assert.equal(r.steps[0].toolCalls[0].toolName, 'get_weather');
      assert.ok(r.steps[0].toolCalls[0].toolCallId, 'a tool call id');
      assert.deepEqual(r.steps[0].toolResults[0].output, '18 degrees celsius and sunny in Paris');
      checkToolAnswer(r.text, modelId, '18 degrees celsius and sunny in Paris');
      assert.equal(r.finishReason, 'stop');
      ok(`tool round trip ${modelId}: ${r.text}`);
    }

    // Streamed (GENERIC: the call's arguments arrive in fragments).
    let executed = 0;
    let streamError = null;
    const result = streamText({
      ...common,
      model: chatModel('gpt-4o-mini'),
      prompt: 'And in Paris, streamed?',
      tools: {
        get_weather: tool({
          description: 'Current weather in a city',
          inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
          execute: async ({ city, unit }) => {
            executed += 1;
            return { city, unit, degrees: 18 };
          },
        }),
      },
      stopWhen: stepCountIs(3),
      onError: ({ error }) => {
        streamError = error;
      },
    });
    let text = '';
    for await (const piece of result.textStream) text += piece;
    assert.equal(streamError, null, `stream error: ${streamError}`);
    assert.equal(executed, 1);
    // An object result goes back as its JSON text.
    assert.match(text, /^The tool returned: /, text);
    assert.deepEqual(JSON.parse(text.slice('The tool returned: '.length)), { city: 'Paris', unit: 'celsius', degrees: 18 });
    ok(`streamText tool round trip: ${text}`);
  },

  // response_format json_schema (strict) from a zod schema, with a nullable field (anyOf with
  // null), an enum, a number, a boolean and an array: generateObject (deprecated in ai 7, still
  // common) and its successor generateText with Output.object.
  async object() {
    const schema = z.object({
      city: z.string(),
      unit: z.enum(['celsius', 'fahrenheit']),
      degrees: z.number(),
      sunny: z.boolean(),
      note: z.string().nullable(),
      tags: z.array(z.string()),
    });
    for (const modelId of models) {
      // The mock's sample of the schema that reached OCI: every field, so the schema arrived
      // whole (a dropped nullable field would be missing and fail the zod validation).
      const m = jsonMarker(modelId);
      const expected = { city: m, unit: 'celsius', degrees: 1, sunny: true, note: m, tags: [m] };
      const r = await generateObject({
        ...common,
        model: chatModel(modelId),
        schema,
        schemaName: 'weather',
        prompt: 'The weather in Paris as JSON',
      });
      assert.deepEqual(r.object, expected, `generateObject of ${modelId}`);
      assert.equal(r.finishReason, 'stop');
      assert.ok(r.usage.outputTokens > 0);
      ok(`generateObject ${modelId}: ${JSON.stringify(r.object)}`);

      const t = await generateText({
        ...common,
        model: chatModel(modelId),
        output: Output.object({ schema }),
        prompt: 'The weather in Paris as JSON, again',
      });
      assert.deepEqual(t.output, expected, `generateText output of ${modelId}`);
      ok(`generateText with Output.object ${modelId}`);
    }
  },

  async embed() {
    const values = ['the quick brown fox', 'jumps over the lazy dog', 'the quick brown fox'];
    const model = openai.embedding('text-embedding-3-small');
    const r = await embedMany({ ...common, model, values });
    assert.equal(r.embeddings.length, 3);
    for (const v of r.embeddings) {
      // The mock's Cohere embedding: 16 dimensions, unit norm.
      assert.equal(v.length, 16, 'dimensions');
      const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `unit norm, got ${norm}`);
    }
    // In order: the same text gives the same vector, another text another one.
    assert.deepEqual(r.embeddings[0], r.embeddings[2]);
    assert.notDeepEqual(r.embeddings[0], r.embeddings[1]);
    assert.ok(r.usage.tokens > 0, `usage ${JSON.stringify(r.usage)}`);
    ok(`embedMany (${r.embeddings.length} x ${r.embeddings[0].length})`);
  },
};

await main(cases, versions);
