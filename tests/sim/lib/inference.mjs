// The inference side of the simulated deployment: what inference-proxy does
// in front of vLLM (protocol spec §4.7), with vLLM replaced by the Go stub's
// echo semantics (spec §10.1): the answer is "Echo: <last user message>",
// every tool is "called" with arguments {"test":"echo"}.
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { ServerCipher, NoSecretError } from "./fieldcipher.mjs";
import { decryptJson, encryptJson } from "./traverse.mjs";
import { buildMultipart, formOrder, parseMultipart } from "./multipart.mjs";
import { EventStream } from "./sse.mjs";
import { httpError, sendJson } from "./http.mjs";

// Plain sets (protocol spec §4.0).
export const PLAIN = {
	chatReq: new Set(["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"]),
	chatResp: new Set(["id", "usage"]),
	embReq: new Set(["model"]),
	embResp: new Set(["id", "usage"]),
	audioReq: new Set(["model", "stream", "stream_include_usage", "stream_continuous_usage_stats"]),
	audioResp: new Set(["duration", "usage"]),
	anthReq: new Set(["model", "stream"]),
	anthResp: new Set(["id", "type", "usage"]),
	none: new Set(),
};

const tokens = (s) => Math.ceil(Buffer.byteLength(s ?? "") / 4);

// Split text into exactly n pieces (some may be empty when text is short).
function split(text, n) {
	const chars = [...text];
	const out = [];
	for (let i = 0; i < n; i++) out.push(chars.slice(Math.floor((i * chars.length) / n), Math.floor(((i + 1) * chars.length) / n)).join(""));
	return out;
}

class HandledError extends Error {
	constructor(status, message) { super(message); this.status = status; }
}

// --- request preconditions shared by every encrypted endpoint ------------

// Secret-ID header must name a live secret, and the OCSP policy header must
// carry a valid MAC (protocol spec §6).  Returns nothing or throws.
function checkSecretAndOcsp(ctx, req, fired) {
	const sid = req.headers["privatemode-secret-id"];
	if (fired.has("no-secret")) throw new HandledError(500, `no secret for ID ${JSON.stringify(sid ?? "")}`);
	const policy = req.headers["privatemode-nvidia-ocsp-policy"];
	const mac = req.headers["privatemode-nvidia-ocsp-policy-mac"];
	if (sid !== undefined && !ctx.store.get(sid)) throw new HandledError(500, `no secret for ID ${JSON.stringify(sid)}`);
	if (policy === undefined && mac === undefined) return; // old clients: only GOOD accepted
	if (sid === undefined) throw new HandledError(500, "getting secret for OCSP verification: missing Privatemode-Secret-ID header");
	const parts = (policy ?? "").split("; ");
	if (parts.length !== 2 || !parts[0].startsWith("rules=") || !/^revocation-time-not-before=-?\d+$/.test(parts[1]))
		throw new HandledError(500, `verifying OCSP policy: invalid policy header ${JSON.stringify(policy ?? "")}`);
	const rules = parts[0].slice(6).split(",").map((r) => r.toLowerCase());
	if (!rules.includes("allow-good") || rules.some((r) => !["allow-good", "allow-revoked", "allow-unknown"].includes(r)))
		throw new HandledError(500, `verifying OCSP policy: invalid rules ${JSON.stringify(parts[0])}`);
	const want = createHmac("sha256", ctx.store.get(sid).subarray(0, 32)).update(policy).digest("hex");
	const got = Buffer.from(mac ?? "");
	if (got.length !== want.length || !timingSafeEqual(got, Buffer.from(want)))
		throw new HandledError(500, "verifying OCSP policy: policy MAC mismatch");
}

// --plain (benchmarks only, default off): a request without a
// Privatemode-Secret-ID header is served unencrypted both ways, so that a
// plain reverse proxy (bench/proxy) can be measured against the same sim.
const PASSTHROUGH = Object.freeze({ passthrough: true, id: null, nonce: null, log: [] });

function newCipher(ctx, rec, fired, req) {
	if (ctx.opts.plain && req && req.headers["privatemode-secret-id"] === undefined) return PASSTHROUGH;
	const c = new ServerCipher((id) => ctx.store.get(id), { keepPlaintext: ctx.opts.maxRecords > 0 });
	if (fired.has("wrong-seq")) c.skipSeq = 1;
	rec.cipher = c;
	return c;
}

// Decrypt a JSON body; record the decrypted units.  Errors keep their text.
function decryptBody(cipher, text, plain, rec) {
	try {
		const out = decryptJson(cipher, text, plain);
		rec.decrypted = { body: out, fields: requestFields(cipher) };
		return out;
	} finally {
		rec.secretId = cipher.id;
		rec.requestNonce = cipher.nonce?.toString("hex") ?? null;
	}
}

const requestFields = (cipher) => cipher.log.filter((l) => l.dir === "req")
	.map((l) => ({ name: l.field, seq: l.seq, plaintext: l.plaintext?.toString("utf8") }));

function checkCacheSalt(obj) {
	const s = obj.cache_salt;
	if (s === undefined || s === null || s === "") throw new HandledError(500, "missing field 'cache_salt'");
	if (String(s).length < 32) throw new HandledError(500, "cache_salt must be at least 32 characters long");
}

// Images must be https: or data: URLs (inference-proxy's media policy).
function checkMedia(messages) {
	for (const m of Array.isArray(messages) ? messages : []) {
		for (const part of Array.isArray(m?.content) ? m.content : []) {
			const url = part?.image_url?.url ?? part?.source?.url;
			if (typeof url === "string" && !/^(https:|data:)/i.test(url))
				throw new HandledError(500, `non-HTTPS and non-data image URL ${JSON.stringify(url)} is insecure`);
			if (part?.type === "input_audio" || part?.audio_url || part?.video_url)
				if (typeof (part.audio_url?.url ?? part.video_url?.url) === "string") throw new HandledError(500, "audio and video URLs are not allowed");
		}
	}
}

// Text of a message content: a string, or the concatenated text parts.
function contentText(content) {
	if (content === undefined || content === null) return null;
	if (typeof content === "string") return content;
	if (Array.isArray(content)) return content.map((p) => (typeof p === "string" ? p : p?.text ?? "")).join("");
	return JSON.stringify(content);
}

function echoOf(messages) {
	const last = Array.isArray(messages) && messages.length ? messages[messages.length - 1] : null;
	const t = last ? contentText(last.content) : null;
	return t === null ? "Echo: nil" : `Echo: ${t}`;
}

function toolName(tool, i) {
	return tool?.function?.name ?? tool?.name ?? `tool_${i}`;
}

function streamOpts(ctx, req) {
	const n = Number(req.headers["x-sim-stream-chunks"] ?? ctx.opts.streamChunks);
	const iv = Number(req.headers["x-sim-chunk-interval-ms"] ?? ctx.opts.chunkIntervalMs);
	return { chunks: Number.isInteger(n) && n > 0 ? Math.min(n, 100000) : 4, intervalMs: Number.isFinite(iv) && iv >= 0 ? iv : 0 };
}

function commonHeaders(req, obj) {
	const h = {};
	if (obj && typeof obj.cache_salt === "string") h["Request-Cache-Salt"] = obj.cache_salt;
	if (req.headers["privatemode-shard-key"]) h["Request-Shard-Key"] = req.headers["privatemode-shard-key"];
	return h;
}

// --- endpoints ------------------------------------------------------------

// Shared front half of chat, completions and messages: secret/OCSP checks,
// decryption, and the inference-proxy's cache-salt and media policies.
function openChatLike(ctx, req, body, rec, fired, plain) {
	checkSecretAndOcsp(ctx, req, fired);
	const cipher = newCipher(ctx, rec, fired, req);
	const obj = JSON.parse(decryptBody(cipher, body.toString("utf8"), plain, rec) || "null");
	if (!obj || typeof obj !== "object") throw new HandledError(400, "request body must be a JSON object");
	checkCacheSalt(obj);
	checkMedia(obj.messages);
	return { cipher, obj, headers: commonHeaders(req, obj) };
}

async function chat(ctx, req, res, body, rec, fired, legacy) {
	const { cipher, obj, headers } = openChatLike(ctx, req, body, rec, fired, PLAIN.chatReq);
	const model = obj.model ?? "sim-model";
	const id = (legacy ? "cmpl-" : "chatcmpl-") + randomUUID().replace(/-/g, "");
	const created = Math.floor(Date.now() / 1000);
	// X-Sim-Echo-Repeat: the echo N times over (a long answer from a short prompt).
	const rep = Number(req.headers["x-sim-echo-repeat"] ?? 1);
	const text = (legacy ? `Echo: ${Array.isArray(obj.prompt) ? obj.prompt.join("") : obj.prompt ?? "nil"}` : echoOf(obj.messages))
		.repeat(Number.isInteger(rep) && rep > 0 ? Math.min(rep, 10000) : 1);
	const tools = !legacy && Array.isArray(obj.tools) ? obj.tools : [];
	const promptTokens = tokens(JSON.stringify(obj.messages ?? obj.prompt ?? "")) + tokens(JSON.stringify(tools));
	const finish = tools.length ? "tool_calls" : "stop";
	const toolCalls = tools.map((t, i) => ({ id: `call_sim_${i}`, type: "function", function: { name: toolName(t, i), arguments: '{"test":"echo"}' } }));
	const enc = (o) => encryptJson(cipher, JSON.stringify(o), PLAIN.chatResp);

	if (obj.stream !== true) {
		const completionTokens = tokens(text);
		const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
		const resp = legacy
			? { id, object: "text_completion", created, model, choices: [{ index: 0, text, logprobs: null, finish_reason: "stop" }], usage }
			: { id, object: "chat.completion", created, model, choices: [{ index: 0, message: { role: "assistant", content: text, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) }, logprobs: null, finish_reason: finish }], usage };
		return sendJson(res, 200, enc(resp), headers);
	}

	// Streaming: the server forces include_usage and continuous usage stats,
	// so every chunk carries usage and a final chunk has "choices": [].
	const so = streamOpts(ctx, req);
	for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
	const es = new EventStream(res, rec, { fired, intervalMs: so.intervalMs });
	let completion = 0;
	const usage = () => ({ prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion });
	const object = legacy ? "text_completion" : "chat.completion.chunk";
	const chunk = (choice) => enc({ id, object, created, model, choices: [{ index: 0, ...choice, logprobs: null }], usage: usage() });
	if (!legacy && !(await es.send(null, chunk({ delta: { role: "assistant", content: "" }, finish_reason: null })))) return;
	for (const piece of split(text, so.chunks)) {
		completion++;
		const ok = await es.send(null, chunk(legacy ? { text: piece, finish_reason: null } : { delta: { content: piece }, finish_reason: null }));
		if (!ok) return;
	}
	for (const [i, tc] of toolCalls.entries()) {
		// OpenAI tool-call deltas: the first carries index, id, type, name
		// and empty arguments; later ones only index and argument fragments.
		completion++;
		if (!(await es.send(null, chunk({ delta: { tool_calls: [{ index: i, id: tc.id, type: "function", function: { name: tc.function.name, arguments: "" } }] }, finish_reason: null })))) return;
		for (const frag of ['{"test":', '"echo"}']) {
			if (!(await es.send(null, chunk({ delta: { tool_calls: [{ index: i, function: { arguments: frag } }] }, finish_reason: null })))) return;
		}
	}
	if (!(await es.send(null, chunk(legacy ? { text: "", finish_reason: "stop" } : { delta: {}, finish_reason: finish })))) return;
	if (!(await es.send(null, enc({ id, object, created, model, choices: [], usage: usage() })))) return;
	await es.done(true);
}

async function messages(ctx, req, res, body, rec, fired) {
	const { cipher, obj, headers } = openChatLike(ctx, req, body, rec, fired, PLAIN.anthReq);
	const model = obj.model ?? "sim-model";
	const id = "msg_sim_" + randomUUID().replace(/-/g, "").slice(0, 24);
	const text = echoOf(obj.messages);
	const tools = Array.isArray(obj.tools) ? obj.tools : [];
	const inputTokens = tokens(JSON.stringify(obj.messages ?? "")) + tokens(JSON.stringify(obj.system ?? "")) + tokens(JSON.stringify(tools));
	const stopReason = tools.length ? "tool_use" : "end_turn";
	const toolBlocks = tools.map((t, i) => ({ type: "tool_use", id: `toolu_sim_${i}`, name: toolName(t, i), input: { test: "echo" } }));
	const enc = (o) => encryptJson(cipher, JSON.stringify(o), PLAIN.anthResp);

	if (obj.stream !== true) {
		const resp = {
			id, type: "message", role: "assistant", model,
			content: [{ type: "text", text }, ...toolBlocks],
			stop_reason: stopReason, stop_sequence: null,
			usage: { input_tokens: inputTokens, output_tokens: tokens(text) },
		};
		return sendJson(res, 200, enc(resp), headers);
	}

	const so = streamOpts(ctx, req);
	for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
	const es = new EventStream(res, rec, { fired, intervalMs: so.intervalMs });
	const ev = (o) => es.send(o.type, enc(o));
	let out = 0;
	if (!(await ev({ type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inputTokens, output_tokens: 1 } } }))) return;
	if (!(await ev({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }))) return;
	if (!(await ev({ type: "ping" }))) return;
	for (const piece of split(text, so.chunks)) {
		out++;
		if (!(await ev({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: piece } }))) return;
	}
	if (!(await ev({ type: "content_block_stop", index: 0 }))) return;
	for (const [i, tb] of toolBlocks.entries()) {
		const index = i + 1;
		out++;
		if (!(await ev({ type: "content_block_start", index, content_block: { type: "tool_use", id: tb.id, name: tb.name, input: {} } }))) return;
		for (const frag of ['{"test":', '"echo"}'])
			if (!(await ev({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: frag } }))) return;
		if (!(await ev({ type: "content_block_stop", index }))) return;
	}
	if (!(await ev({ type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: out } }))) return;
	if (!(await ev({ type: "message_stop" }))) return;
	await es.done(false); // Anthropic streams have no [DONE]
}

// Deterministic 8-dimensional "embedding" from the input's SHA-256.
function embed(input) {
	const h = createHash("sha256").update(typeof input === "string" ? input : JSON.stringify(input)).digest();
	return Array.from({ length: 8 }, (_, i) => Math.round(((h.readUInt16LE(2 * i) / 65535) * 2 - 1) * 1e6) / 1e6);
}

async function embeddings(ctx, req, res, body, rec, fired) {
	checkSecretAndOcsp(ctx, req, fired);
	const cipher = newCipher(ctx, rec, fired, req);
	const obj = JSON.parse(decryptBody(cipher, body.toString("utf8"), PLAIN.embReq, rec) || "null");
	if (!obj || typeof obj !== "object") throw new HandledError(400, "request body must be a JSON object");
	const inputs = Array.isArray(obj.input) ? obj.input : [obj.input ?? ""];
	const data = inputs.map((inp, index) => {
		const v = embed(inp);
		const embedding = obj.encoding_format === "base64" ? Buffer.from(new Float32Array(v).buffer).toString("base64") : v;
		return { object: "embedding", index, embedding };
	});
	const pt = inputs.reduce((a, s) => a + tokens(typeof s === "string" ? s : JSON.stringify(s)), 0);
	const resp = { id: "embd-" + randomUUID().replace(/-/g, ""), object: "list", created: Math.floor(Date.now() / 1000), model: obj.model ?? "sim-embed", data, usage: { prompt_tokens: pt, total_tokens: pt } };
	sendJson(res, 200, encryptJson(cipher, JSON.stringify(resp), PLAIN.embResp));
}

// Audio transcriptions: decrypt the form in the proxy's order (values by
// name, then files by name), rebuild it, and "transcribe" by echoing the
// file when it is UTF-8 text.
async function transcriptions(ctx, req, res, body, rec, fired) {
	checkSecretAndOcsp(ctx, req, fired);
	const cipher = newCipher(ctx, rec, fired, req);
	let parts;
	try { parts = parseMultipart(body, req.headers["content-type"]); } catch (e) { throw new HandledError(400, `parsing multipart form: ${e.message}`); }
	const { values, files } = formOrder(parts);
	const form = [];
	const dec = (p, isFile) => {
		if (PLAIN.audioReq.has(p.name)) return p.data;
		const pt = cipher.decrypt(p.data.toString("utf8"), p.name);
		form.push({ name: p.name, file: isFile, seq: cipher.decSeq - 1 });
		return pt;
	};
	let dv, df;
	try {
		dv = values.map((p) => ({ ...p, data: dec(p, false) }));
		df = files.map((p) => ({ ...p, data: dec(p, true) }));
	} finally {
		rec.secretId = cipher.id;
		rec.requestNonce = cipher.nonce?.toString("hex") ?? null;
	}
	rec.decrypted = {
		form: [...dv.map((p) => ({ name: p.name, value: p.data.toString("utf8") })),
			...df.map((p) => ({ name: p.name, filename: p.filename, base64: p.data.toString("base64"), text: p.data.toString("utf8") }))],
		fields: form,
	};
	rec.decrypted.rebuiltLength = buildMultipart(dv, df, "simboundary" + randomUUID().replace(/-/g, "")).length;
	const v = Object.fromEntries(dv.map((p) => [p.name, p.data.toString("utf8")]));
	const file = df.find((p) => p.name === "file") ?? df[0];
	if (!file) throw new HandledError(400, "no file in request");
	const asText = file.data.toString("utf8");
	const text = "Echo: " + (Buffer.from(asText, "utf8").equals(file.data) && !/[\x00-\x08]/.test(asText) ? asText : `<${file.data.length} bytes of audio>`);
	const seconds = Math.max(1, Math.round(file.data.length / 16000));
	const usage = { type: "duration", seconds };
	const enc = (o) => encryptJson(cipher, JSON.stringify(o), PLAIN.audioResp);
	if (v.stream !== "true") {
		const resp = v.response_format === "verbose_json"
			? { task: "transcribe", language: v.language ?? "en", duration: seconds, text, segments: [], usage }
			: { text, usage };
		return sendJson(res, 200, enc(resp));
	}
	const so = streamOpts(ctx, req);
	const es = new EventStream(res, rec, { fired, intervalMs: so.intervalMs });
	const id = "trsc-" + randomUUID().replace(/-/g, "");
	const created = Math.floor(Date.now() / 1000);
	let n = 0;
	for (const piece of split(text, so.chunks)) {
		n++;
		if (!(await es.send(null, enc({ id, object: "transcription.chunk", created, model: v.model ?? "sim-whisper", choices: [{ delta: { content: piece }, finish_reason: null, stop_reason: null }], usage: { prompt_tokens: 0, completion_tokens: n, total_tokens: n } })))) return;
	}
	if (!(await es.send(null, enc({ id, object: "transcription.chunk", created, model: v.model ?? "sim-whisper", choices: [], usage: { prompt_tokens: 0, completion_tokens: n, total_tokens: n } })))) return;
	await es.done(true);
}

// Unstructured: the whole body is one message; the answer is a JSON array
// of elements, every element encrypted (no plain set).
async function unstructured(ctx, req, res, body, rec, fired) {
	checkSecretAndOcsp(ctx, req, fired);
	const cipher = newCipher(ctx, rec, fired, req);
	let plain;
	try {
		plain = cipher.decrypt(body.toString("utf8"), "");
	} finally {
		rec.secretId = cipher.id;
		rec.requestNonce = cipher.nonce?.toString("hex") ?? null;
	}
	rec.decrypted = { body: plain.toString("utf8"), fields: [{ name: "", seq: 0 }] };
	const elements = [];
	const el = (text, metadata) => elements.push({ type: "NarrativeText", element_id: createHash("sha256").update(String(elements.length) + text).digest("hex").slice(0, 32), text, metadata });
	const ct = req.headers["content-type"] ?? "";
	if (/^multipart\//i.test(ct)) {
		for (const p of parseMultipart(plain, ct)) el(p.data.toString("utf8"), p.filename ? { filename: p.filename, field: p.name } : { field: p.name });
	} else {
		let obj;
		try { obj = JSON.parse(plain.toString("utf8")); } catch { obj = undefined; }
		if (obj && typeof obj === "object" && !Array.isArray(obj)) for (const [k, val] of Object.entries(obj)) el(typeof val === "string" ? val : JSON.stringify(val), { field: k });
		else el(plain.toString("utf8"), {});
	}
	sendJson(res, 200, encryptJson(cipher, JSON.stringify(elements), PLAIN.none));
}

export const MODELS = [
	{ id: "gpt-oss-120b", tasks: ["generate", "tool_calling"] },
	{ id: "gemma-3-27b", tasks: ["generate", "vision"] },
	{ id: "qwen3-embedding-4b", tasks: ["embed"] },
	{ id: "whisper-large-v3", tasks: ["transcribe"] },
];

function models(ctx, req, res) {
	sendJson(res, 200, { object: "list", data: MODELS.map((m) => ({ id: m.id, object: "model", created: 1735689600, owned_by: "privatemode", tasks: m.tasks })) });
}

export const ROUTES = {
	"/v1/chat/completions": (c, q, r, b, rec, f) => chat(c, q, r, b, rec, f, false),
	"/v1/completions": (c, q, r, b, rec, f) => chat(c, q, r, b, rec, f, true),
	"/v1/messages": messages,
	"/v1/embeddings": embeddings,
	"/v1/audio/transcriptions": transcriptions,
	"/v1/models": models,
};

export function routeFor(path) {
	if (ROUTES[path]) return ROUTES[path];
	if (path.startsWith("/unstructured/")) return unstructured;
	return null;
}

// Run a handler and turn its errors into the deployment's error answers.
export async function runInference(handler, ctx, req, res, body, rec, fired) {
	try {
		await handler(ctx, req, res, body, rec, fired);
	} catch (e) {
		rec.error = e.message;
		if (res.headersSent) { res.destroy(); return; }
		if (e instanceof HandledError) return httpError(req, res, e.status, e.message);
		if (e instanceof NoSecretError) return httpError(req, res, 500, `no secret for ID ${JSON.stringify(e.secretId)}`);
		const msg = /no secret for ID/.test(e.message) ? e.message : `decrypting request: ${e.message}`;
		return httpError(req, res, 500, msg);
	}
}
