// Configurable features, end to end: client-facing TLS (tls_cert/tls_key),
// request dumping (dump_requests, protocol §8) and the Prometheus metrics
// listener (metrics_listen).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { startSim, runDaemonToExit, simConfig, mkTemp, request, rawExchange, closedPort, waitFor, sleep, daemonForTest } from "./lib/harness.mjs";

let sim;
before(async () => { sim = await startSim(["--stream-chunks", "2"]); });
after(async () => { await sim?.stop(); });

const daemonFor = (t, opts) => daemonForTest(t, sim, opts);

function mkcert(dir, name) {
	const crt = path.join(dir, `${name}.crt`), key = path.join(dir, `${name}.key`);
	execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", crt, "-days", "2", "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
	fs.chmodSync(key, 0o600);
	return { crt, key, pem: fs.readFileSync(crt) };
}

const CHAT = { model: "m", messages: [{ role: "user", content: "over tls" }] };

// --- client-facing TLS -----------------------------------------------------------

test("tls_cert/tls_key: HTTPS on the listener (health, readiness, an encrypted round trip); plain HTTP is not answered", async (t) => {
	const dir = mkTemp("pm-e2e-");
	const c = mkcert(dir, "server");
	const d = await daemonFor(t, { dir, ca: c.pem, over: { tls_cert: c.crt, tls_key: c.key } });
	assert.equal((await d.get("/healthz")).status, 200);
	assert.equal((await d.readyz()).status, 200);
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json().choices[0].message.content, "Echo: over tls");
	const plain = await rawExchange(d.port, ["GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"], { timeoutMs: 3000 });
	assert.doesNotMatch(plain.text, /^HTTP\/1\.1 200/, "no plaintext answer on the TLS port");
	// A client that does not trust the certificate fails the handshake.
	await assert.rejects(request(d.url("/healthz"), { timeoutMs: 30000 }), /self.signed|certificate/i);
});

test("only one of tls_cert / tls_key → start-up error naming both", async () => {
	const dir0 = mkTemp("pm-e2e-");
	const c = mkcert(dir0, "half");
	const res = await runDaemonToExit((dir) => simConfig(sim, dir, { over: { tls_cert: c.crt } }));
	assert.notEqual(res.code, 0, res.log);
	assert.match(res.log, /tls_cert.*tls_key|tls_key.*tls_cert|certificate and key must be provided together/i);
});

// --- request dumping (protocol §8) ---------------------------------------------

test("dump_requests: <ws>/requests/<UTC date>/<stamp>_NN_{req,resp}.txt with the client's plaintext request and the plaintext response", async (t) => {
	const d = await daemonFor(t, { over: { dump_requests: "yes" } });
	const prompt = `dump me ${Date.now()}`;
	const r = await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: prompt }] });
	assert.equal(r.status, 200);
	const s = await d.post("/v1/chat/completions", { model: "m", stream: true, messages: [{ role: "user", content: "streamed dump" }] });
	assert.equal(s.status, 200);
	assert.equal((await d.get("/v1/nope")).status, 404);
	const day = new Date().toISOString().slice(0, 10);
	const ddir = path.join(d.ws, "requests", day);
	const read = (f) => fs.readFileSync(path.join(ddir, f), "utf8");
	// The harness's /readyz polls are dumped too: wait for the last
	// request's pair (one worker writes them in order), not for a count.
	const files = await waitFor(`dump of GET /v1/nope in ${ddir}`, () => {
		const f = fs.existsSync(ddir) ? fs.readdirSync(ddir) : [];
		const nope = f.find((x) => x.endsWith("_req.txt") && read(x).startsWith("GET /v1/nope"));
		return nope && f.includes(nope.replace(/_req\.txt$/, "_resp.txt")) ? f : null;
	}, { timeoutMs: 5000 });
	for (const f of files) assert.match(f, /^\d{4}-\d\d-\d\d_\d{6}\.\d{6}_\d{2}_(req|resp)\.txt$/, f);
	const req = files.filter((f) => f.endsWith("_req.txt")).find((f) => read(f).includes(prompt));
	assert.ok(req, "the chat request was dumped in plaintext");
	assert.match(read(req), /^POST \/v1\/chat\/completions HTTP\/1\.1\r?\n/);
	const resp = req.replace(/_req\.txt$/, "_resp.txt");
	assert.ok(files.includes(resp), "its response next to it");
	assert.match(read(resp), /200/);
	assert.ok(read(resp).includes(`Echo: ${prompt}`), "the decrypted answer");
	assert.ok(!/[0-9a-f]{24}:[0-9a-f]{24}:[0-9a-f]{32}/.test(read(resp)), "no ciphertext in the dump");
	const sresp = files.filter((f) => f.endsWith("_resp.txt")).find((f) => read(f).includes("[DONE]"));
	assert.ok(sresp, "a streamed response is dumped whole");
	assert.ok(files.filter((f) => f.endsWith("_req.txt")).some((f) => read(f).startsWith("GET /v1/nope")), "a 404 is dumped too");
	assert.equal(fs.statSync(path.join(ddir, req)).mode & 0o777, 0o644);
});

test("dump_requests off (the default): nothing under <ws>/requests", async (t) => {
	const d = await daemonFor(t, {});
	assert.equal((await d.post("/v1/chat/completions", CHAT)).status, 200);
	await sleep(200);
	assert.ok(!fs.existsSync(path.join(d.ws, "requests")) || fs.readdirSync(path.join(d.ws, "requests")).length === 0);
});

// --- metrics --------------------------------------------------------------------

function counters(text) {
	let sum = 0;
	for (const l of text.split("\n")) {
		const m = /^(privatemode_\w*_total)(\{[^}]*\})? ([0-9.e+]+)$/.exec(l);
		if (m) sum += Number(m[3]);
	}
	return sum;
}

test("metrics_listen: Prometheus text on /metrics, request counters grow, no secrets or prompts in it", async (t) => {
	const port = await closedPort();
	const d = await daemonFor(t, { over: { metrics_listen: `127.0.0.1:${port}` } });
	const get = () => request(`http://127.0.0.1:${port}/metrics`, { timeoutMs: 5000 });
	const m1 = await get();
	assert.equal(m1.status, 200, m1.text);
	assert.match(m1.headers["content-type"], /^text\/plain/);
	assert.match(m1.text, /^# TYPE privatemode_\w+ (counter|gauge|histogram)$/m);
	const before = counters(m1.text);
	for (let i = 0; i < 3; i++) assert.equal((await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: `metric prompt ${i}` }] })).status, 200);
	const m2 = await get();
	assert.ok(counters(m2.text) >= before + 3, "request counters grew by at least 3");
	// The per-route latency families, each with its help and a histogram
	// for the route the requests took.
	for (const [name, help] of [
		["privatemode_upstream_duration_seconds", "Time from receiving a request to completing its answer, proxied routes."],
		["privatemode_time_to_first_token_seconds", "Time from receiving a request to the first answer bytes."],
	]) {
		assert.ok(m2.text.includes(`# HELP ${name} ${help}\n# TYPE ${name} histogram\n`), name);
		assert.match(m2.text, new RegExp(`^${name}_bucket\\{route="chat_completions",le="\\+Inf"\\} ([3-9]|\\d{2,})$`, "m"), name);
		assert.match(m2.text, new RegExp(`^${name}_count\\{route="chat_completions"\\} ([3-9]|\\d{2,})$`, "m"), name);
	}
	assert.ok(!m2.text.includes(sim.info.api_key), "no API key");
	assert.ok(!m2.text.includes("metric prompt"), "no prompt text");
	assert.ok(!/proxy_[0-9a-f]{8}-/.test(m2.text), "no request IDs in labels");
});

// --- NVIDIA OCSP policy options (protocol §6) -------------------------------------

for (const [over, rules, graceH] of [
	[{ nvidia_ocsp_allow_unknown: "no", nvidia_ocsp_revoked_grace_period: "0" }, "allow-good", 0],
	[{ nvidia_ocsp_allow_unknown: "yes", nvidia_ocsp_revoked_grace_period: "0" }, "allow-good,allow-unknown", 0],
	[{ nvidia_ocsp_revoked_grace_period: "1" }, "allow-good,allow-revoked,allow-unknown", 1],
]) {
	test(`OCSP policy header with ${JSON.stringify(over)} → rules=${rules}, not-before now - ${graceH} h, valid MAC`, async (t) => {
		const d = await daemonFor(t, { over });
		await sim.reset({ keepSecrets: true });
		assert.equal((await d.post("/v1/chat/completions", CHAT)).status, 200);
		const h = (await sim.requests("inference")).at(-1).headers;
		const m = /^rules=([a-z,-]+); revocation-time-not-before=(-?\d+)$/.exec(h["privatemode-nvidia-ocsp-policy"]);
		assert.ok(m, h["privatemode-nvidia-ocsp-policy"]);
		assert.equal(m[1], rules);
		assert.ok(Math.abs(Number(m[2]) - (Date.now() / 1000 - graceH * 3600)) < 120);
		const sec = (await sim.secrets()).find((s) => s.id === h["privatemode-secret-id"]);
		assert.equal(h["privatemode-nvidia-ocsp-policy-mac"], createHmac("sha256", Buffer.from(sec.secret, "hex")).update(h["privatemode-nvidia-ocsp-policy"]).digest("hex"));
	});
}

test("nvidia_ocsp_allow_unknown no with a revoked grace period > 0 → start-up error (likely misconfiguration)", async () => {
	const res = await runDaemonToExit((dir) => simConfig(sim, dir, { over: { nvidia_ocsp_allow_unknown: "no", nvidia_ocsp_revoked_grace_period: "48" } }));
	assert.notEqual(res.code, 0, res.log);
	assert.match(res.log, /unknown OCSP statuses are disallowed, but revoked statuses are allowed|nvidia_ocsp/i);
});
