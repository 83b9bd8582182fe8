// Encrypted inference round trips against the simulator, with the request
// built and the answer decrypted by the spec-written client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSim, attestAndExchange, encryptedJson, encryptedHeaders, SALT } from "./harness.mjs";
import { ClientCipher, decryptSse, ocspHeaders } from "./client.mjs";

const CHAT_REQ = new Set(["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"]);
const CHAT_RESP = new Set(["id", "usage"]);
const ANTH_REQ = new Set(["model", "stream"]);
const ANTH_RESP = new Set(["id", "type", "usage"]);

let sim, s;
before(async () => {
	sim = await startSim(["--stream-chunks", "3"]);
	s = await attestAndExchange(sim);
});
after(async () => { await sim?.stop(); });

const lastRecord = async () => (await sim.requests("?kind=inference")).at(-1);

test("chat, unary: Echo, plain id/usage, headers reflected, request recorded", async () => {
	const body = { model: "gpt-oss-120b", messages: [{ role: "user", content: "Hello" }], temperature: 0.5, cache_salt: SALT };
	const { res, cipher } = await encryptedJson(sim, s, "/v1/chat/completions", body, CHAT_REQ, { headers: { "Privatemode-Shard-Key": "abcd" } });
	assert.equal(res.status, 200, String(res.body));
	const raw = JSON.parse(res.body);
	assert.match(raw.choices, /^[^:]+:[0-9a-f]{24}:[0-9a-f]{24}:[0-9a-f]+$/, "choices encrypted");
	assert.equal(typeof raw.usage, "object", "usage plain");
	assert.match(raw.id, /^chatcmpl-/, "id plain");
	const out = JSON.parse(cipher.decryptJson(String(res.body), CHAT_RESP));
	assert.equal(out.choices[0].message.content, "Echo: Hello");
	assert.equal(out.choices[0].finish_reason, "stop");
	assert.equal(out.object, "chat.completion");
	assert.equal(res.headers["request-cache-salt"], SALT);
	assert.equal(res.headers["request-shard-key"], "abcd");
	const rec = await lastRecord();
	assert.equal(rec.secretId, s.id);
	assert.equal(rec.headers["privatemode-secret-id"], s.id);
	// Spec §3.5 order: cache_salt 0, messages 1, temperature 2.
	assert.deepEqual(rec.decrypted.fields.map((f) => [f.name, f.seq]), [["cache_salt", 0], ["messages", 1], ["temperature", 2]]);
	assert.deepEqual(rec.requestSeqs, [0, 1, 2]);
	assert.deepEqual(rec.responseSeqs, [0, 1, 2, 3]); // choices, created, model, object
	assert.deepEqual(JSON.parse(rec.decrypted.body), body);
	assert.equal(rec.status, 200);
});

test("chat content parts are echoed as concatenated text", async () => {
	const { res, cipher } = await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }], cache_salt: SALT }, CHAT_REQ);
	assert.equal(JSON.parse(cipher.decryptJson(String(res.body), CHAT_RESP)).choices[0].message.content, "Echo: ab");
});

test("chat with tools, unary: tool_calls echo each tool with {\"test\":\"echo\"}", async () => {
	const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }, { type: "function", function: { name: "search" } }];
	const { res, cipher } = await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }], tools, cache_salt: SALT }, CHAT_REQ);
	const out = JSON.parse(cipher.decryptJson(String(res.body), CHAT_RESP));
	assert.deepEqual(out.choices[0].message.tool_calls.map((t) => [t.function.name, t.function.arguments, t.type]), [["get_weather", '{"test":"echo"}', "function"], ["search", '{"test":"echo"}', "function"]]);
	assert.equal(out.choices[0].finish_reason, "tool_calls");
});

async function streamChat(body, headers = {}) {
	const { res, cipher } = await encryptedJson(sim, s, "/v1/chat/completions", { ...body, stream: true }, CHAT_REQ, { headers });
	assert.equal(res.status, 200, String(res.body));
	assert.match(res.headers["content-type"], /text\/event-stream/);
	return { events: decryptSse(cipher, String(res.body), CHAT_RESP), text: String(res.body), cipher };
}

test("chat, streaming: N content chunks, usage on every chunk, final usage chunk with choices [], [DONE]", async () => {
	const { events } = await streamChat({ model: "m", messages: [{ role: "user", content: "Hello there" }], cache_salt: SALT });
	assert.ok(events.at(-1).done);
	const data = events.filter((e) => e.data).map((e) => e.data);
	assert.equal(data[0].choices[0].delta.role, "assistant");
	const content = data.flatMap((d) => d.choices.map((c) => c.delta?.content ?? "")).join("");
	assert.equal(content, "Echo: Hello there");
	assert.equal(data.filter((d) => d.choices[0]?.delta?.content).length, 3, "--stream-chunks 3");
	for (const d of data) { assert.equal(d.object, "chat.completion.chunk"); assert.equal(typeof d.usage.total_tokens, "number"); }
	assert.deepEqual(data.at(-1).choices, []);
	assert.equal(data.at(-2).choices[0].finish_reason, "stop");
	assert.equal(data.at(-1).usage.completion_tokens, 3);
	const rec = await lastRecord();
	assert.deepEqual(rec.responseSeqs, [...Array(rec.responseSeqs.length).keys()], "response seq continues across events");
});

test("chat, streaming tools: OpenAI tool-call deltas", async () => {
	const { events } = await streamChat({ model: "m", messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "f1" } }], cache_salt: SALT }, { "X-Sim-Stream-Chunks": "1" });
	const tc = events.filter((e) => e.data?.choices?.[0]?.delta?.tool_calls).map((e) => e.data.choices[0].delta.tool_calls[0]);
	assert.deepEqual(tc[0], { index: 0, id: "call_sim_0", type: "function", function: { name: "f1", arguments: "" } });
	assert.equal(tc.slice(1).map((t) => t.function.arguments).join(""), '{"test":"echo"}');
	assert.ok(tc.slice(1).every((t) => t.index === 0 && t.id === undefined));
	assert.equal(events.filter((e) => e.data).at(-2).data.choices[0].finish_reason, "tool_calls");
});

test("legacy completions echo the prompt", async () => {
	const { res, cipher } = await encryptedJson(sim, s, "/v1/completions", { model: "m", prompt: "def f():", max_tokens: 16, cache_salt: SALT }, CHAT_REQ);
	const out = JSON.parse(cipher.decryptJson(String(res.body), CHAT_RESP));
	assert.equal(out.choices[0].text, "Echo: def f():");
	assert.equal(out.object, "text_completion");
});

test("Anthropic messages, unary and streaming event sequence", async () => {
	const body = { model: "claude", max_tokens: 64, messages: [{ role: "user", content: "Hi" }], tools: [{ name: "t", input_schema: { type: "object" } }], cache_salt: SALT };
	const u = await encryptedJson(sim, s, "/v1/messages", body, ANTH_REQ);
	const msg = JSON.parse(u.cipher.decryptJson(String(u.res.body), ANTH_RESP));
	assert.equal(msg.type, "message");
	assert.equal(msg.content[0].text, "Echo: Hi");
	assert.deepEqual(msg.content[1], { type: "tool_use", id: "toolu_sim_0", name: "t", input: { test: "echo" } });
	assert.equal(msg.stop_reason, "tool_use");
	const rec = await lastRecord();
	assert.ok(rec.decrypted.fields.some((f) => f.name === "max_tokens"), "Anthropic max_tokens is encrypted");

	const st = await encryptedJson(sim, s, "/v1/messages", { ...body, stream: true }, ANTH_REQ);
	const text = String(st.res.body);
	assert.ok(!text.includes("[DONE]"));
	const evs = decryptSse(st.cipher, text, ANTH_RESP);
	assert.ok(evs.every((e) => e.event === e.data.type), "every event has an event: line matching type");
	const names = evs.map((e) => e.event);
	assert.equal(names[0], "message_start");
	assert.equal(names.at(-1), "message_stop");
	assert.equal(names.at(-2), "message_delta");
	assert.equal(evs.filter((e) => e.data.delta?.type === "text_delta").map((e) => e.data.delta.text).join(""), "Echo: Hi");
	assert.equal(evs.filter((e) => e.data.delta?.type === "input_json_delta").map((e) => e.data.delta.partial_json).join(""), '{"test":"echo"}');
	const md = JSON.parse(text.split("\n").find((l) => l.startsWith("data: ") && l.includes('"message_delta"')).slice(6));
	assert.equal(typeof md.usage, "object", "message_delta usage is plain on the wire");
});

test("embeddings: float and base64", async () => {
	const { res, cipher } = await encryptedJson(sim, s, "/v1/embeddings", { model: "qwen3-embedding-4b", input: ["a", "b"] }, new Set(["model"]));
	const out = JSON.parse(cipher.decryptJson(String(res.body), CHAT_RESP));
	assert.equal(out.data.length, 2);
	assert.equal(out.data[0].embedding.length, 8);
	assert.equal(typeof JSON.parse(res.body).usage.prompt_tokens, "number");
	const b = await encryptedJson(sim, s, "/v1/embeddings", { model: "q", input: "a", encoding_format: "base64" }, new Set(["model"]));
	const ob = JSON.parse(b.cipher.decryptJson(String(b.res.body), CHAT_RESP));
	assert.equal(Buffer.from(ob.data[0].embedding, "base64").length, 32);
});

test("embeddings with nothing encrypted cannot be answered (server refuses to encrypt)", async () => {
	const { res } = await encryptedJson(sim, s, "/v1/embeddings", { model: "q" }, new Set(["model"]));
	assert.equal(res.status, 500);
	assert.equal(res.headers["privatemode-encrypted"], "false");
});

// Multipart built like the proxy: values sorted by name, then files.
function encryptedForm(cipher, values, files, plain) {
	const b = "pmtest" + Date.now();
	const parts = [];
	for (const [k, v] of Object.entries(values).sort(([a], [c]) => (a < c ? -1 : 1))) parts.push(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${plain.has(k) ? v : cipher.encrypt(Buffer.from(v))}\r\n`);
	const chunks = parts.map((p) => Buffer.from(p));
	for (const [k, v] of Object.entries(files).sort(([a], [c]) => (a < c ? -1 : 1))) chunks.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"; filename="${k}"\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(cipher.encrypt(v)), Buffer.from("\r\n"));
	chunks.push(Buffer.from(`--${b}--\r\n`));
	return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${b}` };
}

test("transcriptions: multipart decrypted in values-then-files order; JSON and streamed answers", async () => {
	const plain = new Set(["model", "stream", "stream_include_usage", "stream_continuous_usage_stats"]);
	for (const stream of [false, true]) {
		const cipher = new ClientCipher(s.secret, s.id);
		const values = { model: "whisper-large-v3", language: "en", prompt: "p", temperature: "0" };
		if (stream) values.stream = "true";
		const f = encryptedForm(cipher, values, { file: Buffer.from("hello audio") }, plain);
		const res = await sim.req("POST", "/v1/audio/transcriptions", { headers: { ...encryptedHeaders(s), "Content-Type": f.type }, body: f.body });
		assert.equal(res.status, 200, String(res.body));
		const rec = await lastRecord();
		assert.deepEqual(rec.decrypted.fields.map((x) => [x.name, x.seq]), [["language", 0], ["prompt", 1], ["temperature", 2], ["file", 3]]);
		assert.equal(rec.decrypted.form.find((x) => x.name === "file").text, "hello audio");
		const audioResp = new Set(["duration", "usage"]);
		if (!stream) {
			const out = JSON.parse(cipher.decryptJson(String(res.body), audioResp));
			assert.equal(out.text, "Echo: hello audio");
			assert.equal(JSON.parse(res.body).usage.type, "duration");
		} else {
			const evs = decryptSse(cipher, String(res.body), audioResp);
			assert.equal(evs.filter((e) => e.data).flatMap((e) => e.data.choices.map((c) => c.delta.content)).join(""), "Echo: hello audio");
			assert.ok(evs.at(-1).done);
		}
	}
});

test("unstructured: raw body decrypted; every array element encrypted in string order", async () => {
	const cipher = new ClientCipher(s.secret, s.id);
	const obj = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${String(i).padStart(2, "0")}`, `v${i}`]));
	const body = cipher.encrypt(Buffer.from(JSON.stringify(obj)));
	const res = await sim.req("POST", "/unstructured/general/v0/general", { headers: { ...encryptedHeaders(s), "Content-Type": "application/json" }, body });
	assert.equal(res.status, 200, String(res.body));
	const wire = JSON.parse(res.body);
	assert.ok(wire.every((e) => typeof e === "string"));
	const out = JSON.parse(cipher.decryptJson(String(res.body), new Set()));
	assert.deepEqual(out.map((e) => e.text), Object.values(obj));
	const rec = await lastRecord();
	assert.deepEqual(rec.responseSeqs.length, 12);

	const c2 = new ClientCipher(s.secret, s.id);
	const b = "xyz";
	const form = `--${b}\r\nContent-Disposition: form-data; name="field"\r\n\r\ntest field\r\n--${b}\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nsome content\r\n--${b}--\r\n`;
	const r2 = await sim.req("POST", "/unstructured/general/v0/general", { headers: { ...encryptedHeaders(s), "Content-Type": `multipart/form-data; boundary=${b}` }, body: c2.encrypt(Buffer.from(form)) });
	assert.deepEqual(JSON.parse(c2.decryptJson(String(r2.body), new Set())).map((e) => e.text), ["test field", "some content"]);
});

test("models: unencrypted, with tasks", async () => {
	const r = await sim.req("GET", "/v1/models", { headers: { Authorization: `Bearer ${s.apiKey}` } });
	const m = JSON.parse(r.body);
	assert.equal(m.object, "list");
	assert.ok(m.data.every((x) => Array.isArray(x.tasks) && x.tasks.length));
});

test("server-side validation: cache_salt, image URLs, OCSP MAC, secret ID, API key", async () => {
	const msg = [{ role: "user", content: "x" }];
	const errOf = (r) => { assert.equal(r.headers["privatemode-encrypted"], "false"); return JSON.parse(r.body).error.message; };
	let r = (await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: msg }, CHAT_REQ)).res;
	assert.equal(r.status, 500); assert.match(errOf(r), /missing field 'cache_salt'/);
	r = (await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: msg, cache_salt: "too short" }, CHAT_REQ)).res;
	assert.equal(r.status, 500); assert.match(errOf(r), /cache_salt must be at least 32 characters long/);
	r = (await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "http://example.com/image.jpg" } }] }], cache_salt: SALT }, CHAT_REQ)).res;
	assert.equal(r.status, 500); assert.match(errOf(r), /non-HTTPS and non-data image URL "http:\/\/example.com\/image.jpg" is insecure/);
	r = (await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: msg, cache_salt: SALT }, CHAT_REQ, { headers: { "Privatemode-NVIDIA-OCSP-Policy-MAC": "00".repeat(32) } })).res;
	assert.equal(r.status, 500); assert.match(errOf(r), /MAC/);
	r = (await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: msg, cache_salt: SALT }, CHAT_REQ, { headers: { "Privatemode-Secret-ID": "bm90IGEgc2VjcmV0" } })).res;
	assert.equal(r.status, 500); assert.equal(errOf(r), 'no secret for ID "bm90IGEgc2VjcmV0"');
	r = (await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: msg, cache_salt: SALT }, CHAT_REQ, { headers: { Authorization: "Bearer nope" } })).res;
	assert.equal(r.status, 401); assert.equal(errOf(r), "invalid API key: invalid API key");
	// Without OCSP headers (old clients) the request is accepted.
	const c = new ClientCipher(s.secret, s.id);
	r = await sim.req("POST", "/v1/chat/completions", { headers: { Authorization: `Bearer ${s.apiKey}`, "Privatemode-Secret-ID": s.id }, body: c.encryptJson(JSON.stringify({ model: "m", messages: msg, cache_salt: SALT }), CHAT_REQ) });
	assert.equal(r.status, 200);
	// The SSE error form for Accept: text/event-stream.
	r = (await encryptedJson(sim, s, "/v1/chat/completions", { model: "m", messages: msg }, CHAT_REQ, { headers: { Accept: "text/event-stream" } })).res;
	assert.match(String(r.body), /^event: error\n\ndata: \{"error":/);
});

test("a forgotten secret yields the retry marker; a fresh exchange works again", async () => {
	const s2 = await attestAndExchange(sim);
	await sim.req("DELETE", `/__sim/secrets?id=${encodeURIComponent(s2.id)}`);
	const r = (await encryptedJson(sim, s2, "/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }], cache_salt: SALT }, CHAT_REQ)).res;
	assert.equal(r.status, 500);
	assert.equal(JSON.parse(r.body).error.message, `no secret for ID ${JSON.stringify(s2.id)}`);
});
