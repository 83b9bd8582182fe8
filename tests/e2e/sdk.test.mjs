// Real-client conformance: the pinned official SDKs (openai 6.49.0,
// @anthropic-ai/sdk 1.14.0 and 0.137.0) pointed at the daemon, which talks
// to the simulator; plus replays of the GitLab AI Gateway request shapes
// (ecosystem spec §1.3).  The simulator echoes the last message as
// "Echo: <text>" and calls every tool; its records show what it decrypted.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import OpenAI, { toFile } from "openai";
import Anthropic from "@anthropic-ai/sdk";
import Anthropic0 from "anthropic-sdk-0";
import { execFileSync } from "node:child_process";
import { startSim, startDaemon, waitFor, rawMembers } from "./lib/harness.mjs";

// Client connections to a daemon's port that a worker has accepted (ss
// shows the owning process; a connection in the listener's backlog has
// none): what max_connections counts.
const accepted = (port) => execFileSync("ss", ["-Htnp", "state", "established", `( sport = :${port} )`], { encoding: "utf8" })
	.split("\n").filter((l) => l.includes("users:(")).length;
// A fetch for an SDK client that runs `onFirst(status)` when the first
// answer arrives, before the SDK sees it (and before it decides to retry).
function firstAnswerHook(onFirst) {
	let first = true;
	return async (...args) => {
		const r = await fetch(...args);
		if (first) { first = false; await onFirst(r.status); }
		return r;
	};
}

let sim, d, openai;
before(async () => {
	sim = await startSim(["--stream-chunks", "4"]);
	d = await startDaemon(sim);
	// AIGW sends "Bearer dummy_key" when no key is configured in GitLab.
	openai = new OpenAI({ baseURL: d.base + "/v1", apiKey: "dummy_key", maxRetries: 0, timeout: 20000 });
});
after(async () => {
	await d?.stop();
	await sim?.stop();
	const san = d?.sanitizerReport();
	if (san) assert.fail(`sanitizer report:\n${san}`);
});

// What the deployment decrypted for the latest inference request.
async function last() {
	const r = (await sim.requests("inference")).at(-1);
	assert.ok(r, "an inference request reached the deployment");
	const json = typeof r.decrypted?.body === "string";
	return { rec: r, body: json ? JSON.parse(r.decrypted.body) : null, clear: json ? new Map(rawMembers(r.body)) : new Map() };
}
async function drain(stream) {
	const chunks = [];
	for await (const c of stream) chunks.push(c);
	return chunks;
}
const text = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
const tool = (name) => ({ type: "function", function: { name, description: `${name} tool`, parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] } } });

// --- openai ----------------------------------------------------------------

test("openai: chat unary (x-request-id exposed as request_id)", async () => {
	const { data, response, request_id } = await openai.chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "user", content: "Hello" }] }).withResponse();
	assert.equal(response.status, 200);
	assert.equal(data.choices[0].message.content, "Echo: Hello");
	assert.equal(data.choices[0].finish_reason, "stop");
	assert.ok(data.usage.total_tokens > 0);
	assert.match(request_id, /^proxy_/);
});

test("openai: streaming with stream_options.include_usage → text, finish_reason, final usage chunk with choices []", async () => {
	const chunks = await drain(await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "Stream me" }], stream: true, stream_options: { include_usage: true } }));
	assert.equal(text(chunks), "Echo: Stream me");
	assert.equal(chunks.at(-2).choices[0].finish_reason, "stop");
	assert.deepEqual(chunks.at(-1).choices, []);
	assert.equal(chunks.at(-1).usage.completion_tokens, 4);
	const { clear } = await last();
	assert.equal(clear.get("stream_options"), '{"include_usage":true}', "stream_options in clear");
});

test("openai: tools unary → tool_calls echoed, finish tool_calls", async () => {
	const r = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "t" }], tools: [tool("lookup"), tool("search")] });
	const tc = r.choices[0].message.tool_calls;
	assert.deepEqual(tc.map((x) => x.function.name), ["lookup", "search"]);
	assert.deepEqual(JSON.parse(tc[1].function.arguments), { test: "echo" });
	assert.equal(r.choices[0].finish_reason, "tool_calls");
});

test("openai: streamed tool-call deltas assemble via the SDK helper", async () => {
	const runner = openai.chat.completions.stream({ model: "m", messages: [{ role: "user", content: "t" }], tools: [tool("lookup")], stream_options: { include_usage: true } });
	const final = await runner.finalChatCompletion();
	const tc = final.choices[0].message.tool_calls;
	assert.equal(tc.length, 1);
	assert.equal(tc[0].id, "call_sim_0");
	assert.equal(tc[0].function.name, "lookup");
	assert.deepEqual(JSON.parse(tc[0].function.arguments), { test: "echo" });
	assert.equal(final.choices[0].finish_reason, "tool_calls");
});

for (const choice of ["any", "required"]) {
	test(`openai: tool_choice "${choice}" passes through (encrypted) and tools are called`, async () => {
		const r = await openai.chat.completions.create({ model: "m", messages: [{ role: "user", content: "use a tool" }], tools: [tool("a")], tool_choice: choice });
		assert.equal(r.choices[0].message.tool_calls[0].function.name, "a");
		const { body, clear } = await last();
		assert.equal(body.tool_choice, choice);
		assert.notEqual(clear.get("tool_choice"), JSON.stringify(choice), "tool_choice is not a plain member");
	});
}

test("openai: stop list of 9 strings is accepted and arrives intact", async () => {
	const stop = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<|im_start|>", "<|im_end|>", "\n\n"];
	const r = await openai.chat.completions.create({ model: "qwen", messages: [{ role: "user", content: "s" }], stop });
	assert.equal(r.choices[0].message.content, "Echo: s");
	assert.deepEqual((await last()).body.stop, stop);
});

test("openai: a trailing assistant message (prefill) is kept last", async () => {
	const messages = [{ role: "system", content: "sys" }, { role: "user", content: "u" }, { role: "assistant", content: "prefill" }];
	const r = await openai.chat.completions.create({ model: "m", messages });
	assert.equal(r.choices[0].message.content, "Echo: prefill");
	assert.deepEqual((await last()).body.messages, messages);
});

test("openai: vLLM extra keys (continue_final_message, add_generation_prompt) pass through", async () => {
	const r = await openai.chat.completions.create({ model: "mistral", messages: [{ role: "user", content: "x" }, { role: "assistant", content: "Thought:" }], continue_final_message: true, add_generation_prompt: false });
	assert.equal(r.choices[0].message.content, "Echo: Thought:");
	const { body } = await last();
	assert.equal(body.continue_final_message, true);
	assert.equal(body.add_generation_prompt, false);
});

test("openai: max_completion_tokens goes in clear", async () => {
	await openai.chat.completions.create({ model: "gpt-5", messages: [{ role: "user", content: "x" }], max_completion_tokens: 77 });
	const { clear } = await last();
	assert.equal(clear.get("max_completion_tokens"), "77");
});

test("openai: legacy completions with suffix", async () => {
	const r = await openai.completions.create({ model: "m", prompt: "def f(", suffix: "):\n    pass", max_tokens: 8 });
	assert.equal(r.choices[0].text, "Echo: def f(");
	assert.equal((await last()).body.suffix, "):\n    pass");
});

test("openai: embeddings float and base64 (the SDK default) give the same vector", async () => {
	const f = await openai.embeddings.create({ model: "qwen3-embedding-4b", input: "hi there", encoding_format: "float" });
	assert.equal((await last()).body.encoding_format, "float");
	const b = await openai.embeddings.create({ model: "qwen3-embedding-4b", input: "hi there" });
	assert.equal((await last()).body.encoding_format, "base64", "SDK default base64 passed through");
	assert.equal(b.data[0].embedding.length, 8);
	b.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - f.data[0].embedding[i]) < 1e-6));
});

test("openai: models list", async () => {
	const ids = [];
	for await (const m of openai.models.list()) ids.push(m.id);
	assert.ok(ids.includes("gpt-oss-120b") && ids.includes("whisper-large-v3"), JSON.stringify(ids));
});

test("openai: transcription upload (toFile, multipart)", async () => {
	const r = await openai.audio.transcriptions.create({ file: await toFile(Buffer.from("hello audio"), "speech.mp3", { type: "audio/mpeg" }), model: "whisper-large-v3", language: "en" });
	assert.equal(r.text, "Echo: hello audio");
	const { rec } = await last();
	assert.equal(rec.path, "/v1/audio/transcriptions");
	assert.ok(rec.decrypted.form.some((p) => p.name === "language" && p.value === "en"));
});

// --- anthropic, both SDK majors --------------------------------------------------

for (const [name, mk] of [
	["@anthropic-ai/sdk 1.x (Authorization: Bearer)", () => new Anthropic({ baseURL: d.base, apiKey: "client-k1", maxRetries: 0 })],
	["@anthropic-ai/sdk 0.x (X-Api-Key)", () => new Anthropic0({ baseURL: d.base, apiKey: "client-k0", maxRetries: 0 })],
]) {
	describe(name, () => {
		test("messages unary", async () => {
			const client = mk();
			const r = await client.messages.create({ model: "claude-x", max_tokens: 64, system: "be brief", messages: [{ role: "user", content: "Hi Claude" }] });
			assert.equal(r.content[0].type, "text");
			assert.equal(r.content[0].text, "Echo: Hi Claude");
			assert.equal(r.stop_reason, "end_turn");
			const { rec, body } = await last();
			assert.equal(rec.path, "/v1/messages");
			assert.equal(body.max_tokens, 64);
			assert.equal(rec.headers.authorization, `Bearer ${sim.info.api_key}`, "the configured key upstream");
		});
		test("messages streaming with a tool", async () => {
			const client = mk();
			const s = client.messages.stream({ model: "claude-x", max_tokens: 64, messages: [{ role: "user", content: "stream please" }], tools: [{ name: "get_weather", description: "w", input_schema: { type: "object", properties: {} } }] });
			const types = [];
			s.on("streamEvent", (e) => types.push(e.type));
			const m = await s.finalMessage();
			assert.equal(m.content[0].text, "Echo: stream please");
			assert.equal(m.content[1].type, "tool_use");
			assert.equal(m.content[1].name, "get_weather");
			assert.deepEqual(m.content[1].input, { test: "echo" });
			assert.equal(m.stop_reason, "tool_use");
			assert.equal(types[0], "message_start");
			assert.equal(types.at(-1), "message_stop");
		});
		test("an error comes back in Anthropic shape (SDK error class, request-id)", async () => {
			const client = mk();
			await assert.rejects(client.messages.create({ model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }], cache_salt: "short" }), (e) => {
				assert.equal(e.status, 400);
				assert.equal(e.error?.type, "error");
				assert.equal(e.error?.error?.type, "invalid_request_error");
				assert.ok(e.requestID ?? e.request_id, "request-id header");
				return true;
			});
		});
	});
}

// --- retries by the SDKs on our 429 / 503 ------------------------------------------

test("openai maxRetries 0: 429 over max_connections is a RateLimitError; with maxRetries 2 the SDK honours Retry-After and succeeds", async (t) => {
	const d2 = await startDaemon(sim, { over: { max_connections: "1" } });
	t.after(() => d2.stop());
	// Hold the one allowed connection (an idle client).
	const hold = net.connect(d2.port, "127.0.0.1");
	await new Promise((r) => hold.once("connect", r));
	// Connected is not accepted: wait until the worker holds it.
	await waitFor("the worker to accept the held connection", () => accepted(d2.port) === 1, { timeoutMs: 30000 });
	const c0 = new OpenAI({ baseURL: d2.base + "/v1", apiKey: "k", maxRetries: 0 });
	await assert.rejects(c0.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] }), (e) => {
		assert.ok(e instanceof OpenAI.RateLimitError, `${e.constructor.name}: ${e.message}`);
		assert.equal(e.status, 429);
		assert.equal(e.headers.get("retry-after"), "1");
		return true;
	});
	// The held connection goes once the first attempt has its 429 (not
	// after a guessed 400 ms, which a slow first attempt could outlast),
	// and the worker has let it go before the SDK retries.
	const c2 = new OpenAI({
		baseURL: d2.base + "/v1", apiKey: "k", maxRetries: 2,
		fetch: firstAnswerHook(async (status) => {
			assert.equal(status, 429, "the first attempt meets max_connections");
			hold.destroy();
			await waitFor("the worker to close the held connection (and the refused one)", () => accepted(d2.port) === 0, { timeoutMs: 30000 });
		}),
	});
	const t0 = Date.now();
	const r = await c2.chat.completions.create({ model: "m", messages: [{ role: "user", content: "after a 429" }] });
	assert.equal(r.choices[0].message.content, "Echo: after a 429");
	assert.ok(Date.now() - t0 >= 900, `Retry-After: 1 honoured (${Date.now() - t0} ms)`);
	assert.equal((await last()).rec.headers["x-stainless-retry-count"], "1", "the SDK retried once");
});

test("openai maxRetries 2: a 503 not_attested (Retry-After) is retried and succeeds once attested", async (t) => {
	const s = await startSim(["--fault", "manifest-mismatch"]);
	t.after(() => s.stop());
	const d3 = await startDaemon(s, { waitReady: false });
	t.after(() => d3.stop());
	await d3.waitNotReadyReason();
	// The deployment recovers while the SDK waits out Retry-After: once the
	// first attempt has its 503 (a timer could fire before that attempt on
	// a loaded machine, and then nothing would be retried).
	const c2 = new OpenAI({
		baseURL: d3.base + "/v1", apiKey: "k", maxRetries: 2,
		fetch: firstAnswerHook(async (status) => {
			assert.equal(status, 503, "the first attempt finds the daemon not attested");
			await s.clearFaults();
		}),
	});
	const t0 = Date.now();
	const r = await c2.chat.completions.create({ model: "m", messages: [{ role: "user", content: "eventually" }] }).withResponse();
	assert.ok(Date.now() - t0 >= 900, `waited for Retry-After (${Date.now() - t0} ms)`);
	assert.equal(r.data.choices[0].message.content, "Echo: eventually");
	const inf = await s.requests("inference");
	assert.equal(inf.length, 1);
	assert.ok(Number(inf[0].headers["x-stainless-retry-count"]) >= 1, "reached after an SDK retry");
});

test("anthropic maxRetries 0: a 503 while not attested is an InternalServerError in Anthropic shape", async (t) => {
	const s = await startSim(["--fault", "manifest-mismatch"]);
	t.after(() => s.stop());
	const d4 = await startDaemon(s, { waitReady: false });
	t.after(() => d4.stop());
	await d4.waitNotReadyReason();
	const c = new Anthropic({ baseURL: d4.base, apiKey: "k", maxRetries: 0 });
	await assert.rejects(c.messages.create({ model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }] }), (e) => {
		assert.ok(e instanceof Anthropic.InternalServerError, `${e.constructor.name}: ${e.message}`);
		assert.equal(e.status, 503);
		assert.equal(e.error?.type, "error");
		assert.match(e.error?.error?.message ?? "", /manifest/);
		return true;
	});
	assert.equal((await s.requests("inference")).length, 0);
});

// --- GitLab AI Gateway request shapes (ecosystem spec §1.3) --------------------------

describe("GitLab AI Gateway replays", () => {
	const aigw = () => new OpenAI({
		baseURL: d.base + "/v1", apiKey: "dummy_key", maxRetries: 0,
		defaultHeaders: { "User-Agent": "AsyncOpenAI/Python 2.37.0", "x-stainless-async": "async:asyncio" },
	});

	test("code completion (Codestral, non-streaming, 5 stop tokens, max_tokens 64)", async () => {
		const body = {
			model: "codestral-22b", n: 1, max_tokens: 64, temperature: 0.0, stream: false,
			stop: ["[INST]", "[/INST]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]"],
			messages: [{ role: "system", content: "You are a code completion tool." }, { role: "user", content: "[SUFFIX]\n    return x[PREFIX]def double(x):\n" }],
		};
		const r = await aigw().chat.completions.create(body);
		assert.equal(r.choices[0].message.content, "Echo: [SUFFIX]\n    return x[PREFIX]def double(x):\n");
		const { body: up, clear } = await last();
		assert.deepEqual(up.stop, body.stop);
		assert.equal(clear.get("max_tokens"), "64");
		assert.equal(clear.get("n"), "1");
	});

	test("code completion (Qwen2.5 FIM, 9 stop strings incl. \\n\\n)", async () => {
		const stop = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<|im_start|>", "\n\n"];
		const content = "<|fim_prefix|>def add(a, b):\n<|fim_suffix|>\n<|fim_middle|>";
		const r = await aigw().chat.completions.create({ model: "qwen2p5-coder-7b", max_tokens: 48, temperature: 0.32, stop, messages: [{ role: "user", content }] });
		assert.equal(r.choices[0].message.content, `Echo: ${content}`);
		assert.deepEqual((await last()).body.stop, stop);
	});

	test("code generation (streaming, assistant <new_code> prefill, stop [\"</new_code>\"])", async () => {
		const messages = [{ role: "system", content: "Generate code." }, { role: "user", content: "<instructions>sort a list</instructions>" }, { role: "assistant", content: "<new_code>" }];
		const chunks = await drain(await aigw().chat.completions.create({ model: "mistral-small", max_tokens: 2048, temperature: 0.95, stream: true, stop: ["</new_code>"], messages }));
		assert.equal(text(chunks), "Echo: <new_code>");
		const { body } = await last();
		assert.deepEqual(body.stop, ["</new_code>"]);
		assert.deepEqual(body.messages, messages);
	});

	test("Duo Chat ReAct (stream + include_usage, stop [\"Observation:\"], trailing assistant, mistral extra keys)", async () => {
		const messages = [
			{ role: "system", content: "You are GitLab Duo Chat. Answer with Thought/Action/Final Answer." },
			{ role: "user", content: "How do I revert a commit?" },
			{ role: "assistant", content: "Thought: I should explain git revert.\nAction:" },
		];
		const chunks = await drain(await aigw().chat.completions.create({
			model: "mistral-small-24b", temperature: 0.1, max_tokens: 4096, stream: true, stream_options: { include_usage: true },
			stop: ["Observation:"], messages, continue_final_message: true, add_generation_prompt: false,
		}));
		assert.equal(text(chunks), "Echo: Thought: I should explain git revert.\nAction:");
		const fin = chunks.findLast((c) => c.choices[0]?.finish_reason);
		assert.equal(fin.choices[0].finish_reason, "stop");
		assert.deepEqual(chunks.at(-1).choices, []);
		assert.ok(chunks.at(-1).usage.prompt_tokens > 0);
		const { body } = await last();
		assert.equal(body.continue_final_message, true);
		assert.equal(body.add_generation_prompt, false);
		assert.deepEqual(body.stop, ["Observation:"]);
	});

	test("agentic tool use (stream, tools, tool_choice \"any\")", async () => {
		const tools = [tool("read_file"), tool("create_merge_request")];
		const chunks = await drain(await aigw().chat.completions.create({
			model: "qwen3-32b", temperature: 0, max_tokens: 8192, stream: true, stream_options: { include_usage: true },
			tools, tool_choice: "any", messages: [{ role: "user", content: "open an MR" }],
		}));
		const calls = new Map();
		for (const c of chunks) for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
			const cur = calls.get(tc.index) ?? { name: "", args: "" };
			cur.name += tc.function?.name ?? "";
			cur.args += tc.function?.arguments ?? "";
			if (tc.id) cur.id = tc.id;
			calls.set(tc.index, cur);
		}
		assert.deepEqual([...calls.values()].map((c) => [c.name, JSON.parse(c.args)]), [["read_file", { test: "echo" }], ["create_merge_request", { test: "echo" }]]);
		assert.equal(chunks.findLast((c) => c.choices[0]?.finish_reason).choices[0].finish_reason, "tool_calls");
		const { body } = await last();
		assert.equal(body.tool_choice, "any");
		assert.deepEqual(body.tools, tools);
	});

	test("health probe: GET /v1/models and the old /v1/v1/models with GitLab's headers", async () => {
		for (const p of ["/v1/models", "/v1/v1/models"]) {
			const r = await d.get(p, { headers: { accept: "application/json", "content-type": "application/json", "user-agent": "GitLab-Duo/18.4.0" }, timeoutMs: 10000 });
			assert.equal(r.status, 200, `${p}: ${r.text}`);
			assert.ok(r.json().data.length > 0);
		}
	});
});
