// The OpenAI Agents SDK JS (@openai/agents, with its own openai 7.x) on its default model
// provider, which speaks the Responses API (POST /v1/responses), against the daemon backed by
// oci-genai-mock: one run of an agent with a function tool (case run), an agent with an
// outputType (case output), and both on the SDK's chat completions model,
// OpenAIChatCompletionsModel (case chat). Tracing is disabled (its exporter would post to
// api.openai.com; common.mjs refuses any request off the daemon anyway).
// Usage: node agents.mjs <case>, environment: common.mjs.
import assert from 'node:assert/strict';
import { apiKey, baseURL, load, main, ok, versionOf } from './common.mjs';

const versions = [
  `@openai/agents ${versionOf('@openai/agents', /^0\.20\./)}`,
  `openai ${versionOf('openai', /^7\./)}`,
  `zod ${versionOf('zod', /^4\./)}`,
].join(', ');
const agents = await load('@openai/agents');
const { OpenAI } = await load('openai');
const { z } = await load('zod');
const { Agent, OpenAIChatCompletionsModel, run, tool, setDefaultOpenAIClient, setTracingDisabled } = agents;

setTracingDisabled(true);
// maxRetries 0: a failure shows at once; timeout: every call is bounded.
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20_000 });
setDefaultOpenAIClient(client);

const cases = {
  async run() {
    for (const model of ['gpt-4o-mini', 'command-r-plus']) {
      const calls = [];
      const getWeather = tool({
        name: 'get_weather',
        description: 'Current weather in a city',
        parameters: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
        execute: async ({ city, unit }) => {
          calls.push({ city, unit });
          return `18 degrees ${unit} and sunny in ${city}`;
        },
      });
      const agent = new Agent({
        name: 'Weather agent',
        instructions: 'Answer questions about the weather with the get_weather tool.',
        model,
        tools: [getWeather],
      });
      const result = await run(agent, 'What is the weather in Paris?', { maxTurns: 3 });
      assert.deepEqual(calls, [{ city: 'Paris', unit: 'celsius' }], `tool calls with ${model}`);
      const types = result.newItems.map((item) => item.type);
      assert.deepEqual(types, ['tool_call_item', 'tool_call_output_item', 'message_output_item'], `items with ${model}`);
      assert.equal(typeof result.finalOutput, 'string');
      assert.match(result.finalOutput, /The tool returned/, `final output with ${model}`);
      assert.ok(result.finalOutput.includes('18 degrees celsius and sunny in Paris'), result.finalOutput);
      // Each model call of the run was one Response.
      assert.equal(result.rawResponses.length, 2);
      for (const r of result.rawResponses) assert.match(r.responseId, /^resp_/);
      ok(`agent run with a tool on ${model}: ${result.finalOutput}`);
    }
  },

  // outputType on the default provider: text.format json_schema; the mock answers a sample of
  // the schema (strings: OCI's responseFormat type, GENERIC JSON_SCHEMA, Cohere JSON_OBJECT).
  async output() {
    for (const model of ['gpt-4o-mini', 'command-r-plus']) {
      const m = model === 'command-r-plus' ? 'JSON_OBJECT' : 'JSON_SCHEMA';
      const agent = new Agent({
        name: 'Weather reporter',
        instructions: 'Report the weather as the schema says.',
        model,
        outputType: z.object({ city: z.string(), degrees: z.number(), note: z.string().nullable() }),
      });
      const result = await run(agent, 'The weather in Paris', { maxTurns: 1 });
      assert.deepEqual(result.finalOutput, { city: m, degrees: 1, note: m }, `outputType with ${model}`);
      assert.match(result.rawResponses[0].responseId, /^resp_/);
      ok(`agent outputType on ${model}: ${JSON.stringify(result.finalOutput)}`);
    }
  },

  // The chat completions model (OpenAIChatCompletionsModel): POST /v1/chat/completions only.
  async chat() {
    for (const modelId of ['gpt-4o-mini', 'command-r-plus']) {
      const calls = [];
      const getWeather = tool({
        name: 'get_weather',
        description: 'Current weather in a city',
        parameters: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
        execute: async ({ city, unit }) => {
          calls.push({ city, unit });
          return `18 degrees ${unit} and sunny in ${city}`;
        },
      });
      const agent = new Agent({
        name: 'Weather agent',
        instructions: 'Answer questions about the weather with the get_weather tool.',
        model: new OpenAIChatCompletionsModel(client, modelId),
        tools: [getWeather],
      });
      const result = await run(agent, 'What is the weather in Paris?', { maxTurns: 3 });
      assert.deepEqual(calls, [{ city: 'Paris', unit: 'celsius' }], `tool calls with ${modelId}`);
      const types = result.newItems.map((item) => item.type);
      assert.deepEqual(types, ['tool_call_item', 'tool_call_output_item', 'message_output_item'], `items with ${modelId}`);
      assert.match(result.finalOutput, /^The tool returned: /, `final output with ${modelId}`);
      assert.ok(result.finalOutput.includes('18 degrees celsius and sunny in Paris'), result.finalOutput);
      assert.equal(result.rawResponses.length, 2);
      ok(`agent run with a tool on the chat completions model ${modelId}: ${result.finalOutput}`);

      // outputType: response_format json_schema; the mock answers a sample of the schema
      // (strings: OCI's responseFormat type, GENERIC JSON_SCHEMA, Cohere JSON_OBJECT).
      const m = modelId === 'command-r-plus' ? 'JSON_OBJECT' : 'JSON_SCHEMA';
      const typed = new Agent({
        name: 'Weather reporter',
        instructions: 'Report the weather as the schema says.',
        model: new OpenAIChatCompletionsModel(client, modelId),
        outputType: z.object({ city: z.string(), degrees: z.number(), note: z.string().nullable() }),
      });
      const report = await run(typed, 'The weather in Paris', { maxTurns: 1 });
      assert.deepEqual(report.finalOutput, { city: m, degrees: 1, note: m }, `outputType with ${modelId}`);
      ok(`agent outputType on the chat completions model ${modelId}: ${JSON.stringify(report.finalOutput)}`);
    }
  },
};

await main(cases, versions);
