// Issue 9: HTTP/2 to the API.  keyd offers h2 then http/1.1 (upstream_http2
// auto); the simulator serves both on one port and records the protocol,
// the stream and the session of every request, and injects the HTTP/2
// failures (tests/sim/README.md): each is mapped here as the issue says.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import {
	startSim, startDaemon, openStream, readAll, parseSse, sleep, waitFor,
} from "./lib/harness.mjs";

let sim;
before(async () => { sim = await startSim(["--stream-chunks", "3"]); });
after(async () => { await sim?.stop(); });

const CHAT = { model: "m", messages: [{ role: "user", content: "over h2" }] };
const SCHAT = { ...CHAT, stream: true };
const SLOW = { "X-Sim-Stream-Chunks": "30", "X-Sim-Chunk-Interval-Ms": "100" };

async function daemon(t, opts = {}) {
	const d = await startDaemon(sim, opts);
	t.after(() => d.stop());
	return d;
}

const inference = async () => (await sim.requests()).filter((r) => r.kind === "inference");
const sessions = async () => (await sim.ctl("GET", "/sessions"));
const used = (ss) => ss.filter((s) => s.streams > 0);

async function stream(d, body = SCHAT, headers = {}) {
	const s = await openStream(d.url("/v1/chat/completions"), {
		body: JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers },
	});
	const all = await readAll(s.res, { timeoutMs: 20000 });
	return { ...s, ...all, events: parseSse(all.text) };
}

const isError = (e) => { try { return !!JSON.parse(e.data).error; } catch { return false; } };

test("inference goes over HTTP/2, keyd's own requests over HTTP/1.1; 40 concurrent streams share one connection", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	await sim.ctl("DELETE", "/sessions");
	const rs = await Promise.all(Array.from({ length: 40 }, () => d.post("/v1/chat/completions", CHAT)));
	for (const r of rs) assert.equal(r.status, 200, r.text);
	const inf = await inference();
	assert.ok(inf.length >= 40);
	for (const r of inf) assert.equal(r.protocol, "h2");
	for (const r of await sim.requests("attest")) assert.equal(r.protocol, "http/1.1");
	const h2s = used(await sessions()).filter((s) => s.protocol === "h2");
	assert.equal(h2s.length, 1, `one HTTP/2 connection: ${JSON.stringify(h2s.map((s) => s.streams))}`);
	assert.ok(h2s[0].peakConcurrentStreams > 1, "streams ran concurrently on it");
});

test("upstream_http2 off, or a server without h2 (--no-h2): HTTP/1.1, answers unchanged", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t, { over: { upstream_http2: "off" } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	assert.equal((await inference()).at(-1).protocol, "http/1.1");
	await d.stop();
	const sim1 = await startSim(["--no-h2", "--stream-chunks", "3"]);
	t.after(() => sim1.stop());
	const d1 = await startDaemon(sim1);
	t.after(() => d1.stop());
	const r1 = await d1.post("/v1/chat/completions", CHAT);
	assert.equal(r1.status, 200, r1.text);
	const s1 = await stream(d1);
	assert.equal(s1.events.at(-1).data, "[DONE]");
	for (const x of (await sim1.requests()).filter((q) => q.kind === "inference")) assert.equal(x.protocol, "http/1.1");
});

test("GOAWAY: a stream below last-stream-id finishes on the old connection, the one above is retried once on a new one (new nonce)", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	await d.post("/v1/chat/completions", CHAT);	// the session exists
	await sim.forgetRequests();
	const below = stream(d, SCHAT, SLOW);
	await waitFor("the slow stream under way", async () => (await inference()).length === 1);
	// The next request meets the GOAWAY: above its last-stream-id.
	await sim.faults({ goaway: { after: 0, times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	const s = await below;
	assert.equal(s.events.at(-1).data, "[DONE]", "the stream below finished");
	const inf = await inference();
	const [first, refused, again] = inf;
	assert.equal(inf.length, 3, JSON.stringify(inf.map((x) => [x.streamId, x.sessionId, x.outcome])));
	assert.match(refused.outcome, /^refused/);
	assert.equal(refused.sessionId, first.sessionId);
	assert.equal(first.status, 200);
	assert.notEqual(again.sessionId, first.sessionId, "the retry went on a new connection");
	assert.equal(again.status, 200);
	assert.match(again.headers["privatemode-user-request-id"], /_1$/, "a new attempt (new nonce)");
});

test("RST_STREAM REFUSED_STREAM: retried once (new attempt), the client gets its answer", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	await sim.faults({ "rst-refused": { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	const inf = await inference();
	assert.equal(inf.length, 2);
	assert.equal(inf[0].rstCode, 7);
	assert.match(inf[1].headers["privatemode-user-request-id"], /_1$/, "the retry is attempt 1");
});

test("another RST_STREAM code: 502 before the head, an error event once streaming (not retried)", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	await sim.faults({ "rst-stream": { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 502, r.text);
	assert.equal(r.json().error.code, "upstream_reset");
	assert.match(r.json().error.message, /INTERNAL_ERROR/);
	assert.equal((await inference()).length, 1, "not retried");
	await sim.faults({ "rst-stream": { times: 1, after: 2 } });
	const s = await stream(d, SCHAT, { "X-Sim-Stream-Chunks": "10" });
	assert.ok(s.ended, "a proper end after the error event");
	assert.ok(isError(s.events.at(-1)), s.text.slice(-200));
	assert.equal(s.events.filter((e) => !isError(e)).length, 2);
});

test("a stream the server stops feeding (window-stall): the idle timeout ends it with an error, its neighbours on the session finish", async (t) => {
	await sim.reset({ keepSecrets: true });
	// 8 s: the neighbours' events must come within it on a loaded machine
	// too; the stalled stream stalls for good whatever the value.
	const d = await daemon(t, { over: { stream_idle_timeout: "8s" } });
	await d.post("/v1/chat/completions", CHAT);
	await sim.faults({ "window-stall": { after: 2, times: 1 } });
	const stalled = stream(d, SCHAT, { "X-Sim-Stream-Chunks": "10" });
	// The fault fires once, on the first stream to reach the simulator:
	// start the neighbours once that is this one (not after a pause).
	await waitFor("the simulator to arm window-stall on the first stream", async () => (await inference()).some((r) => r.faults.includes("window-stall")), { timeoutMs: 30000 });
	const others = Promise.all(Array.from({ length: 3 }, () => stream(d)));
	const s = await stalled;
	assert.ok(isError(s.events.at(-1)), s.text.slice(-200));
	assert.match(JSON.parse(s.events.at(-1).data).error.message, /timeout/);
	for (const o of await others) assert.equal(o.events.at(-1).data, "[DONE]");
	const rec = (await inference()).find((r) => /stalled/.test(r.outcome ?? ""));
	assert.ok(rec, "the simulator saw the stall");
	assert.equal(rec.rstBy, "client");
	assert.equal(rec.rstCode, 8, "keyd cancelled the stalled stream");
	assert.equal(used(await sessions()).filter((x) => x.protocol === "h2" && x.open).length, 1, "the session stays");
});

test("a header block over 64 KiB (huge-head over HTTP/2): 502 naming the limit", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	await sim.faults({ "huge-head": { times: 1 } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 502, r.text);
	assert.match(r.json().error.message, /upstream response head too large \(over 65536 bytes\)/);
	const ok = await d.post("/v1/chat/completions", CHAT);
	assert.equal(ok.status, 200, "the connection serves on");
});

test("SETTINGS_MAX_CONCURRENT_STREAMS 1: keyd opens more connections, every request answered", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	await d.post("/v1/chat/completions", CHAT);
	await sim.faults({ "max-streams-1": true });
	await sim.ctl("POST", "/sessions/close");
	await sim.ctl("DELETE", "/sessions");
	const rs = await Promise.all(Array.from({ length: 4 }, () => d.post("/v1/chat/completions", CHAT, { headers: SLOW })));
	for (const r of rs) assert.equal(r.status, 200, r.text);
	const ss = used(await sessions()).filter((s) => s.protocol === "h2");
	assert.ok(ss.length >= 2, `more than one connection: ${ss.length}`);
	for (const s of ss) assert.ok(s.peakConcurrentStreams <= 1 || !s.faults.includes("max-streams-1"),
		"never more than one stream at a time on a limited session");
	await sim.clearFaults();
});

test("a client that disconnects mid-stream: RST_STREAM CANCEL upstream, the session stays", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	const s = await openStream(d.url("/v1/chat/completions"), {
		body: JSON.stringify(SCHAT), headers: { "Content-Type": "application/json", ...SLOW },
	});
	await new Promise((r) => s.res.once("data", r));
	s.req.destroy();
	const rec = await waitFor("the simulator to see the cancel", async () => {
		const r = (await inference()).at(-1);
		return r?.rstBy ? r : null;
	}, { timeoutMs: 10000 });
	assert.equal(rec.rstBy, "client");
	assert.equal(rec.rstCode, 8);
	assert.equal(rec.outcome, "client cancelled (RST_STREAM CANCEL)");
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200);
	assert.equal((await inference()).at(-1).sessionId, rec.sessionId, "same session");
});

test("a client that stops reading holds back its own stream only; memory stays bounded", async (t) => {
	await sim.reset({ keepSecrets: true });
	const d = await daemon(t);
	const keyd = d.children("keyd")[0];
	const rss = () => Number(/^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${keyd}/status`, "utf8"))[1]) * 1024;
	const rss0 = rss();
	const big = await openStream(d.url("/v1/chat/completions"), {
		body: JSON.stringify({ ...SCHAT, messages: [{ role: "user", content: "p".repeat(16384) }] }),
		headers: { "Content-Type": "application/json", "X-Sim-Stream-Chunks": "3000", "X-Sim-Echo-Repeat": "1500" },
	});
	big.res.pause();
	let last = -1;
	const rec = await waitFor("the stalled stream", async () => {
		const r = (await inference()).at(-1);
		const n = r?.eventsWritten ?? 0;
		const still = n > 0 && n === last;
		last = n;
		return still ? r : null;
	}, { timeoutMs: 60000, intervalMs: 1000 });
	assert.ok(rec.eventsWritten < 3000, `held back: ${rec.eventsWritten}`);
	// Others on the same session go on meanwhile.
	const others = await Promise.all(Array.from({ length: 3 }, () => stream(d)));
	for (const o of others) assert.equal(o.events.at(-1).data, "[DONE]");
	assert.equal((await inference()).at(-1).sessionId, rec.sessionId, "on the same connection");
	if (!process.env.ASAN_OPTIONS)
		assert.ok(rss() - rss0 < 8 * 1024 * 1024, `keyd grew by ${rss() - rss0} bytes`);
	const chunks = [];
	big.res.on("data", (c) => chunks.push(c));
	await new Promise((resolve, reject) => { big.res.on("end", resolve); big.res.on("error", reject); big.res.resume(); });
	assert.equal(parseSse(Buffer.concat(chunks).toString()).at(-1).data, "[DONE]");
});
