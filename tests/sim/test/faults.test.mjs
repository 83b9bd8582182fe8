// Transport and inference faults are observable by a client.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSim, attestAndExchange, encryptedJson, SALT } from "./harness.mjs";
import { decryptSse } from "./client.mjs";

const CHAT_REQ = new Set(["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"]);
const CHAT_RESP = new Set(["id", "usage"]);
const BODY = { model: "m", messages: [{ role: "user", content: "Hello fault" }], cache_salt: SALT };

let sim, s;
before(async () => {
	sim = await startSim(["--stream-chunks", "4", "--fault", "no-secret:times=1"]);
	s = await attestAndExchange(sim);
});
after(async () => { await sim?.stop(); });

const chat = (stream, opts) => encryptedJson(sim, s, "/v1/chat/completions", { ...BODY, stream }, CHAT_REQ, opts);

// Read a streamed response until it ends, errors or goes quiet.
function collect(res, quietMs = 1500) {
	return new Promise((resolve) => {
		let text = "", timer;
		let settled = false;
		const done = (how) => { clearTimeout(timer); if (!settled) { settled = true; resolve({ text, how }); } };
		const arm = () => { clearTimeout(timer); timer = setTimeout(() => { done("stalled"); res.destroy(); }, quietMs); };
		arm();
		res.on("data", (d) => { text += d; arm(); });
		res.on("end", () => done("end"));
		res.on("error", (e) => done(e.code ?? e.message));
		res.on("aborted", () => done("aborted"));
	});
}

test("--fault no-secret:times=1 answers the retry marker once", async () => {
	const a = (await chat(false)).res;
	assert.equal(a.status, 500);
	assert.equal(JSON.parse(a.body).error.message, `no secret for ID ${JSON.stringify(s.id)}`);
	assert.equal(a.headers["privatemode-encrypted"], "false");
	assert.equal((await chat(false)).res.status, 200);
});

test("unauthorized: 401 for a valid key", async () => {
	await sim.faults({ unauthorized: { times: 1 } });
	assert.equal((await chat(false)).res.status, 401);
});

test("reset: the connection is reset before any answer", async () => {
	await sim.faults({ reset: { times: 1 } });
	await assert.rejects(chat(false), (e) => e.code === "ECONNRESET");
	const rec = (await sim.requests()).at(-1);
	assert.equal(rec.outcome, "reset before response");
	assert.equal((await chat(false)).res.status, 200);
});

test("reset-mid-stream: some events, then a reset", async () => {
	await sim.faults({ "reset-mid-stream": { after: 2, times: 1 } });
	const { res } = await chat(true, { raw: true });
	const got = await collect(res);
	assert.equal((got.text.match(/^data: /gm) ?? []).length, 2);
	assert.notEqual(got.how, "end");
});

test("stall-stream: events stop but the socket stays open", async () => {
	await sim.faults({ "stall-stream": { after: 1, times: 1 } });
	const { res } = await chat(true, { raw: true });
	const got = await collect(res, 800);
	assert.equal(got.how, "stalled");
	assert.equal((got.text.match(/^data: /gm) ?? []).length, 1);
});

test("truncate-sse: the stream ends in the middle of an event", async () => {
	await sim.faults({ "truncate-sse": { after: 2, times: 1 } });
	const { res } = await chat(true, { raw: true });
	const got = await collect(res);
	assert.equal(got.how, "end");
	assert.ok(!got.text.endsWith("\n\n"));
	assert.ok(!got.text.includes("[DONE]"));
});

test("non-json-sse: a data line that is not JSON", async () => {
	await sim.faults({ "non-json-sse": { after: 1, times: 1 } });
	const { res, cipher } = await chat(true);
	assert.match(String(res.body), /data: this is not JSON/);
	assert.throws(() => decryptSse(cipher, String(res.body), CHAT_RESP), SyntaxError);
});

test("slow-first-byte delays the answer", async () => {
	await sim.faults({ "slow-first-byte": { delayMs: 400, times: 1 } });
	const t0 = Date.now();
	assert.equal((await chat(false)).res.status, 200);
	assert.ok(Date.now() - t0 >= 380);
});

test("wrong-seq: the first response value carries seq 1 and does not decrypt", async () => {
	await sim.faults({ "wrong-seq": { times: 1 } });
	const { res, cipher } = await chat(false);
	assert.equal(res.status, 200);
	assert.throws(() => cipher.decryptJson(String(res.body), CHAT_RESP), /Unsupported state or unable to authenticate data/);
	assert.deepEqual((await sim.requests("?kind=inference")).at(-1).responseSeqs, [1, 2, 3, 4]);
});

test("upstream-error: plaintext OpenAI error with a chosen status", async () => {
	await sim.faults({ "upstream-error": { status: 503, message: "overloaded", times: 1 } });
	const { res } = await chat(false);
	assert.equal(res.status, 503);
	assert.deepEqual(JSON.parse(res.body), { error: { message: "overloaded", type: "" } });
});

test("paths option limits a transport fault to some routes", async () => {
	await sim.faults({ reset: { paths: ["/v1/embeddings"] } });
	try {
		assert.equal((await chat(false)).res.status, 200);
		await assert.rejects(encryptedJson(sim, s, "/v1/embeddings", { model: "e", input: "x" }, new Set(["model"])), (e) => e.code === "ECONNRESET");
	} finally { await sim.faults({}); }
});

test("control API: fault listing, unknown fault rejected, reset clears", async () => {
	const f = await sim.faults({ "reset-mid-stream": { after: 3 } });
	assert.deepEqual(f.active, { "reset-mid-stream": { after: 3 } });
	const bad = await sim.req("POST", "/__sim/faults", { body: JSON.stringify({ "no-such-fault": true }) });
	assert.equal(bad.status, 400);
	const known = JSON.parse((await sim.req("GET", "/__sim/faults")).body).known;
	assert.ok(known.includes("report-bitflip") && known.includes("stall-stream"));
	await sim.reset();
	assert.deepEqual(JSON.parse((await sim.req("GET", "/__sim/faults")).body).active, {});
	assert.deepEqual(await sim.requests(), []);
	assert.deepEqual(await sim.secrets(), []);
});

test("inference faults do not fire on /v1/models", async () => {
	await sim.faults({ "no-secret": { times: 1 }, reset: { times: 1 } });
	try {
		const m = await sim.req("GET", "/v1/models", { headers: { Authorization: `Bearer ${s.apiKey}` } });
		assert.equal(m.status, 200);
		const active = JSON.parse((await sim.req("GET", "/__sim/faults")).body).active;
		assert.deepEqual(Object.keys(active).sort(), ["no-secret", "reset"], "still armed");
	} finally { await sim.req("DELETE", "/__sim/faults"); }
});
