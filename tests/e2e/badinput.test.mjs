// Issue 7 bad-input table: one test per row, each asserting the documented
// status (tests/e2e/README.md) and, afterwards, that the same worker (and
// keyd) still serves a normal request: bad input never costs a process.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
	startSim, startDaemon, rawExchange, openStream, readAll, parseSse, waitFor, isOpenAIError,
} from "./lib/harness.mjs";

// Upstream timers: bounds for a hang, since every row needs the simulator
// to answer within them (1 s and 1.5 s were not enough for a 1.2 MB echo
// under a CPU hog).  The rows about them make the simulator stall for good
// (stall-stream) or for much longer (slow-first-byte).  The client-side
// timers stay short: the daemon runs them, the test only waits.
const IDLE_MS = 8000, FIRST_BYTE_MS = 8000;
let sim, d, worker, keyd;
before(async () => {
	sim = await startSim(["--stream-chunks", "3"]);
	d = await startDaemon(sim, {
		over: {
			max_body_size: "64k", client_header_timeout: "1s", client_body_timeout: "1s",
			stream_idle_timeout: `${IDLE_MS}ms`, upstream_first_byte_timeout: `${FIRST_BYTE_MS}ms`,
		},
	});
	[worker] = d.children("worker");
	[keyd] = d.children("keyd");
});
after(async () => {
	await d?.stop();
	await sim?.stop();
	const san = d?.sanitizerReport();
	if (san) assert.fail(`sanitizer report:\n${san}`);
});

const CHAT = { model: "m", messages: [{ role: "user", content: "still here?" }] };
const statusOf = (raw) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw.text)?.[1] ?? 0);
const bodyOf = (raw) => raw.text.slice(raw.text.indexOf("\r\n\r\n") + 4);

// The row's test body, then: same worker and keyd pids, a normal request served.
function row(name, fn) {
	test(name, async () => {
		await sim.reset({ keepSecrets: true });
		await fn();
		await sim.clearFaults();
		assert.deepEqual(d.children("worker"), [worker], "the same worker process");
		assert.deepEqual(d.children("keyd"), [keyd], "the same keyd process");
		const r = await d.post("/v1/chat/completions", CHAT);
		assert.equal(r.status, 200, `a normal request afterwards: ${r.text}`);
		assert.equal(r.json().choices[0].message.content, "Echo: still here?");
	});
}

async function expectError(r, status, code) {
	assert.equal(r.status, status, r.text);
	assert.ok(isOpenAIError(r.json()), r.text);
	if (code) assert.equal(r.json().error.code, code, r.text);
	assert.equal((await sim.requests("inference")).length, 0, "nothing forwarded");
}

row("invalid JSON → 400 invalid_json", async () => {
	await expectError(await d.post("/v1/chat/completions", '{"model":"m","messages":[}'), 400, "invalid_json");
});

row("JSON with duplicate keys → 400 duplicate_key", async () => {
	await expectError(await d.post("/v1/chat/completions", '{"model":"m","messages":[],"messages":[{"role":"user","content":"x"}]}'), 400, "duplicate_key");
});

row("non-object JSON bodies (array, string, number, null) → 400", async () => {
	for (const b of ['[{"model":"m"}]', '"m"', "42", "null"]) {
		const r = await d.post("/v1/chat/completions", b);
		assert.equal(r.status, 400, `${b}: ${r.text}`);
		assert.ok(isOpenAIError(r.json()));
	}
	assert.equal((await sim.requests("inference")).length, 0);
});

row("empty body → 400", async () => {
	await expectError(await d.post("/v1/chat/completions", ""), 400);
});

row("missing model → 400", async () => {
	await expectError(await d.post("/v1/chat/completions", { messages: [{ role: "user", content: "x" }] }), 400);
});

row("body over max_body_size (Content-Length) → 413", async () => {
	const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "x".repeat(100 * 1024) }] });
	const raw = await rawExchange(d.port, [`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body]);
	assert.equal(statusOf(raw), 413, raw.text.slice(0, 300));
	assert.ok(isOpenAIError(JSON.parse(bodyOf(raw))));
	// Answered before the body was read, the connection closes: the head says so.
	assert.match(raw.text.slice(0, raw.text.indexOf("\r\n\r\n") + 2), /\r\nConnection: close\r\n/);
	assert.equal((await sim.requests("inference")).length, 0);
});

row("body over max_body_size (chunked) → 413", async () => {
	const chunk = "x".repeat(16 * 1024);
	const parts = [`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`];
	for (let i = 0; i < 6; i++) parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
	parts.push("0\r\n\r\n");
	const raw = await rawExchange(d.port, parts);
	assert.equal(statusOf(raw), 413, raw.text.slice(0, 300));
});

row("not JSON under a type that is not JSON (text/plain on chat) → 415", async () => {
	await expectError(await d.post("/v1/chat/completions", "model=m&prompt=hi", { headers: { "Content-Type": "text/plain" } }), 415);
});

row("a JSON body under another Content-Type (curl -d: form-urlencoded) is served, as the official proxy does", async () => {
	for (const ct of ["application/x-www-form-urlencoded", "text/plain", null]) {
		const r = await d.post("/v1/chat/completions", JSON.stringify(CHAT), { headers: { "Content-Type": ct } });
		assert.equal(r.status, 200, `${ct}: ${r.text}`);
		assert.match(r.json().choices[0].message.content, /^Echo: /);
	}
});

row("compressed body (Content-Encoding: gzip) → 415 naming the encoding", async () => {
	const { gzipSync } = await import("node:zlib");
	const r = await d.post("/v1/chat/completions", gzipSync(JSON.stringify(CHAT)), { headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" } });
	assert.equal(r.status, 415, r.text);
	assert.equal(r.json().error.code, "unsupported_media_type");
	assert.match(r.json().error.message, /Content-Encoding gzip/);
	const ok = await d.post("/v1/chat/completions", JSON.stringify(CHAT), { headers: { "Content-Type": "application/json", "Content-Encoding": "identity" } });
	assert.equal(ok.status, 200, ok.text);
});

row("JSON to /v1/audio/transcriptions (multipart required) → 415", async () => {
	await expectError(await d.post("/v1/audio/transcriptions", { model: "w", file: "x" }), 415);
});

row("bad multipart (boundary never appears) → 400", async () => {
	const r = await d.post("/v1/audio/transcriptions", "this is not a multipart body\r\n", { headers: { "Content-Type": "multipart/form-data; boundary=abc123" } });
	await expectError(r, 400);
});

row("the worker refuses a bad form or bad JSON itself: keyd never sees it (with keyd stopped, the 400 comes anyway)", async () => {
	process.kill(keyd, "SIGSTOP");
	try {
		const bad = [
			["/v1/audio/transcriptions", "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF\r\n--x--\r\n",
				"multipart/form-data; boundary=x", "missing_model"],
			["/v1/audio/transcriptions", "no boundary in here\r\n", "multipart/form-data; boundary=abc", "invalid_multipart"],
			["/v1/chat/completions", "{\"model\": \"m\",", "application/json", "invalid_json"],
		];
		for (const [path, body, ct, code] of bad) {
			const r = await d.post(path, body, { headers: { "Content-Type": ct }, timeoutMs: 5000 });
			assert.equal(r.status, 400, r.text);
			assert.equal(r.json().error.code, code);
		}
	} finally {
		process.kill(keyd, "SIGCONT");
	}
});

row("bad multipart (no boundary parameter) → 400", async () => {
	const r = await d.post("/v1/audio/transcriptions", "--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nw\r\n--x--\r\n", { headers: { "Content-Type": "multipart/form-data" } });
	await expectError(r, 400);
});

row("header flood (150 header fields) → 431", async () => {
	let head = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	for (let i = 0; i < 150; i++) head += `X-Flood-${i}: ${i}\r\n`;
	const raw = await rawExchange(d.port, [head + "\r\n"]);
	assert.equal(statusOf(raw), 431, raw.text.slice(0, 200));
});

row("header over max_header_size (70 KiB) → 431", async () => {
	const raw = await rawExchange(d.port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70 * 1024)}\r\n\r\n`]);
	assert.equal(statusOf(raw), 431, raw.text.slice(0, 200));
});

row("slowloris (head trickled byte by byte) → 408 after client_header_timeout (1 s)", async () => {
	const head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
	const drip = [[head, 0]];
	for (let i = 0; i < 40; i++) drip.push([`X-${i}: y\r\n`, 150]);
	const raw = await rawExchange(d.port, drip, { timeoutMs: 8000 });
	assert.equal(statusOf(raw), 408, raw.text.slice(0, 200));
	assert.ok(raw.ms >= 900 && raw.ms < 4000, `answered after ${raw.ms} ms`);
	assert.ok(raw.closedByPeer, "connection closed");
});

row("slow body → 408 after client_body_timeout (1 s)", async () => {
	const raw = await rawExchange(d.port, [`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":`], { timeoutMs: 6000 });
	assert.equal(statusOf(raw), 408, raw.text.slice(0, 200));
	assert.ok(raw.ms >= 900 && raw.ms < 4000, `answered after ${raw.ms} ms`);
});

row("request smuggling shape (Content-Length and Transfer-Encoding) → 400", async () => {
	const raw = await rawExchange(d.port, ['POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n']);
	assert.equal(statusOf(raw), 400, raw.text.slice(0, 200));
});

row("garbage request line → 400", async () => {
	const raw = await rawExchange(d.port, ["\x16\x03\x01 hello there\r\n\r\n"]);
	assert.equal(statusOf(raw), 400, raw.text.slice(0, 200));
});

row("unknown path → 404, wrong method → 405", async () => {
	await expectError(await d.post("/v1/unknown", CHAT), 404);
	const r = await d.req("DELETE", "/v1/chat/completions");
	assert.equal(r.status, 405);
});

row("client disconnect mid-stream → the upstream request is cancelled", async () => {
	const s = await openStream(d.url("/v1/chat/completions"), {
		body: JSON.stringify({ ...CHAT, stream: true }),
		headers: { "Content-Type": "application/json", "X-Sim-Stream-Chunks": "40", "X-Sim-Chunk-Interval-Ms": "150" },
	});
	await new Promise((r) => s.res.once("data", r));
	s.req.destroy();
	const rec = await waitFor("the upstream request to be cut", async () => (await sim.requests("inference")).find((r) => r.outcome), { timeoutMs: 4000 });
	// HTTP/1.1 cancels by closing the connection, HTTP/2 by RST_STREAM CANCEL.
	assert.equal(rec.outcome, rec.protocol === "h2" ? "client cancelled (RST_STREAM CANCEL)" :
		"connection closed before the response was complete");
});

row("upstream reset (persistent) → 502 after one retry", async () => {
	await sim.faults({ reset: true });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 502, r.text);
	assert.ok(isOpenAIError(r.json()));
});

async function streamRow(fault) {
	await sim.faults(fault);
	const s = await openStream(d.url("/v1/chat/completions"), { body: JSON.stringify({ ...CHAT, stream: true }), headers: { "Content-Type": "application/json" } });
	const a = await readAll(s.res, { timeoutMs: IDLE_MS + 60000 });
	assert.equal(s.status, 200);
	assert.ok(a.ended, `stream ends properly: ${a.error?.message}`);
	const evs = parseSse(a.text);
	const lastEv = evs.at(-1);
	let j;
	assert.doesNotThrow(() => { j = JSON.parse(lastEv?.data); }, `last event must be one JSON error object: ${JSON.stringify(lastEv?.data?.slice(0, 120))}`);
	assert.ok(j.error, `ends with an error event: ${lastEv.data}`);
	assert.ok(!a.text.includes("[DONE]"));
	return { a, evs };
}

row("upstream stall mid-stream → error event after stream_idle_timeout, stream ends", async () => {
	await streamRow({ "stall-stream": { after: 1, times: 1 } });
});

row("upstream stall before the first byte → 504 after upstream_first_byte_timeout", async () => {
	await sim.faults({ "slow-first-byte": { delayMs: FIRST_BYTE_MS + 30000, times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT, { timeoutMs: FIRST_BYTE_MS + 30000 });
	assert.equal(r.status, 504, r.text);
});

row("truncated upstream SSE → error event, stream ends", async () => {
	await streamRow({ "truncate-sse": { after: 1, times: 1 } });
});

row("non-JSON SSE data → error event, stream ends", async () => {
	await streamRow({ "non-json-sse": { after: 1, times: 1 } });
});

row("upstream answer head over 64 KiB → 502 naming the limit", async () => {
	await sim.faults({ "huge-head": { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 502, r.text);
	assert.ok(isOpenAIError(r.json()));
	assert.match(r.json().error.message, /upstream response head too large/);
});

row("SSE line over 1 MiB from upstream → error event naming the limit, stream ends", async () => {
	// One content chunk of a 1.2 MB echo: its ciphertext line is 2.4 MB.
	const big = { ...CHAT, stream: true, messages: [{ role: "user", content: "x".repeat(1200) }] };
	const s = await openStream(d.url("/v1/chat/completions"), { body: JSON.stringify(big), headers: { "Content-Type": "application/json", "X-Sim-Stream-Chunks": "1", "X-Sim-Echo-Repeat": "1000" } });
	const a = await readAll(s.res, { timeoutMs: 60000 });
	assert.equal(s.status, 200);
	assert.ok(a.ended, `stream ends properly: ${a.error?.message}`);
	const evs = parseSse(a.text);
	assert.equal(evs.length, 2, "the role event, then the error: no part of the long event");
	const j = JSON.parse(evs[1].data);
	assert.match(j.error?.message ?? "", /event stream line longer than 1048576 bytes/);
	assert.ok(!a.text.includes("xxxx") && !a.text.includes("[DONE]"));
});

row("ciphertext with the wrong sequence number (unary) → 502, no plaintext guess", async () => {
	await sim.faults({ "wrong-seq": { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 502, r.text);
	assert.ok(isOpenAIError(r.json()));
	assert.match(r.json().error.message, /decrypt|authentication|cipher/i);
});

row("ciphertext with the wrong sequence number (stream) → error event", async () => {
	await streamRow({ "wrong-seq": { times: 1 } });
});
