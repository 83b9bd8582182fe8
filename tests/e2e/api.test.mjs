// Issue 7: what goes over the wire.  The simulator records every upstream
// request with its decrypted plaintext, so each test asserts what the
// deployment saw: only the plain set in clear, every other top-level value
// a valid ciphertext of exactly the client's raw value; the headers of
// protocol §2.6/§6/§4.2/§5; the retries of §2.8; stream faults (§3.6: never a
// silently truncated stream); timeouts; client disconnects.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import {
	startSim, startDaemon, request, openStream, readAll, parseSse, sleep, waitFor, closedPort, hmacHex, rawExchange,
	CIPHER_RE, UUID7_RE, shardKey, rawBody, rawMembers, byteOrder, isOpenAIError,
} from "./lib/harness.mjs";

const PLAIN_CHAT = ["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"];
const SALT = "e2e-client-salt-0123456789abcdefghij"; // >= 32 chars

// The daemon's upstream timers: every test here needs the simulator to
// answer within them, so they are bounds for a hang, not for a quick
// machine (1 s and 1.5 s were not: a 1.2 MB echo or a 6 MB body took the
// simulator longer under a CPU hog, and a correct daemon answered 504).
// The tests of the timers themselves make the simulator stall for good
// (stall-stream) or for much longer (slow-first-byte).
const IDLE_MS = 8000, FIRST_BYTE_MS = 8000;
let sim, d;
before(async () => {
	sim = await startSim(["--stream-chunks", "3"]);
	d = await startDaemon(sim, {
		over: { stream_idle_timeout: `${IDLE_MS}ms`, upstream_first_byte_timeout: `${FIRST_BYTE_MS}ms`, client_header_timeout: "5s" },
	});
});
after(async () => {
	await d?.stop();
	await sim?.stop();
	const san = d?.sanitizerReport();
	if (san) assert.fail(`sanitizer report:\n${san}`);
});

async function fresh() { await sim.reset({ keepSecrets: true }); }
// Inference records (a request reset before routing has kind null).
const INFER_PATH = /^\/(v1\/(chat|completions|embeddings|audio|messages)|unstructured\/)/;
async function inference() { return (await sim.requests()).filter((r) => r.kind === "inference" || (r.kind === null && INFER_PATH.test(r.path))); }
async function secretOf(id) { return (await sim.secrets()).find((s) => s.id === id); }
const withLog = (msg) => `${msg}\n--- daemon log (tail) ---\n${d.tail(20)}`;

// Post a raw body; returns the client answer and the single upstream record.
async function roundTrip(p, body, headers = {}) {
	await fresh();
	const r = await d.post(p, body, { headers });
	const recs = await inference();
	return { r, rec: recs.at(-1), recs };
}

// The plain/encrypted split of one upstream JSON body against the client's.
function checkSplit(clientBody, rec, plain, { injected = [] } = {}) {
	const client = new Map(rawMembers(clientBody));
	const up = rawMembers(rec.body);
	const fields = new Map(rec.decrypted.fields.map((f) => [f.name, f]));
	const upNames = up.map(([k]) => k);
	assert.deepEqual(upNames.filter((k) => !injected.includes(k)), [...client.keys()], "member order kept");
	for (const [k, v] of up) {
		if (plain.includes(k)) {
			assert.equal(v, client.get(k), `plain member ${k} forwarded verbatim`);
			assert.ok(!fields.has(k), `${k} must not be encrypted`);
			continue;
		}
		const s = JSON.parse(v);
		assert.equal(typeof s, "string", `${k} is a ciphertext string`);
		const m = CIPHER_RE.exec(s);
		assert.ok(m, `${k} = ${v.slice(0, 80)} is not "id:nonce:iv:ct"`);
		assert.equal(m[1], rec.secretId, `${k}: secret ID`);
		assert.equal(m[2], rec.requestNonce, `${k}: one request nonce`);
		assert.ok(fields.has(k), `the sim decrypted ${k}`);
		if (client.has(k)) assert.equal(fields.get(k).plaintext, client.get(k), `${k}: plaintext is exactly the client's raw value`);
		// hex(ct||tag) = 2 * (len(plaintext) + 16)
		assert.equal(m[4].length, 2 * (Buffer.byteLength(fields.get(k).plaintext) + 16), `${k}: ciphertext length`);
	}
	// Sequence numbers follow the bytewise order of the encrypted names (§3.5).
	const bySeq = [...rec.decrypted.fields].sort((a, b) => a.seq - b.seq).map((f) => f.name);
	assert.deepEqual(bySeq, [...bySeq].sort(byteOrder), "seq order = bytewise name order");
	assert.deepEqual(rec.requestSeqs, bySeq.map((_, i) => i));
	assert.deepEqual(new Set(bySeq), new Set(upNames.filter((k) => !plain.includes(k))), "every non-plain member encrypted");
}

// --- the plain sets ----------------------------------------------------------

test("chat: only model, stream, stream_options, max_tokens, max_completion_tokens, n in clear; every other value a ciphertext of exactly the client's raw text, in bytewise seq order", async () => {
	const body = rawBody([
		["model", '"gpt-oss-120b"'],
		["messages", '[ {"role":"system","content":"be brief"},\n {"role":"user","content":"Hello \\u00e9 \\"quoted\\" \\n line"} ]'],
		["temperature", "0.50"],
		["top_p", "1e0"],
		["stream", "false"],
		["stream_options", '{"include_usage": true}'],
		["max_tokens", "64"],
		["max_completion_tokens", "32"],
		["n", "1"],
		["seed", "42"],
		["metadata", '{"a": "b"}'],
		["Zeta", '"upper case sorts first"'],
		["_under", "null"],
		["tools", '[{"type":"function","function":{"name":"f","parameters":{}}}]'],
		["tool_choice", '"auto"'],
		["response_format", '{"type":"text"}'],
		["logit_bias", '{"50256": -100}'],
		["user", '"u1"'],
	], ", ");
	const { r, rec } = await roundTrip("/v1/chat/completions", body);
	assert.equal(r.status, 200, r.text);
	checkSplit(body, rec, PLAIN_CHAT, { injected: ["cache_salt"] });
	assert.equal(r.json().choices[0].message.content, 'Echo: Hello é "quoted" \n line');
	assert.equal(r.json().choices[0].message.tool_calls[0].function.name, "f");
});

test("chat: the upstream document is otherwise byte-for-byte the client's (whitespace kept, cache_salt appended last)", async () => {
	const body = '{ "model" : "m",\n  "messages":[{"role":"user","content":"ws"}] ,"temperature":1 }';
	const { r, rec } = await roundTrip("/v1/chat/completions", body);
	assert.equal(r.status, 200, r.text);
	// Put the plaintexts back where the ciphertexts are; drop the salt.
	let rebuilt = rec.body;
	const up = rawMembers(rec.body);
	const plainOf = new Map(rec.decrypted.fields.map((f) => [f.name, f.plaintext]));
	for (const [k, v] of up) if (plainOf.has(k)) rebuilt = rebuilt.replace(v, plainOf.get(k));
	const salt = plainOf.get("cache_salt");
	rebuilt = rebuilt.replace(`,"cache_salt":${salt}`, "");
	assert.equal(rebuilt.replace(/\s+}$/, " }"), body.replace(/\s+}$/, " }"));
});

test("anthropic messages: only model and stream in clear (max_tokens, system, messages, metadata encrypted)", async () => {
	const body = rawBody([["model", '"claude-x"'], ["max_tokens", "100"], ["stream", "false"], ["system", '"sys prompt"'], ["messages", '[{"role":"user","content":"hi anthropic"}]'], ["metadata", '{"user_id":"u"}'], ["temperature", "0"]]);
	const { r, rec } = await roundTrip("/v1/messages", body, { "anthropic-version": "2023-06-01" });
	assert.equal(r.status, 200, r.text);
	checkSplit(body, rec, ["model", "stream"], { injected: ["cache_salt"] });
	assert.ok(rec.decrypted.fields.some((f) => f.name === "max_tokens" && f.plaintext === "100"), "max_tokens encrypted");
	assert.equal(r.json().content[0].text, "Echo: hi anthropic");
	assert.equal(r.json().type, "message");
});

test("embeddings: only model in clear; no cache_salt injected", async () => {
	const body = rawBody([["model", '"qwen3-embedding-4b"'], ["input", '["one", "two"]'], ["encoding_format", '"float"'], ["dimensions", "8"]]);
	const { r, rec } = await roundTrip("/v1/embeddings", body);
	assert.equal(r.status, 200, r.text);
	checkSplit(body, rec, ["model"]);
	assert.ok(!rawMembers(rec.body).some(([k]) => k === "cache_salt"));
	assert.equal(r.json().data.length, 2);
	assert.equal(r.json().data[0].embedding.length, 8);
});

test("legacy completions: chat plain set; prompt and suffix encrypted", async () => {
	const body = rawBody([["model", '"m"'], ["prompt", '"def f():"'], ["suffix", '"\\n    return 1"'], ["max_tokens", "16"], ["temperature", "0.2"]]);
	const { r, rec } = await roundTrip("/v1/completions", body);
	assert.equal(r.status, 200, r.text);
	checkSplit(body, rec, PLAIN_CHAT, { injected: ["cache_salt"] });
	assert.equal(r.json().choices[0].text, "Echo: def f():");
});

test("transcriptions (multipart): model in clear, values then files encrypted in name order; the answer decrypted", async () => {
	await fresh();
	const b = "e2eboundary" + Date.now();
	const part = (name, value, filename) => `--${b}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"\r\nContent-Type: audio/mpeg` : ""}\r\n\r\n${value}\r\n`;
	const body = part("model", "whisper-large-v3") + part("language", "en") + part("temperature", "0") + part("file", "spoken words", "a.mp3") + `--${b}--\r\n`;
	const r = await d.post("/v1/audio/transcriptions", body, { headers: { "Content-Type": `multipart/form-data; boundary=${b}` } });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json().text, "Echo: spoken words");
	const rec = (await inference()).at(-1);
	const form = Object.fromEntries(rec.decrypted.form.map((p) => [p.name, p.value ?? p.text]));
	assert.deepEqual(form, { model: "whisper-large-v3", language: "en", temperature: "0", file: "spoken words" });
	assert.deepEqual(rec.decrypted.fields.map((f) => f.name), ["language", "temperature", "file"], "values by name, then files");
	assert.ok(rec.body.includes('name="model"\r\n\r\nwhisper-large-v3\r\n'), "model in clear");
	assert.ok(!rec.body.includes("spoken words"), "file content not in clear");
	assert.equal(rec.headers["privatemode-target-model"], "whisper-large-v3");
});

test("unstructured: the whole raw body is one ciphertext; the elements come back decrypted", async () => {
	const body = JSON.stringify({ text: "some content", other: "x" });
	const { r, rec } = await roundTrip("/unstructured/general/v0/general", body);
	assert.equal(r.status, 200, r.text);
	const m = /^"(.*)"$/.exec(rec.body);
	assert.ok(m && CIPHER_RE.test(m[1]), `one quoted ciphertext: ${rec.body.slice(0, 80)}`);
	assert.equal(rec.decrypted.body, body);
	assert.deepEqual(r.json().map((e) => e.text), ["some content", "x"]);
});

test("transcriptions with stream=true: SSE answer decrypted; stream fields in clear", async () => {
	await fresh();
	const b = "e2estream" + Date.now();
	const part = (name, value, filename) => `--${b}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"` : ""}\r\n\r\n${value}\r\n`;
	const body = part("model", "whisper-large-v3") + part("stream", "true") + part("file", "streamed words", "a.mp3") + `--${b}--\r\n`;
	const s = await openStream(d.url("/v1/audio/transcriptions"), { body, headers: { "Content-Type": `multipart/form-data; boundary=${b}` } });
	const a = await readAll(s.res);
	assert.equal(s.status, 200);
	assert.match(s.headers["content-type"], /event-stream/);
	const data = parseSse(a.text).map((e) => e.data);
	assert.equal(data.at(-1), "[DONE]");
	assert.equal(data.slice(0, -1).map((x) => JSON.parse(x).choices[0]?.delta?.content ?? "").join(""), "Echo: streamed words");
	const rec = (await inference()).at(-1);
	assert.ok(rec.body.includes('name="stream"\r\n\r\ntrue\r\n'), "stream in clear");
	assert.deepEqual(rec.decrypted.fields.map((f) => f.name), ["file"]);
});

test("unstructured with 12 members: 12 elements decrypted in string-sorted index order (0,1,10,11,2,...) and returned in array order", async () => {
	const obj = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`k${String(i).padStart(2, "0")}`, `value ${i}`]));
	const { r, rec } = await roundTrip("/unstructured/general/v0/general", JSON.stringify(obj));
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json().map((e) => e.text), Object.values(obj));
	assert.equal(rec.responseSeqs.length, 12);
});

test("unstructured multipart (field + file) is encrypted whole and comes back decrypted", async () => {
	await fresh();
	const b = "unsb" + Date.now();
	const body = `--${b}\r\nContent-Disposition: form-data; name="strategy"\r\n\r\ntest field\r\n--${b}\r\nContent-Disposition: form-data; name="files"; filename="doc.txt"\r\nContent-Type: text/plain\r\n\r\nsome content\r\n--${b}--\r\n`;
	const r = await d.post("/unstructured/general/v0/general", body, { headers: { "Content-Type": `multipart/form-data; boundary=${b}` } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(r.json().map((e) => e.text), ["test field", "some content"]);
	const rec = (await inference()).at(-1);
	assert.equal(rec.decrypted.body, body, "the whole raw body is the one plaintext");
	assert.equal(rec.headers["content-type"], `multipart/form-data; boundary=${b}`, "original Content-Type kept");
});

// --- headers -------------------------------------------------------------------

test("upstream headers: Privatemode-Version/-OS/-Architecture/-Client/-Secret-ID/-OCSP policy+MAC/-User-Request-ID/-Target-Model; key replaces the client's Authorization; X-Forwarded-For appended; no Accept-Encoding; X-Request-ID forwarded and echoed", async () => {
	await fresh();
	const r = await d.post("/v1/chat/completions", { model: "gpt-oss-120b", messages: [{ role: "user", content: "h" }] }, {
		headers: { Authorization: "Bearer client-token", "X-Forwarded-For": "10.9.8.7", "Accept-Encoding": "gzip, br", "X-Request-ID": "e2e-req-1", "User-Agent": "e2e/1.0" },
	});
	assert.equal(r.status, 200, r.text);
	assert.equal(r.headers["x-request-id"], "e2e-req-1", "client X-Request-ID echoed");
	assert.equal(r.headers["content-encoding"], undefined);
	const h = (await inference()).at(-1).headers;
	assert.equal(h["privatemode-version"], "v1.40.0");
	assert.equal(h["privatemode-os"], "linux");
	assert.equal(h["privatemode-architecture"], "amd64");
	assert.equal(h["privatemode-client"], "Proxy");
	const sec = await secretOf(h["privatemode-secret-id"]);
	assert.ok(sec, "Secret-ID names a live secret");
	const pol = /^rules=allow-good,allow-revoked,allow-unknown; revocation-time-not-before=(-?\d+)$/.exec(h["privatemode-nvidia-ocsp-policy"]);
	assert.ok(pol, `default OCSP policy: ${h["privatemode-nvidia-ocsp-policy"]}`);
	assert.ok(Math.abs(Number(pol[1]) - (Date.now() / 1000 - 48 * 3600)) < 300, "not-before = now - 48 h");
	assert.equal(h["privatemode-nvidia-ocsp-policy-mac"], hmacHex(Buffer.from(sec.secret, "hex"), h["privatemode-nvidia-ocsp-policy"]));
	const rid = /^proxy_(.*)_0$/.exec(h["privatemode-user-request-id"]);
	assert.ok(rid && UUID7_RE.test(rid[1]), `User-Request-ID ${h["privatemode-user-request-id"]}`);
	assert.equal(h["privatemode-target-model"], "gpt-oss-120b");
	assert.equal(h.authorization, `Bearer ${sim.info.api_key}`, "configured key replaces the client's");
	assert.equal(h["x-forwarded-for"], "10.9.8.7, 127.0.0.1");
	assert.equal(h["accept-encoding"], undefined, "no Accept-Encoding upstream");
	assert.equal(h["x-request-id"], "e2e-req-1", "client X-Request-ID forwarded");
	assert.equal(h["user-agent"], "e2e/1.0");
	assert.equal(h["privatemode-shard-key"], undefined, "no shard key without a salt");
});

test("client-supplied Privatemode-* and Authorization headers never duplicate or override the daemon's", async () => {
	await fresh();
	const r = await d.post("/v1/chat/completions", { model: "real-model", messages: [{ role: "user", content: "h" }] }, {
		headers: {
			Authorization: "Bearer client", "Privatemode-Secret-ID": "forged-id", "Privatemode-Target-Model": "forged-model",
			"Privatemode-Client": "App", "Privatemode-Version": "v0.0.1", "Privatemode-User-Request-ID": "forged_0",
			"Privatemode-NVIDIA-OCSP-Policy": "rules=allow-good; revocation-time-not-before=0", "Privatemode-NVIDIA-OCSP-Policy-MAC": "00",
		},
	});
	assert.equal(r.status, 200, r.text);
	const rec = (await inference()).at(-1);
	const count = (name) => rec.rawHeaders.filter((x, i) => i % 2 === 0 && x.toLowerCase() === name).length;
	for (const n of ["authorization", "privatemode-secret-id", "privatemode-target-model", "privatemode-client", "privatemode-version", "privatemode-user-request-id", "privatemode-nvidia-ocsp-policy", "privatemode-nvidia-ocsp-policy-mac"])
		assert.equal(count(n), 1, `exactly one ${n} upstream`);
	const h = rec.headers;
	assert.equal(h["privatemode-target-model"], "real-model");
	assert.equal(h["privatemode-client"], "Proxy");
	assert.equal(h["privatemode-version"], "v1.40.0");
	assert.notEqual(h["privatemode-secret-id"], "forged-id");
	assert.match(h["privatemode-user-request-id"], /^proxy_.*_0$/);
	assert.equal(h.authorization, `Bearer ${sim.info.api_key}`);
});

test("HTTP/1.0 client: a streamed answer is close-delimited (no chunked framing)", async () => {
	await fresh();
	const b = JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "old client" }] });
	const raw = await rawExchange(d.port, [`POST /v1/chat/completions HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`], { timeoutMs: 5000 });
	assert.match(raw.text, /^HTTP\/1\.[01] 200/);
	const head = raw.text.slice(0, raw.text.indexOf("\r\n\r\n"));
	assert.doesNotMatch(head, /Transfer-Encoding: chunked/i);
	assert.ok(raw.closedByPeer);
	const evs = parseSse(Buffer.from(raw.text, "latin1").toString("utf8").slice(head.length + 4));
	assert.equal(evs.at(-1).data, "[DONE]");
	assert.equal(evs.slice(0, -1).map((e) => JSON.parse(e.data).choices[0]?.delta?.content ?? "").join(""), "Echo: old client");
});

test("without a client X-Request-ID the minted proxy_<uuidv7> is echoed and is the ID the upstream sees (one ID per request for log correlation)", async () => {
	await fresh();
	const r = await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "id" }] });
	assert.equal(r.status, 200);
	const mine = r.headers["x-request-id"];
	assert.match(mine, /^proxy_/);
	assert.match(mine.slice(6), UUID7_RE);
	const up = (await inference()).at(-1).headers["privatemode-user-request-id"];
	assert.equal(up, `${mine}_0`);
});

test("a client X-Request-ID that is not sane (spaces, 300 chars) is replaced by a minted one", async () => {
	const r1 = await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }] }, { headers: { "X-Request-ID": "has spaces; and <tags>" } });
	assert.match(r1.headers["x-request-id"], /^proxy_/);
	const r2 = await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "x" }] }, { headers: { "X-Request-ID": "a".repeat(300) } });
	assert.match(r2.headers["x-request-id"], /^proxy_/);
});

test("/v1/models: forwarded in clear with the configured key and Privatemode-User-Request-ID proxy_<uuid> (no attempt suffix, no secret or OCSP headers)", async () => {
	await fresh();
	const r = await d.get("/v1/models", { headers: { Authorization: "Bearer dummy_key" } });
	assert.equal(r.status, 200, r.text);
	assert.ok(r.json().data.some((m) => m.id === "gpt-oss-120b" && Array.isArray(m.tasks)));
	const rec = (await sim.requests()).find((x) => x.path === "/v1/models");
	assert.ok(rec);
	assert.equal(rec.headers.authorization, `Bearer ${sim.info.api_key}`);
	assert.match(rec.headers["privatemode-user-request-id"], /^proxy_[0-9a-f-]{36}$/);
	assert.equal(rec.headers["privatemode-secret-id"], undefined);
	assert.equal(rec.headers["privatemode-nvidia-ocsp-policy"], undefined);
	assert.equal(rec.headers["privatemode-client"], "Proxy");
});

test("aliases /chat/completions, /completions, /embeddings, /models, /v1/v1/models reach the canonical /v1 paths", async () => {
	await fresh();
	const cases = [
		["POST", "/chat/completions", { model: "m", messages: [{ role: "user", content: "a" }] }, "/v1/chat/completions"],
		["POST", "/completions", { model: "m", prompt: "a" }, "/v1/completions"],
		["POST", "/embeddings", { model: "m", input: "a" }, "/v1/embeddings"],
		["GET", "/models", undefined, "/v1/models"],
		["GET", "/v1/v1/models", undefined, "/v1/models"],
	];
	for (const [m, p, body, up] of cases) {
		await sim.forgetRequests();
		const r = m === "GET" ? await d.get(p) : await d.post(p, body);
		assert.equal(r.status, 200, `${p}: ${r.text}`);
		const recs = await sim.requests();
		assert.equal(recs.at(-1).path, up, `${p} → ${up}`);
	}
});

// --- cache salt and shard key ----------------------------------------------------

test("shard key oracle (written from protocol §4.2) reproduces the test-salt vectors", () => {
	const k = (L) => shardKey("test-salt", "a".repeat(L));
	const P = "087280357dfdc5a3";
	assert.equal(k(0), P);
	assert.equal(k(63), P);
	assert.equal(k(64), `${P}-Q`);
	assert.equal(k(127), `${P}-Q`);
	assert.equal(k(128), `${P}-QK`);
	assert.equal(k(192), `${P}-QKx`);
	const s4095 = "QKxToFQ1MRRq7Cv3lYFdwK6SCGf2xm2Lb85NGe7Z+Zy8goI7wAWd/zYccoVSVlj";
	assert.equal(k(4095), `${P}-${s4095}`);
	assert.equal(k(4096), `${P}-${s4095}T`);
	assert.equal(k(4607), `${P}-${s4095}T`);
	assert.equal(k(4608), `${P}-${s4095}TI`);
	assert.equal(k(400383).length, 17 + 837);
	assert.equal(k(400384).length, 17 + 838);
	assert.equal(k(4000003).length, 17 + 2595);
	assert.throws(() => k(4000004), /context too large/);
});

describe("Privatemode-Shard-Key for a client cache_salt (content of known lengths, legacy completions prompt = 'a' x L)", () => {
	for (const L of [0, 63, 64, 128, 192, 4095, 4096, 4608, 400384]) {
		test(`L = ${L}`, async () => {
			await fresh();
			const r = await d.post("/v1/completions", { model: "m", prompt: "a".repeat(L), cache_salt: SALT, max_tokens: 1 });
			assert.equal(r.status, 200, r.text.slice(0, 300));
			const rec = (await inference()).at(-1);
			assert.equal(rec.headers["privatemode-shard-key"], shardKey(SALT, "a".repeat(L)));
			assert.equal(JSON.parse(rec.decrypted.fields.find((f) => f.name === "cache_salt").plaintext), SALT, "client salt kept");
		});
	}
});

test("shard key content = system + tools + messages + prompt + suffix (strings unescaped, arrays as raw JSON text)", async () => {
	await fresh();
	const messages = '[{"role":"user", "content":"x\\ny ' + "b".repeat(300) + '"}]';
	const tools = '[{"name":"t","input_schema":{"type":"object"}}]';
	const body = rawBody([["model", '"claude"'], ["max_tokens", "5"], ["system", '"caf\\u00e9 ' + "s".repeat(200) + '"'], ["tools", tools], ["messages", messages], ["cache_salt", JSON.stringify(SALT)]]);
	const r = await d.post("/v1/messages", body);
	assert.equal(r.status, 200, r.text);
	const content = "café " + "s".repeat(200) + tools + messages;
	assert.equal((await inference()).at(-1).headers["privatemode-shard-key"], shardKey(SALT, content));
});

test("no client salt: a fresh random 44-char cache_salt per request is injected, and no shard key is sent", async () => {
	await fresh();
	for (let i = 0; i < 2; i++) assert.equal((await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "s" }] })).status, 200);
	const recs = await inference();
	const salts = recs.map((x) => JSON.parse(x.decrypted.fields.find((f) => f.name === "cache_salt").plaintext));
	for (const s of salts) assert.match(s, /^[A-Za-z0-9+/]{43}=$/);
	assert.notEqual(salts[0], salts[1]);
	for (const x of recs) assert.equal(x.headers["privatemode-shard-key"], undefined);
});

test("a client cache_salt shorter than 32 characters → 400 invalid_cache_salt, nothing forwarded", async () => {
	await fresh();
	const r = await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: "s" }], cache_salt: "too short" });
	assert.equal(r.status, 400, r.text);
	assert.ok(isOpenAIError(r.json()));
	assert.equal(r.json().error.code, "invalid_cache_salt");
	assert.equal((await inference()).length, 0);
});

test("shared_prompt_cache + prompt_cache_salt: the configured salt is used and yields the shard key; a client salt still wins", async (t) => {
	const PSALT = "p1234567890123456789012345678912";
	const d2 = await startDaemon(sim, { over: { shared_prompt_cache: "yes", prompt_cache_salt: PSALT } });
	t.after(() => d2.stop());
	await fresh();
	const body = { model: "m", prompt: "a".repeat(100) };
	assert.equal((await d2.post("/v1/completions", body)).status, 200);
	let rec = (await inference()).at(-1);
	assert.equal(JSON.parse(rec.decrypted.fields.find((f) => f.name === "cache_salt").plaintext), PSALT);
	assert.equal(rec.headers["privatemode-shard-key"], shardKey(PSALT, "a".repeat(100)));
	assert.equal((await d2.post("/v1/completions", { ...body, cache_salt: SALT })).status, 200);
	rec = (await inference()).at(-1);
	assert.equal(rec.headers["privatemode-shard-key"], shardKey(SALT, "a".repeat(100)));
});

// --- retries (protocol §2.8) -------------------------------------------------------

const CHAT = { model: "m", messages: [{ role: "user", content: "retry me" }] };

// What this daemon's keyd did since `mark` (a length of its log): the
// forced exchanges it asked for, the secrets it installed (the first 8
// characters the log shows) and failed update attempts.  keyd's lines
// reach the log through the parent, in keyd's order; an answer to the
// client may overtake them, so wait for the line that ends the story.
function keydSince(mark) {
	const l = d.log().slice(mark);
	return {
		forced: (l.match(/upstream does not know our secret/g) ?? []).length,
		installed: [...l.matchAll(/inference secret (\S{8})\.\.\. established/g)].map((m) => m[1]),
		failed: l.split("\n").filter((x) => /secret update failed|re-attesting/.test(x)),
	};
}

test("no-secret once → a new secret exchange and one resend: 2 upstream requests, Secret-ID and User-Request-ID (_0, _1) differ, client gets 200", async () => {
	await fresh();
	const mark = d.log().length;
	await sim.faults({ "no-secret": { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, withLog(r.text));
	assert.equal(r.json().choices[0].message.content, "Echo: retry me");
	const recs = await inference();
	assert.equal(recs.length, 2, "exactly two attempts");
	const [a, b] = recs.map((x) => x.headers);
	assert.notEqual(a["privatemode-secret-id"], b["privatemode-secret-id"], "a new secret for the resend");
	const ida = /^(proxy_.*)_0$/.exec(a["privatemode-user-request-id"]), idb = /^(proxy_.*)_1$/.exec(b["privatemode-user-request-id"]);
	assert.ok(ida && idb, `${a["privatemode-user-request-id"]} / ${b["privatemode-user-request-id"]}`);
	assert.equal(ida[1], idb[1], "same request, next attempt");
	assert.notEqual(recs[0].requestNonce, recs[1].requestNonce);
	// Exactly one exchange, forced by the fault, counted where it happens:
	// this daemon's keyd (the simulator is shared with every daemon of
	// this file, and counting all its exchanges once failed with 2 !== 1
	// under ASan).  The simulator saw that exchange, and answered it.
	const sid = b["privatemode-secret-id"];
	await waitFor("keyd's log of the new secret", () => keydSince(mark).installed.length > 0, { timeoutMs: 10000 });
	const k = keydSince(mark);
	assert.equal(k.forced, 1, withLog("one forced exchange asked for"));
	assert.deepEqual(k.installed, [sid.slice(0, 8)], withLog("keyd installed one secret: the resend's"));
	assert.deepEqual(k.failed, [], withLog("the exchange succeeded at its first attempt"));
	const ex = (await sim.requests("secret")).filter((x) => x.secretId === sid);
	assert.equal(ex.length, 1, `the simulator saw the exchange of ${sid} once: ${JSON.stringify((await sim.requests("secret")).map((x) => ({ id: x.id, time: x.time, remote: x.remote, secretId: x.secretId, status: x.status, outcome: x.outcome })))}`);
	assert.equal(ex[0].status, 200);
	assert.ok(await secretOf(sid));
});

test("the deployment forgot our secret (all secrets dropped) → 500 no secret, forced exchange, resend with the new secret: 200", async () => {
	await fresh();
	await sim.deleteSecrets();
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, withLog(r.text));
	const recs = await inference();
	assert.equal(recs.length, 2, "exactly two attempts");
	assert.match(recs[0].error ?? "", /no secret for ID/);
	assert.notEqual(recs[1].headers["privatemode-secret-id"], recs[0].headers["privatemode-secret-id"]);
	assert.ok(await secretOf(recs[1].headers["privatemode-secret-id"]), "the resend names a secret the deployment knows");
	assert.equal((await d.readyz()).status, 200);
});

test("reset before any response → resent once after ~50 ms with a new nonce: 200", async () => {
	await fresh();
	await sim.faults({ reset: { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, withLog(r.text));
	const recs = await inference();
	assert.equal(recs.length, 2);
	assert.equal(recs[0].outcome, "reset before response");
	const gap = Date.parse(recs[1].time) - Date.parse(recs[0].time);
	assert.ok(gap >= 45 && gap < 2000, `resend after ${gap} ms`);
	assert.match(recs[0].headers["privatemode-user-request-id"], /_0$/);
	assert.match(recs[1].headers["privatemode-user-request-id"], /_1$/);
	assert.equal(recs[1].headers["privatemode-secret-id"], recs[0].headers["privatemode-secret-id"], "same secret");
	assert.notEqual(recs[1].requestNonce, null);
	assert.equal((await sim.requests("secret")).length, 0, "no new exchange for a reset");
});

test("reset persisting → one retry only, then a 502 error", async () => {
	await fresh();
	await sim.faults({ reset: true });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 502, r.text);
	assert.ok(isOpenAIError(r.json()), r.text);
	assert.equal((await inference()).length, 2);
});

test("no-secret persisting → one retry only, then the error is relayed", async () => {
	await fresh();
	await sim.faults({ "no-secret": true });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.ok(r.status >= 500, r.text);
	assert.match(r.text, /no secret for ID/);
	assert.equal((await inference()).length, 2);
});

test("reset then no-secret (both faults) → still only one retry per request", async () => {
	await fresh();
	await sim.faults({ reset: { times: 1 }, "no-secret": true });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.ok(r.status >= 500, r.text);
	assert.equal((await inference()).length, 2);
});

test("upstream-error 503 (Privatemode-Encrypted: false) → status and body relayed untouched", async () => {
	await fresh();
	await sim.faults({ "upstream-error": { status: 503, message: "deployment overloaded", times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 503);
	assert.deepEqual(r.json(), { error: { message: "deployment overloaded", type: "" } });
	assert.equal((await inference()).length, 1, "not retried");
});

// --- streams --------------------------------------------------------------------

async function stream(p, body, headers = {}, timeoutMs = 60000) {
	const s = await openStream(d.url(p), { body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers }, timeoutMs: 60000 });
	const t0 = Date.now();
	const all = await readAll(s.res, { timeoutMs });
	return { ...s, ...all, ms: Date.now() - t0, events: parseSse(all.text) };
}
const SCHAT = { model: "m", messages: [{ role: "user", content: "stream this" }], stream: true, stream_options: { include_usage: true } };

// Every data event before the error is complete JSON; exactly one error event
// at the end; no [DONE]; the HTTP message ends properly.
function assertErrorEnd(s, { anthropic = false } = {}) {
	assert.equal(s.status, 200);
	assert.ok(s.ended, `the stream must end properly (chunked terminator), got ${s.error?.message}: ${s.text.slice(-200)}`);
	const evs = s.events;
	assert.ok(evs.length >= 1, "some events");
	for (const e of evs.slice(0, -1)) {
		assert.doesNotThrow(() => JSON.parse(e.data), `complete JSON event expected: ${JSON.stringify(e.data?.slice(0, 100))}`);
		assert.ok(!JSON.parse(e.data).error, "only the last event is an error");
	}
	const last = evs.at(-1);
	let j;
	assert.doesNotThrow(() => { j = JSON.parse(last.data); }, `the error event's data must be one JSON object, got: ${JSON.stringify(last.data?.slice(0, 120))}`);
	if (anthropic) {
		assert.equal(last.event, "error");
		assert.equal(j.type, "error");
		assert.equal(typeof j.error.message, "string");
	} else {
		assert.ok(j.error && typeof j.error.message === "string", `last event is data: {"error":...}: ${last.data}`);
	}
	assert.ok(!s.text.includes("[DONE]"), "no [DONE] invented");
	assert.ok(!/[0-9a-f]{24}:[0-9a-f]{24}:[0-9a-f]{32}/.test(s.text), "no ciphertext passed to the client");
}

test("streaming chat with include_usage: decrypted chunks, usage chunk with choices [], [DONE]", async () => {
	await fresh();
	const s = await stream("/v1/chat/completions", SCHAT);
	assert.equal(s.status, 200);
	assert.match(s.headers["content-type"], /text\/event-stream/);
	assert.ok(s.ended);
	const data = s.events.map((e) => e.data);
	assert.equal(data.at(-1), "[DONE]");
	const chunks = data.slice(0, -1).map((x) => JSON.parse(x));
	assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join(""), "Echo: stream this");
	assert.deepEqual(chunks.at(-1).choices, []);
	assert.ok(chunks.at(-1).usage.total_tokens > 0);
	assert.equal(chunks.at(-2).choices[0].finish_reason, "stop");
});

test(`stall-stream → after stream_idle_timeout (${IDLE_MS / 1000} s) an error event, then the stream ends`, async () => {
	await fresh();
	await sim.faults({ "stall-stream": { after: 2, times: 1 } });
	const s = await stream("/v1/chat/completions", SCHAT, {}, IDLE_MS + 60000);
	assertErrorEnd(s);
	// Not before the idle timeout.  What ended it is the error event's
	// text (below) and a proper end (assertErrorEnd): the simulator never
	// ends a stalled stream, so no upper bound on the clock is needed.
	assert.ok(s.ms >= IDLE_MS - 100, `ended after ${s.ms} ms`);
	assert.equal(s.events.length, 3, "2 events, then the error");
	assert.match(JSON.parse(s.events.at(-1).data).error.message, /timeout|timed out|idle/i);
});

test("truncate-sse → only complete events, then an error event and a proper end (never a silently truncated stream)", async () => {
	await fresh();
	await sim.faults({ "truncate-sse": { after: 2, times: 1 } });
	const s = await stream("/v1/chat/completions", SCHAT);
	assertErrorEnd(s);
	assert.equal(s.events.length, 3);
});

test("reset-mid-stream → error event then end; not retried after bytes were sent", async () => {
	await fresh();
	await sim.faults({ "reset-mid-stream": { after: 2, times: 1 } });
	const s = await stream("/v1/chat/completions", SCHAT);
	assertErrorEnd(s);
	assert.equal(s.events.length, 3);
	assert.equal((await inference()).length, 1);
});

test("non-json-sse → error event (payload is not JSON), stream ends", async () => {
	await fresh();
	await sim.faults({ "non-json-sse": { after: 1, times: 1 } });
	const s = await stream("/v1/chat/completions", SCHAT);
	assertErrorEnd(s);
	assert.ok(!s.text.includes("this is not JSON"));
});

test("wrong-seq (stream) → error event, no garbage", async () => {
	await fresh();
	await sim.faults({ "wrong-seq": { times: 1 } });
	const s = await stream("/v1/chat/completions", SCHAT);
	assertErrorEnd(s);
	assert.equal(s.events.length, 1, "the first event already fails");
});

test("wrong-seq (unary) → 5xx OpenAI error, no ciphertext or garbage passed on", async () => {
	await fresh();
	await sim.faults({ "wrong-seq": { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.ok(r.status >= 500 && r.status < 600, r.text);
	assert.ok(isOpenAIError(r.json()), r.text);
	assert.ok(!/[0-9a-f]{24}:[0-9a-f]{24}/.test(r.text));
});

test("anthropic stream cut mid-way (reset-mid-stream) → event: error with {type:error}, then the end", async () => {
	await fresh();
	await sim.faults({ "reset-mid-stream": { after: 3, times: 1 } });
	const s = await stream("/v1/messages", { model: "c", max_tokens: 10, stream: true, messages: [{ role: "user", content: "x" }] });
	assertErrorEnd(s, { anthropic: true });
	assert.deepEqual(s.events.slice(0, 3).map((e) => e.event), ["message_start", "content_block_start", "ping"]);
});

// Backpressure: a stream far larger than the socket buffers on both legs.
// The simulator waits for "drain" like a real server, so it stalls exactly
// when keyd stops reading upstream (the worker's MSG_REQ_CTL pause at the
// client's high-water mark); a proxy that buffered everything would let it
// finish, and grow by the whole answer.
test("a client that stops reading a long stream: keyd stops reading upstream (the simulator stalls, keyd's memory stays flat), nothing is lost once it reads again", async (t) => {
	await fresh();
	// Default timeouts: a paused client is not an idle stream.
	const dd = await startDaemon(sim);
	t.after(async () => {
		await dd.stop();
		const san = dd.sanitizerReport();
		if (san) assert.fail(`sanitizer report:\n${san}`);
	});
	const prompt = "p".repeat(16 * 1024), REPEAT = 1500, CHUNKS = 3000;
	const rss = (pid) => Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
	const keyd = dd.children("keyd")[0];
	const rss0 = rss(keyd);
	const res = await new Promise((resolve, reject) => {
		const req = http.request({
			host: "127.0.0.1", port: dd.port, method: "POST", path: "/v1/chat/completions",
			headers: { "Content-Type": "application/json", "X-Sim-Stream-Chunks": String(CHUNKS), "X-Sim-Echo-Repeat": String(REPEAT) },
		}, resolve);
		req.on("error", reject);
		req.end(JSON.stringify({ model: "gpt-oss-120b", stream: true, messages: [{ role: "user", content: prompt }] }));
	});
	assert.equal(res.statusCode, 200);
	res.pause();
	let last = -1;
	const rec = await waitFor("the simulator to stall", async () => {
		const r = (await inference()).at(-1);
		const n = r?.eventsWritten ?? 0;
		const still = n > 0 && n === last;
		last = n;
		return still ? r : null;
	}, { timeoutMs: 60000, intervalMs: 1000 });
	assert.ok(rec.eventsWritten < CHUNKS, `held back while the client does not read: ${rec.eventsWritten} of ${CHUNKS} events written`);
	// The answer is 24 MB; what keyd holds meanwhile is a read or two.
	// (ASan's quarantine keeps freed memory resident: not a measure there.)
	const grown = rss(keyd) - rss0;
	if (process.env.ASAN_OPTIONS)
		t.diagnostic(`keyd grew by ${grown} bytes (not checked under ASan)`);
	else
		assert.ok(grown < 8 * 1024 * 1024, `keyd grew by ${grown} bytes while the client did not read`);
	const chunks = [];
	res.on("data", (c) => chunks.push(c));
	await new Promise((resolve, reject) => { res.on("end", resolve); res.on("error", reject); res.resume(); });
	const evs = parseSse(Buffer.concat(chunks).toString("utf8"));
	assert.equal(evs.at(-1).data, "[DONE]");
	const content = evs.filter((e) => e.data && e.data !== "[DONE]")
		.map((e) => JSON.parse(e.data).choices?.[0]?.delta?.content ?? "").join("");
	assert.equal(content.length, ("Echo: " + prompt).length * REPEAT, "every byte of the answer arrived");
	assert.equal((await inference()).at(-1).eventsWritten, CHUNKS + 3, "role, content, finish and usage events");
});

// The first-byte timer starts once the request is out (daemon/upstream.c
// on_write): an API that is slow to read a large body is not slow to answer.
// The simulator's pause (FB + 1 s) outlasts the first-byte limit (FB) for
// sure, so a timer started when the request was submitted would fire; FB
// itself is only the bound on what the simulator needs to decrypt 6 MB and
// encrypt 3 MB once it reads, generous for a loaded machine (1.5 s was
// not: the 504 came although the daemon had waited for the write).
const FB_MS = 8000;
test(`an upstream that leaves a 3 MB prompt (6 MB encrypted) unread for ${FB_MS / 1000 + 1} s (over upstream_first_byte_timeout, ${FB_MS / 1000} s) and then answers: 200, not 504`, async (t) => {
	await fresh();
	// This file's daemon allows 1 s of stream silence; a sender's wait
	// is bounded by stream_idle_timeout, so use the default (300 s) here.
	const dd = await startDaemon(sim, { over: { upstream_first_byte_timeout: `${FB_MS}ms` } });
	t.after(async () => {
		await dd.stop();
		const san = dd.sanitizerReport();
		if (san) assert.fail(`sanitizer report:\n${san}`);
	});
	await sim.faults({ "slow-read": { delayMs: FB_MS + 1000, times: 1 } });
	const prompt = "q".repeat(3 * 1024 * 1024);
	const r = await dd.post("/v1/chat/completions", { model: "gpt-oss-120b", messages: [{ role: "user", content: prompt }] }, { timeoutMs: 60000 });
	assert.equal(r.status, 200, `${r.text.slice(0, 300)}\n${dd.tail(20)}`);
	assert.equal(r.json().choices[0].message.content.length, ("Echo: " + prompt).length);
	const rec = (await inference()).at(-1);
	assert.deepEqual(rec.faults, ["slow-read"]);
});

test(`slow first byte over upstream_first_byte_timeout (${FIRST_BYTE_MS / 1000} s) → 504`, async () => {
	await fresh();
	await sim.faults({ "slow-first-byte": { delayMs: FIRST_BYTE_MS + 30000, times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT, { timeoutMs: FIRST_BYTE_MS + 30000 });
	assert.equal(r.status, 504, r.text);
	assert.ok(isOpenAIError(r.json()));
	// The daemon gave up before the simulator answered (it waits 30 s more): the
	// simulator saw the request cut off before its answer was complete; no
	// clock decides it.
	const rec = await waitFor("the simulator to see the request end", async () => {
		const x = (await inference()).at(-1);
		return x?.outcome ? x : null;
	}, { timeoutMs: 10000 });
	assert.match(rec.outcome, /cancelled|closed before the response was complete/);
	await sleep(100);
	assert.equal((await d.post("/v1/chat/completions", CHAT)).status, 200, "serves again");
});

test("client disconnect mid-stream → the upstream request is cancelled (the sim sees its connection closed)", async () => {
	await fresh();
	const s = await openStream(d.url("/v1/chat/completions"), {
		body: JSON.stringify(SCHAT),
		headers: { "Content-Type": "application/json", "X-Sim-Stream-Chunks": "40", "X-Sim-Chunk-Interval-Ms": "150" },
	});
	assert.equal(s.status, 200);
	await new Promise((resolve) => s.res.once("data", resolve));
	s.req.destroy();
	const rec = await waitFor("the sim to see the upstream request end early", async () => {
		const r = (await inference()).at(-1);
		return r?.outcome ? r : null;
	}, { timeoutMs: 4000 });
	// HTTP/1.1 cancels by closing the connection, HTTP/2 by RST_STREAM CANCEL.
	assert.equal(rec.outcome, rec.protocol === "h2" ? "client cancelled (RST_STREAM CANCEL)" :
		"connection closed before the response was complete");
	assert.ok(rec.responseSeqs.length < 20, "cut well before the end");
});

test("upstream unreachable after attestation (relay dies) → 502 with a clear message; back → 200", async (t) => {
	// daemon → TCP relay → sim, so the deployment can vanish after attesting.
	const socks = new Set();
	const relay = net.createServer((c) => {
		const u = net.connect(sim.info.port, "127.0.0.1");
		socks.add(c); socks.add(u);
		c.pipe(u); u.pipe(c);
		const end = () => { c.destroy(); u.destroy(); };
		c.on("error", end); u.on("error", end); c.on("close", end); u.on("close", end);
	});
	await new Promise((r) => relay.listen(0, "127.0.0.1", r));
	const port = relay.address().port;
	const d3 = await startDaemon(sim, { over: { api_endpoint: `127.0.0.1:${port}` } });
	t.after(async () => { await d3.stop(); relay.close(); for (const s of socks) s.destroy(); });
	assert.equal((await d3.post("/v1/chat/completions", CHAT)).status, 200);
	relay.close();
	for (const s of socks) s.destroy();
	await sleep(100);
	const r = await d3.post("/v1/chat/completions", CHAT, { timeoutMs: 20000 });
	// Nothing reached the API: unavailable, retry later; not a bad gateway.
	assert.equal(r.status, 503, r.text);
	assert.equal(r.headers["retry-after"], "1");
	assert.ok(isOpenAIError(r.json()));
	assert.equal(r.json().error.code, "upstream_unreachable");
	assert.match(r.json().error.message, new RegExp(`cannot reach the API at 127\\.0\\.0\\.1:${port}: connect to 127\\.0\\.0\\.1 port ${port}: Connection refused`));
});

test("upstream unreachable from the start (api_endpoint on a closed port) → 503 with Retry-After, naming the host and the kernel's error; /readyz keeps the detail", async (t) => {
	const port = await closedPort();
	const d4 = await startDaemon(sim, { waitReady: false, over: { api_endpoint: `127.0.0.1:${port}` } });
	t.after(() => d4.stop());
	const r = await d4.post("/v1/chat/completions", CHAT, { timeoutMs: 20000 });
	assert.equal(r.status, 503, r.text);
	assert.equal(r.headers["retry-after"], "1");
	assert.ok(isOpenAIError(r.json()), r.text);
	assert.match(r.json().error.message, new RegExp(`127\\.0\\.0\\.1 port ${port}: Connection refused`));
	const rz = await d4.readyz();
	assert.equal(rz.status, 503);
	assert.match(rz.text, /Connection refused/);
});

// --- transport details ----------------------------------------------------------------

test("a 1 MiB prompt round-trips (unary)", async (t) => {
	await fresh();
	// Default timeouts: the simulator's own work on 1 MiB must not meet
	// the shared daemon's 1.5 s first-byte limit on a loaded machine.
	const d5 = await startDaemon(sim);
	t.after(() => d5.stop());
	const big = "x".repeat(1024 * 1024);
	const r = await d5.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: big }] }, { timeoutMs: 30000 });
	assert.equal(r.status, 200, r.text.slice(0, 300));
	assert.equal(r.json().choices[0].message.content.length, big.length + 6);
});

test("keep-alive and pipelining: three requests written at once on one connection are answered in order", async () => {
	await fresh();
	const req = (i) => {
		const b = JSON.stringify({ model: "m", messages: [{ role: "user", content: `pipe ${i}` }] });
		return `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n${b}`;
	};
	const last = req(2).replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n");
	const raw = await rawExchange(d.port, [req(0) + req(1) + last], { timeoutMs: 5000 });
	assert.ok(raw.closedByPeer, "closed after the third (Connection: close)");
	const answers = [...raw.text.matchAll(/HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n(\{[^]*?"usage":\{[^}]*\}\})/g)];
	assert.equal(answers.length, 3, raw.text.slice(0, 500));
	answers.forEach((m, i) => {
		assert.equal(m[1], "200");
		assert.equal(JSON.parse(m[2]).choices[0].message.content, `Echo: pipe ${i}`);
	});
});

test("query strings are kept: /v1/messages?beta=true reaches the upstream with its query", async () => {
	await fresh();
	const r = await d.post("/v1/messages?beta=true", { model: "c", max_tokens: 5, messages: [{ role: "user", content: "beta" }] });
	assert.equal(r.status, 200, r.text);
	const rec = (await inference()).at(-1);
	assert.equal(rec.path, "/v1/messages");
	assert.equal(rec.query, "?beta=true");
});

test("Expect: 100-continue on a multipart upload: 100 Continue, then the answer", async () => {
	await fresh();
	const b = "contboundary";
	const audio = "A".repeat(1024 * 1024);
	const body = `--${b}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-large-v3\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n${audio}\r\n--${b}--\r\n`;
	const head = `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${b}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`;
	const sock = net.connect(d.port, "127.0.0.1");
	let got = "";
	sock.on("data", (x) => { got += x.toString("latin1"); });
	await new Promise((r) => sock.once("connect", r));
	sock.write(head);
	await waitFor("100 Continue", () => got.startsWith("HTTP/1.1 100"), { timeoutMs: 3000 });
	sock.write(body);
	await new Promise((r) => { sock.once("close", r); setTimeout(r, 10000); });
	const final = got.slice(got.indexOf("\r\n\r\n") + 4);
	assert.match(final, /^HTTP\/1\.1 200/, final.slice(0, 300));
	assert.equal(JSON.parse(final.slice(final.indexOf("\r\n\r\n") + 4)).text, `Echo: ${audio}`);
});

test("HEAD /healthz and HEAD /readyz answer without a body", async () => {
	for (const p of ["/healthz", "/readyz"]) {
		const r = await d.req("HEAD", p);
		assert.equal(r.status, 200, p);
		assert.equal(r.body.length, 0);
	}
});

// --- error shapes -------------------------------------------------------------------

test("error shapes: 404/405 OpenAI-style with x-request-id; Anthropic route errors in Anthropic shape with request-id; SSE form for Accept: text/event-stream", async () => {
	let r = await d.get("/v1/nope");
	assert.equal(r.status, 404);
	assert.ok(isOpenAIError(r.json()), r.text);
	assert.ok(r.headers["x-request-id"]);
	r = await d.get("/v1/chat/completions");
	assert.equal(r.status, 405);
	assert.ok(isOpenAIError(r.json()));
	assert.ok(r.headers.allow === undefined || /POST/.test(r.headers.allow));
	r = await d.post("/v1/messages", "{not json", { headers: { "X-Request-ID": "req_e2e_1" } });
	assert.equal(r.status, 400);
	assert.equal(r.json().type, "error");
	assert.equal(r.json().error.type, "invalid_request_error");
	assert.equal(typeof r.json().error.message, "string");
	assert.equal(r.headers["request-id"], "req_e2e_1");
	r = await d.post("/v1/chat/completions", "{not json", { headers: { Accept: "text/event-stream" } });
	assert.equal(r.status, 400);
	assert.match(r.headers["content-type"], /text\/event-stream/);
	const evs = parseSse(r.text);
	assert.equal(evs[0].event, "error");
	assert.ok(isOpenAIError(JSON.parse(evs.find((e) => e.data).data)));
	r = await d.get("/healthz");
	assert.equal(r.status, 200);
	assert.deepEqual(r.json(), { status: "ok" });
});
