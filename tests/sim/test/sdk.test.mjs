// The official SDKs (openai 6.49.0, @anthropic-ai/sdk 1.14.0 and 0.137.0)
// parse what the simulator sends once it is decrypted (ecosystem spec §1-§2).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import Anthropic0 from "anthropic-sdk-0";
import { startSim, attestAndExchange } from "./harness.mjs";
import { startRefProxy } from "./refproxy.mjs";

let sim, proxy, openai;
before(async () => {
	sim = await startSim(["--stream-chunks", "5"]);
	proxy = await startRefProxy(sim, await attestAndExchange(sim));
	openai = new OpenAI({ baseURL: proxy.url + "/v1", apiKey: "dummy_key", maxRetries: 0 });
});
after(async () => { await proxy?.close(); await sim?.stop(); });

test("openai: chat unary", async () => {
	const r = await openai.chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "user", content: "Hello" }] });
	assert.equal(r.choices[0].message.content, "Echo: Hello");
	assert.ok(r.usage.total_tokens > 0);
});

test("openai: chat stream with include_usage, usage chunk with choices []", async () => {
	const stream = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "Stream me" }], stream: true, stream_options: { include_usage: true } });
	let text = "", last, finish;
	for await (const c of stream) { last = c; text += c.choices[0]?.delta?.content ?? ""; finish ??= c.choices[0]?.finish_reason ?? undefined; }
	assert.equal(text, "Echo: Stream me");
	assert.equal(finish, "stop");
	assert.deepEqual(last.choices, []);
	assert.equal(last.usage.completion_tokens, 5);
});

test("openai: streamed tool calls assemble via the SDK helper", async () => {
	const runner = openai.chat.completions.stream({ model: "m", messages: [{ role: "user", content: "t" }], tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }] });
	const final = await runner.finalChatCompletion();
	const tc = final.choices[0].message.tool_calls;
	assert.equal(tc.length, 1);
	assert.equal(tc[0].function.name, "lookup");
	assert.deepEqual(JSON.parse(tc[0].function.arguments), { test: "echo" });
	assert.equal(final.choices[0].finish_reason, "tool_calls");
});

test("openai: legacy completions, embeddings (SDK default base64), models", async () => {
	const c = await openai.completions.create({ model: "m", prompt: "abc", max_tokens: 8 });
	assert.equal(c.choices[0].text, "Echo: abc");
	const e = await openai.embeddings.create({ model: "qwen3-embedding-4b", input: "hi" });
	assert.equal(e.data[0].embedding.length, 8);
	assert.ok(e.data[0].embedding.every((x) => typeof x === "number"));
	const models = [];
	for await (const m of openai.models.list()) models.push(m);
	assert.ok(models.some((m) => m.id === "gpt-oss-120b"));
});

test("openai: a deployment error surfaces as an APIError", async () => {
	await sim.faults({ "upstream-error": { status: 429, message: "slow down", times: 1 } });
	await assert.rejects(openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }), (e) => e.status === 429 && /slow down/.test(e.message));
});

for (const [name, mk] of [["@anthropic-ai/sdk 1.x", () => new Anthropic({ baseURL: proxy.url, apiKey: "k", maxRetries: 0 })], ["@anthropic-ai/sdk 0.x", () => new Anthropic0({ baseURL: proxy.url, apiKey: "k", maxRetries: 0 })]]) {
	test(`${name}: messages unary and stream`, async () => {
		const a = mk();
		const m = await a.messages.create({ model: "claude", max_tokens: 32, messages: [{ role: "user", content: "Hi" }] });
		assert.equal(m.content[0].text, "Echo: Hi");
		const s = a.messages.stream({ model: "claude", max_tokens: 32, messages: [{ role: "user", content: "Yo" }], tools: [{ name: "t", input_schema: { type: "object" } }] });
		const events = [];
		s.on("streamEvent", (e) => events.push(e.type));
		const fin = await s.finalMessage();
		assert.equal(fin.content[0].text, "Echo: Yo");
		assert.deepEqual(fin.content[1].input, { test: "echo" });
		assert.equal(fin.stop_reason, "tool_use");
		assert.equal(events[0], "message_start");
		assert.equal(events.at(-1), "message_stop");
	});
}
