// The Vercel AI SDK (`ai` + `@ai-sdk/openai`, zod 4) with its default `openai(model)`, a
// Responses model (POST /v1/responses), against the daemon backed by oci-genai-mock.
// Usage: node ai_sdk.mjs <case>, environment: common.mjs. The test program also checks in the
// daemon's access log that the requests went to /v1/responses and none to chat completions.
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
const { generateText, Output, streamText, tool } = ai;
const stepCountIs = ai.isStepCount ?? ai.stepCountIs;

// The provider as a user would build it: only the base URL and the key differ from OpenAI's.
const openai = createOpenAI({ baseURL, apiKey });
const models = ['gpt-4o-mini', 'command-r-plus'];
// maxRetries 0: a failure shows at once; timeout: every call is bounded.
const common = { maxRetries: 0, timeout: 20_000 };

const cases = {
  async generate() {
    for (const modelId of models) {
      const model = openai(modelId);
      // The default provider call builds a Responses model.
      assert.equal(model.provider, 'openai.responses', `provider of openai(${modelId})`);
      const r = await generateText({ ...common, model, prompt: 'hello from the ai sdk' });
      assert.equal(r.text, echo('hello from the ai sdk'), `text of ${modelId}`);
      assert.equal(r.finishReason, 'stop');
      assert.ok(r.usage.inputTokens > 0, 'usage.inputTokens');
      assert.ok(r.usage.outputTokens > 0, 'usage.outputTokens');
      assert.match(r.response.id, /^resp_/, 'the Response id');
      assert.equal(r.response.modelId, modelId);
      ok(`generateText ${modelId} (${r.response.id})`);

      // A system prompt and a conversation: the last user turn is answered.
      const conv = await generateText({
        ...common,
        model,
        system: 'You are terse.',
        messages: [
          { role: 'user', content: 'first question' },
          { role: 'assistant', content: 'first answer' },
          { role: 'user', content: 'second question' },
        ],
        temperature: 0.3,
        maxOutputTokens: 100,
      });
      assert.equal(conv.text, echo('second question'));
      ok(`generateText with system and messages ${modelId}`);
    }

    // maxOutputTokens cuts the answer: finishReason length.
    const cut = await generateText({ ...common, model: openai('gpt-4o-mini'), prompt: 'x', maxOutputTokens: 2 });
    assert.equal(cut.text, 'Hello from ');
    assert.equal(cut.finishReason, 'length');
    ok('generateText maxOutputTokens -> length');
  },

  // A second turn built from the first one's response.messages, as chat apps do. With the
  // provider's default `store: true` the AI SDK sends the earlier assistant message as an
  // `item_reference` (it expects OpenAI to have stored it): the daemon keeps no state and refuses
  // it with a 400 naming the item. `providerOptions.openai.store: false` sends the whole item.
  async conversation() {
    for (const modelId of models) {
      const model = openai(modelId);
      const stateless = { providerOptions: { openai: { store: false } } };
      const messages = [{ role: 'user', content: 'first question' }];
      const first = await generateText({ ...common, ...stateless, model, messages });
      assert.equal(first.text, echo('first question'));
      messages.push(...first.response.messages, { role: 'user', content: 'second question' });
      const second = await generateText({ ...common, ...stateless, model, messages });
      assert.equal(second.text, echo('second question'));
      ok(`second turn with store: false ${modelId}`);

      const stored = [{ role: 'user', content: 'first question' }];
      const one = await generateText({ ...common, model, messages: stored });
      stored.push(...one.response.messages, { role: 'user', content: 'second question' });
      try {
        await generateText({ ...common, model, messages: stored });
        assert.fail('the item_reference of the default store: true was accepted');
      } catch (e) {
        assert.equal(e.statusCode, 400, `${e}`);
        assert.ok(JSON.stringify(e.requestBodyValues.input).includes('"item_reference"'), 'the AI SDK sent an item_reference');
        const { error } = JSON.parse(e.responseBody);
        assert.equal(error.param, 'input[1]');
        assert.match(error.message, /reference/i);
        assert.match(error.message, /store: false/, 'the 400 names the workaround');
        ok(`second turn with the default store: true ${modelId} -> 400 ${error.param}: ${error.message}`);
      }
    }
  },

  async stream() {
    for (const modelId of models) {
      const prompt = `stream to the ai sdk ${modelId}`;
      let streamError = null;
      const result = streamText({
        ...common,
        model: openai(modelId),
        prompt,
        // streamText reports HTTP errors only here.
        onError: ({ error }) => {
          streamError = error;
        },
      });
      const pieces = [];
      for await (const piece of result.textStream) pieces.push(piece);
      assert.equal(streamError, null, `stream error: ${streamError}`);
      assert.equal(pieces.join(''), echo(prompt), `textStream of ${modelId}`);
      assert.ok(pieces.length >= 3, `text pieces: ${pieces.length}`);
      assert.equal(await result.text, echo(prompt));
      assert.equal(await result.finishReason, 'stop');
      const usage = await result.usage;
      assert.ok(usage.outputTokens > 0, 'usage.outputTokens');
      const response = await result.response;
      assert.match(response.id, /^resp_/);
      ok(`streamText ${modelId} (${pieces.length} pieces)`);
    }
  },

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
        model: openai(modelId),
        prompt: 'What is the weather in Paris?',
        tools: { get_weather: getWeather },
        stopWhen: stepCountIs(2),
      });
      assert.deepEqual(calls, [{ city: 'Paris', unit: 'celsius' }], `tool calls of ${modelId}`);
      assert.equal(r.steps.length, 2, `steps of ${modelId}`);
      assert.equal(r.steps[0].finishReason, 'tool-calls');
      assert.equal(r.steps[0].toolCalls[0].toolName, 'get_weather');
      assert.match(r.text, /^The tool returned: /, `final text of ${modelId}`);
      assert.ok(r.text.includes('18 degrees celsius and sunny in Paris'), r.text);
      assert.equal(r.finishReason, 'stop');
      ok(`tool round trip ${modelId}: ${r.text}`);
    }

    // Streamed, GENERIC: the call's arguments arrive in fragments.
    let executed = 0;
    let streamError = null;
    const result = streamText({
      ...common,
      model: openai('gpt-4o-mini'),
      prompt: 'And in Paris, streamed?',
      tools: {
        get_weather: tool({
          description: 'Current weather in a city',
          inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
          execute: async ({ city }) => {
            executed += 1;
            return `mild in ${city}`;
          },
        }),
      },
      stopWhen: stepCountIs(2),
      onError: ({ error }) => {
        streamError = error;
      },
    });
    let text = '';
    for await (const piece of result.textStream) text += piece;
    assert.equal(streamError, null, `stream error: ${streamError}`);
    assert.equal(executed, 1);
    assert.equal(text, 'The tool returned: mild in Paris');
    ok(`streamText tool round trip: ${text}`);
  },

  // text.format json_schema from a zod schema with a nullable field: the mock answers a sample of
  // the schema that reached OCI (strings: its responseFormat type, GENERIC JSON_SCHEMA, Cohere
  // JSON_OBJECT), so every field must have arrived.
  async object() {
    const schema = z.object({ city: z.string(), degrees: z.number(), note: z.string().nullable() });
    for (const modelId of models) {
      const m = modelId === 'command-r-plus' ? 'JSON_OBJECT' : 'JSON_SCHEMA';
      const r = await generateText({
        ...common,
        model: openai(modelId),
        output: Output.object({ schema }),
        prompt: 'The weather in Paris as JSON',
      });
      assert.deepEqual(r.output, { city: m, degrees: 1, note: m }, `output of ${modelId}`);
      ok(`generateText with Output.object ${modelId}: ${JSON.stringify(r.output)}`);
    }
  },
};

await main(cases, versions);
