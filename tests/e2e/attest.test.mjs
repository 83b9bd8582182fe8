// Issue 5: attestation and the inference-secret lifecycle, end to end.
// The real daemon against the simulated deployment: happy path, secrets in
// keyd only, refresh, manifest log / static manifest, KDS fetch paths, the
// negative matrix of attestation spec §10 step 6 (every tampering fails
// closed: /readyz 503 with the reason, 503 not_attested, and not one
// inference request leaves the host), API-key handling.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
	startSim, startDaemon, scanMemory, sha256, hmacHex, sleep, waitFor, closedPort, mkTemp, tcpRelay,
	PM_BIN, daemonForTest as daemonFor, withLog } from "./lib/harness.mjs";
import { execFileSync } from "node:child_process";

const HOOKS = execFileSync(PM_BIN, ["-V"], { encoding: "utf8" }).includes("test hooks");
const CHAT = { model: "gpt-oss-120b", messages: [{ role: "user", content: "a confidential prompt" }] };
const kinds = (recs) => recs.reduce((a, r) => ((a[r.kind] = (a[r.kind] ?? 0) + 1), a), {});

let sim;
before(async () => { sim = await startSim(); });
after(async () => { await sim?.stop(); });

// The secrets a daemon's keyds have installed, oldest first, as the log
// names them ("inference secret <first 8 characters>... established").
// The simulator records an exchange when it arrives, before keyd has the
// answer: this, not a pause, says that keyd uses the new secret.
const established = (d) => [...d.log().matchAll(/inference secret (\S{8})\.\.\. established/g)].map((m) => m[1]);
const waitEstablished = (d, id, timeoutMs = 20000) =>
	waitFor(`keyd to install secret ${id.slice(0, 8)}...`, () => established(d).includes(id.slice(0, 8)), { timeoutMs });

test("happy path: attests at start, /readyz 200 with the manifest hash, exactly one attest + one exchange, that secret ID is used upstream", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim);
	const rz = await d.readyz();
	assert.equal(rz.status, 200, rz.text);
	assert.equal(rz.json.ready, true);
	assert.equal(rz.json.manifest_sha256, sha256(sim.manifest).toString("hex"), "manifest_sha256 = SHA-256 of the sim's manifest");
	assert.deepEqual(rz.json.tcb, { bootloader: 10, tee: 0, snp: 28, microcode: 88 });
	assert.ok(Math.abs(Date.parse(rz.json.last_attestation) - Date.now()) < 120000, `last_attestation ${rz.json.last_attestation}`);
	// The detail above came from metrics_listen; the API port says ready, no more.
	const api = await d.apiReadyz();
	assert.equal(api.status, 200, api.text);
	assert.equal(api.text, '{"ready":true}');

	const recs = await sim.requests();
	const k = kinds(recs);
	assert.equal(k.attest, 1, `one attestation: ${JSON.stringify(k)}`);
	assert.equal(k.secret, 1, `one secret exchange: ${JSON.stringify(k)}`);
	assert.equal(k.cdn, 1, `one manifest download (CDN mode): ${JSON.stringify(k)}`);
	assert.equal(k.inference, undefined);
	const att = recs.find((r) => r.kind === "attest");
	assert.match(att.nonce, /^[0-9a-f]{64}$/, "32-byte nonce");
	assert.equal(att.headers.authorization, `Bearer ${sim.info.api_key}`);
	assert.equal(att.headers["privatemode-version"], "v1.40.0");
	const cdn = recs.find((r) => r.kind === "cdn");
	assert.match(cdn.path + cdn.query, /\/manifest\.json\?t=\d{13}$/, "manifest.json?t=<unix ms>");
	const exch = recs.find((r) => r.kind === "secret");
	const secrets = await sim.secrets();
	assert.equal(secrets.length, 1);
	assert.equal(secrets[0].id, exch.secretId);

	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json().choices[0].message.content, "Echo: a confidential prompt");
	const inf = (await sim.requests("inference"))[0];
	assert.equal(inf.headers["privatemode-secret-id"], secrets[0].id);
	assert.equal(inf.secretId, secrets[0].id, "every ciphertext names that secret");
	assert.equal(inf.headers["privatemode-nvidia-ocsp-policy-mac"],
		hmacHex(Buffer.from(secrets[0].secret, "hex"), inf.headers["privatemode-nvidia-ocsp-policy"]));
	assert.match(d.log(), /attestation verified/);
});

test("secrets live in keyd only: the API key (@file) and every inference secret are in keyd's memory, never in the parent or a worker", async (t) => {
	const key = `pmtest-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-apikey`;
	const s = await startSim(["--api-key", key]);
	t.after(() => s.stop());
	const dir = mkTemp("pm-e2e-");
	fs.writeFileSync(path.join(dir, "api-key"), key + "\n", { mode: 0o600 });
	const d = await daemonFor(t, s, { dir, workers: 2, over: { api_key: `@${path.join(dir, "api-key")}` } });
	// Serve a little traffic through both workers (clients send no key).
	for (let i = 0; i < 6; i++) {
		const r = await d.post("/v1/chat/completions", { ...CHAT, stream: i % 2 === 1 }, { headers: { Authorization: "Bearer dummy_key" } });
		assert.equal(r.status, 200, r.text);
		assert.equal((await d.post("/v1/embeddings", { model: "e", input: "x" })).status, 200);
	}
	const secrets = await s.secrets();
	assert.equal(secrets.length, 2, "one secret per keyd");
	const needles = [Buffer.from(key), ...secrets.map((x) => Buffer.from(x.secret, "hex"))];
	const names = ["API key", ...secrets.map((x) => `inference secret ${x.id}`)];
	const keyds = d.children("keyd"), workers = d.children("worker");
	assert.equal(keyds.length, 2);
	assert.equal(workers.length, 2);
	for (const pid of [d.pid, ...workers]) {
		const { counts } = scanMemory(pid, needles);
		counts.forEach((c, i) => assert.equal(c, 0, `${names[i]} found ${c}x in ${pid === d.pid ? "the parent" : "worker"} ${pid}`));
	}
	const inKeyd = needles.map(() => 0);
	for (const pid of keyds) {
		const { counts } = scanMemory(pid, needles);
		assert.ok(counts[0] > 0, `API key not found in keyd ${pid}`);
		assert.ok(counts.slice(1).some((c) => c > 0), `no inference secret in keyd ${pid}`);
		counts.forEach((c, i) => { inKeyd[i] += c; });
	}
	inKeyd.forEach((c, i) => assert.ok(c > 0, `${names[i]} in no keyd`));
	assert.ok(!fs.readFileSync(`/proc/${d.pid}/cmdline`, "utf8").includes(key));
});

test("refresh after test_secret_lifetime: a new exchange (no re-attestation), the new secret ID is used", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { over: { test_secret_lifetime: "3s" } });
	const first = (await sim.requests("secret"))[0].secretId;
	const rec = await waitFor("a second secret exchange", async () => (await sim.requests("secret")).find((r) => r.secretId && r.secretId !== first), { timeoutMs: 20000 });
	assert.equal(kinds(await sim.requests()).attest, 1, "refresh is a /secret call only (mesh CA cached)");
	// The daemon switched to the new secret once keyd installed it.
	await waitEstablished(d, rec.secretId);
	// Every 3 s another refresh may land while the request runs: it uses
	// the newest secret installed when it was sent, or one installed since.
	const before = established(d);
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	const after = established(d);
	const used = (await sim.requests("inference")).at(-1).headers["privatemode-secret-id"].slice(0, 8);
	assert.notEqual(used, first.slice(0, 8), "not the first secret");
	assert.ok(after.indexOf(used) >= before.length - 1, `uses the newest secret (${used}...; installed before the request: ${before.join(", ")}; after: ${after.join(", ")})`);
	assert.equal((await d.readyz()).status, 200);
});

test("refresh via the keyd clock hook: +45 min → a new exchange, readiness kept", { skip: !HOOKS && "built without --enable-test-hooks" }, async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim);
	const first = (await sim.requests("secret"))[0].secretId;
	const h = await d.req("POST", "/__test/keyd-clock?s=2701");
	assert.equal(h.status, 202);
	const rec = await waitFor("a refresh exchange", async () => (await sim.requests("secret")).find((r) => r.secretId && r.secretId !== first), { timeoutMs: 20000 });
	await waitEstablished(d, rec.secretId);
	const rz = await d.readyz();
	assert.equal(rz.status, 200, rz.text);
	assert.ok(rz.json.secret_expires_in_s > 2600, `fresh lifetime: ${rz.text}`);
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200);
	assert.notEqual((await sim.requests("inference")).at(-1).headers["privatemode-secret-id"], first);
});

test("an expired secret whose refresh keeps failing is never used: served within the grace, then 503 and nothing forwarded", { skip: !HOOKS && "built without --enable-test-hooks" }, async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim);
	await sim.faults({ "bad-mesh-signature": true }); // every exchange fails from now on
	await d.req("POST", "/__test/keyd-clock?s=2701"); // expired: the refresh starts and fails
	await waitFor("the failed refresh", async () => (await sim.requests("secret")).length >= 2, { timeoutMs: 8000 });
	const inGrace = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 20000 });
	assert.equal(inGrace.status, 200, `within the refresh grace the old secret still serves: ${inGrace.text}`);
	await d.req("POST", "/__test/keyd-clock?s=3600"); // far past expiry + grace
	await sim.forgetRequests();
	const rz = await waitFor("/readyz 503", async () => { const r = await d.readyz(); return r.status === 503 ? r : null; }, { timeoutMs: 10000 });
	assert.equal(rz.json.ready, false);
	const r = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 30000 });
	assert.equal(r.status, 503, r.text);
	assert.equal(r.json().error.code, "not_attested");
	assert.equal((await sim.requests("inference")).length, 0, "an expired secret is not used");
});

test("CDN mode manifest log: <ws>/manifests/N.json byte-equal to the served manifest, log.txt '<RFC3339> <path>'; a re-attestation appends 2.json", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { over: { test_secret_lifetime: "3s" } });
	const served = (await sim.get("/manifest.json")).body;
	const mdir = path.join(d.ws, "manifests");
	const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) (\S+)$/;
	assert.ok(fs.readFileSync(path.join(mdir, "1.json")).equals(served), "1.json = served manifest");
	let lines = fs.readFileSync(path.join(mdir, "log.txt"), "utf8").split("\n");
	assert.equal(lines.at(-1), "", "log.txt ends with a newline");
	assert.equal(lines.length, 2, "one entry");
	assert.match(lines[0], LINE);
	assert.equal(LINE.exec(lines[0])[2], path.join(d.ws, "manifests", "1.json"));
	const ts = Date.parse(LINE.exec(lines[0])[0].split(" ")[0]);
	assert.ok(Math.abs(ts - Date.now()) < 120000, "timestamp is now");

	// The next refresh exchange fails once: with a cached mesh CA the
	// daemon re-attests (fetching and logging the manifest again).
	await sim.faults({ "bad-mesh-signature": { times: 1 } });
	await waitFor("re-attestation", async () => kinds(await sim.requests()).attest >= 2, { timeoutMs: 10000 });
	await waitFor("2.json logged", () => fs.existsSync(path.join(mdir, "2.json")) && fs.readFileSync(path.join(mdir, "log.txt"), "utf8").split("\n").length === 3, { timeoutMs: 5000 });
	assert.ok(fs.readFileSync(path.join(mdir, "2.json")).equals(served));
	lines = fs.readFileSync(path.join(mdir, "log.txt"), "utf8").split("\n");
	assert.equal(LINE.exec(lines[1])?.[2], path.join(d.ws, "manifests", "2.json"));
	await waitFor("ready again", async () => (await d.readyz()).status === 200, { timeoutMs: 8000 });
	const st = fs.statSync(path.join(mdir, "1.json"));
	assert.equal(st.mode & 0o777, 0o644, "manifest files 0644");
});

test("static mode: a matching manifest_path attests without the CDN and writes no manifest log", async (t) => {
	await sim.reset();
	const dir = mkTemp("pm-e2e-");
	const mp = path.join(dir, "manifest.json");
	fs.writeFileSync(mp, sim.manifest, { mode: 0o644 });
	const d = await daemonFor(t, sim, { dir, over: { manifest_path: mp, cdn_base_url: `https://127.0.0.1:${await closedPort()}` } });
	const rz = await d.readyz();
	assert.equal(rz.json.manifest_sha256, sha256(sim.manifest).toString("hex"));
	const k = kinds(await sim.requests());
	assert.equal(k.cdn, undefined, "no CDN download");
	assert.equal(k.attest, 1);
	assert.ok(!fs.existsSync(path.join(d.ws, "manifests", "1.json")), "no manifest log in static mode");
	assert.equal((await d.post("/v1/chat/completions", CHAT)).status, 200);
});

test("static mode: a manifest one byte off fails fast with 'manifest mismatch', is not retried, requests get 503 not_attested", async (t) => {
	await sim.reset();
	const dir = mkTemp("pm-e2e-");
	const mp = path.join(dir, "manifest.json");
	const m = Buffer.from(sim.manifest);
	const at = m.indexOf("Genoa");
	m[at] = "g".charCodeAt(0); // "genoa": same length, one byte differs
	fs.writeFileSync(mp, m, { mode: 0o644 });
	const d = await daemonFor(t, sim, { dir, over: { manifest_path: mp }, waitReady: false });
	const rz = await d.waitNotReadyReason();
	assert.equal(rz.status, 503);
	assert.match(rz.json.reason, /manifest does not match|manifest.mismatch/i);
	// Not retried: the update ends after its first attempt.  keyd logs
	// every failed attempt with its number; a retry would log "(attempt 2)"
	// 1 s later, before the final reason, while the next update (after
	// the back-off) starts at attempt 1 again.  The log says it, not the
	// time between the attestation request and the final reason (a
	// loaded machine stretches that past any fixed bound).
	const attempts = [...d.log().matchAll(/secret update failed(?: again)? \(attempt (\d+)\)/g)].map((m) => Number(m[1]));
	assert.ok(attempts.length >= 1 && attempts.every((n) => n === 1), withLog(d, `a manifest mismatch is not retried: attempts ${attempts.join(", ")}`));
	assert.match(d.log(), /secret update failed \(attempt 1\): .*manifest/i);
	assert.ok((await sim.requests("attest")).length >= 1, "it attested");
	assert.equal((await sim.requests("secret")).length, 0);
	const r = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 15000 });
	assert.equal(r.status, 503, r.text);
	assert.equal(r.json().error.code, "not_attested");
	assert.match(r.json().error.message, /manifest/);
	assert.equal((await sim.requests("inference")).length, 0, "no prompt left the host");
});

// keyd keeps a connection whose response was complete for the next request
// to the same origin (keyd/fetch.c); the simulator serves CDN and API on one
// port, so a whole update is one connection.
// keyd's own requests; a request reset before any answer has no kind yet.
const ownKind = (r) => r.kind ?? { "/privatemode/v1/attest": "attest", "/privatemode/v1/secret": "secret" }[r.path];
const own = (recs) => recs.filter((r) => ["cdn", "attest", "secret"].includes(ownKind(r))).map((r) => ({ ...r, kind: ownKind(r) }));
const remotes = (recs) => recs.map((r) => `${r.kind}@${r.remote}${r.outcome ? ` (${r.outcome})` : ""}`).join(", ");

// The CDN has its own connection: it is always verified, the API endpoint
// by its own policy, and the two TLS contexts never share a session.
test("keyd's own requests share a connection: attestation and exchange at start, the three API requests of a re-attestation", { skip: !HOOKS && "built without --enable-test-hooks" }, async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim);
	const start = own(await sim.requests());
	assert.deepEqual(start.map((r) => r.kind), ["cdn", "attest", "secret"]);
	assert.equal(start[2].remote, start[1].remote, remotes(start));
	// The refresh's exchange fails with the cached CA: manifest,
	// attestation and exchange follow at once.
	await sim.faults({ "bad-mesh-signature": { times: 1 } });
	assert.equal((await d.req("POST", "/__test/keyd-clock?s=2701")).status, 202);
	await waitFor("the exchange after the re-attestation", async () => own(await sim.requests()).length >= 7, { timeoutMs: 10000 });
	const cycle = own(await sim.requests()).slice(3);
	assert.deepEqual(cycle.map((r) => r.kind), ["secret", "cdn", "attest", "secret"]);
	const api = cycle.filter((r) => r.kind !== "cdn");
	assert.equal(new Set(api.map((r) => r.remote)).size, 1, remotes(cycle));
	assert.equal((await d.readyz()).status, 200);
});

test("an idle connection the server resets as keyd reuses it: the request goes once more on a new connection, no failed attempt", async (t) => {
	await sim.reset();
	// The exchange follows the attestation on its connection.
	await sim.faults({ reset: { times: 1, paths: ["/privatemode/v1/secret"] } });
	const d = await daemonFor(t, sim);
	assert.equal((await d.readyz()).status, 200);
	const recs = own(await sim.requests());
	assert.deepEqual(recs.map((r) => r.kind), ["cdn", "attest", "secret", "secret"], remotes(recs));
	assert.equal(recs[2].outcome, "reset before response", remotes(recs));
	assert.equal(recs[2].remote, recs[1].remote, `the first try went on the attestation's connection: ${remotes(recs)}`);
	assert.notEqual(recs[3].remote, recs[2].remote, `the second on a new one: ${remotes(recs)}`);
	// keyd/tunnel.c keeps the last session per host: the new connection
	// resumes the one the attestation opened (no second full handshake).
	assert.equal(recs[1].tlsResumed, false, "the first API connection is a full handshake");
	assert.equal(recs[3].tlsResumed, true, "the new API connection resumes its session");
	assert.doesNotMatch(d.log(), /secret update failed/, "not counted as a failed attempt");
});

test("a reset on a new connection is not sent again by the connection layer: the update attempt fails and is retried after its back-off", async (t) => {
	await sim.reset();
	// The attestation is keyd's first API request: a new connection.
	await sim.faults({ reset: { times: 1, paths: ["/privatemode/v1/attest"] } });
	const d = await daemonFor(t, sim, { waitReady: false });
	await d.waitReady();
	const recs = own(await sim.requests());
	const att = recs.filter((r) => r.kind === "attest");
	assert.equal(att.length, 2, remotes(recs));
	assert.equal(att[0].outcome, "reset before response", remotes(recs));
	assert.equal(recs[0].kind, "cdn");
	assert.notEqual(att[0].remote, recs[0].remote, `the attestation had a new connection: ${remotes(recs)}`);
	assert.match(d.log(), /secret update failed \(attempt 1\)/);
	assert.ok(Date.parse(att[1].time) - Date.parse(att[0].time) >= 900, "the second try waited for the back-off");
});

test("KDS fetch: omit-vcek → the VCEK is fetched from the KDS (chip ID + TCB SPLs), then ready", async (t) => {
	await sim.reset();
	await sim.faults({ "omit-vcek": true });
	const d = await daemonFor(t, sim);
	const kds = await sim.requests("kds");
	assert.ok(kds.length >= 1, "a KDS request");
	const v = kds.find((r) => /^\/vcek\/v1\/Genoa\/[0-9a-fA-F]{128}$/.test(r.path));
	assert.ok(v, `VCEK request: ${JSON.stringify(kds.map((r) => r.path + r.query))}`);
	assert.equal(v.path.split("/").at(-1).toUpperCase(), sim.info.chip_id);
	const q = new URLSearchParams(v.query);
	assert.deepEqual([q.get("blSPL"), q.get("teeSPL"), q.get("snpSPL"), q.get("ucodeSPL")], ["10", "0", "28", "88"]);
	assert.equal(v.status, 200);
	assert.equal((await d.post("/v1/chat/completions", CHAT)).status, 200);
});

test("KDS fetch: omit-crl → the CRL is fetched from the KDS, then ready", async (t) => {
	await sim.reset();
	await sim.faults({ "omit-crl": true });
	const d = await daemonFor(t, sim);
	const kds = await sim.requests("kds");
	assert.ok(kds.some((r) => r.path === "/vcek/v1/Genoa/crl" && r.status === 200), `CRL request: ${JSON.stringify(kds.map((r) => r.path))}`);
	assert.equal((await d.post("/v1/chat/completions", CHAT)).status, 200);
});

test("KDS unreachable (omit-vcek, KDS on a closed port) → fails closed: 503 with a KDS reason, nothing forwarded", async (t) => {
	await sim.reset();
	await sim.faults({ "omit-vcek": true });
	const d = await daemonFor(t, sim, { waitReady: false, over: { test_kds_base_url: `https://127.0.0.1:${await closedPort()}` } });
	const chat = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 20000 });
	assert.equal(chat.status, 503, chat.text);
	assert.equal(chat.json().error.code, "not_attested");
	const rz = await d.waitNotReadyReason();
	assert.match(rz.json.reason, /KDS|VCEK/);
	assert.equal((await sim.requests("secret")).length, 0);
	assert.equal((await sim.requests("inference")).length, 0);
});

test("KDS cache: a fetched VCEK is cached under <workspace>/contrast and used when the KDS is unreachable later", async (t) => {
	await sim.reset();
	await sim.faults({ "omit-vcek": true });
	// The KDS behind a relay: same URL for both daemons, then it goes away.
	const kds = await tcpRelay(sim.info.port);
	t.after(() => kds.close());
	const dir = mkTemp("pm-e2e-");
	const over = { test_kds_base_url: `https://127.0.0.1:${kds.port}` };
	const d1 = await startDaemon(sim, { dir, over });
	t.after(() => d1.stop());
	const v = (await sim.requests("kds")).find((r) => r.path.startsWith("/vcek/v1/Genoa/") && r.path.length > 30);
	assert.ok(v, "the first daemon fetched the VCEK");
	await d1.stop();
	const vcek = (await sim.get(v.path + v.query)).body;
	const cdir = path.join(d1.ws, "contrast");
	const files = [];
	const walk = (p) => { for (const e of fs.existsSync(p) ? fs.readdirSync(p, { withFileTypes: true }) : []) e.isDirectory() ? walk(path.join(p, e.name)) : files.push(path.join(p, e.name)); };
	walk(cdir);
	assert.ok(files.some((f) => fs.readFileSync(f).includes(vcek)), `the VCEK is cached under ${cdir} (files: ${JSON.stringify(files)})`);
	// Same workspace and KDS URL, KDS down: the cached VCEK is enough.
	kds.down();
	await sim.reset();
	await sim.faults({ "omit-vcek": true });
	const d2 = await daemonFor(t, sim, { dir, waitReady: false, over });
	const rz = await waitFor("ready from the KDS cache", async () => { const r = await d2.readyz(); return r.status === 200 || !/in progress|pending/.test(r.json?.reason ?? "x") ? r : null; }, { timeoutMs: 10000 });
	assert.equal(rz.status, 200, rz.text);
	assert.equal((await sim.requests("kds")).length, 0, "the KDS was not reached");
	assert.equal((await d2.post("/v1/chat/completions", CHAT)).status, 200);
});

// --- lifecycle: start-up queue, keyd respawn, reload ------------------------------

test("requests arriving before the first attestation wait for it and are all served", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { workers: 2, waitReady: false });
	const rs = await Promise.all(Array.from({ length: 16 }, (_, i) => d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: `early ${i}` }] }, { timeoutMs: 20000 })));
	rs.forEach((r, i) => {
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json().choices[0].message.content, `Echo: early ${i}`);
	});
	const k = kinds(await sim.requests());
	assert.equal(k.attest, 2, "one attestation per keyd, not one per request");
	assert.equal(k.secret, 2);
	assert.equal(k.inference, 16);
});

test("requests racing the start-up (sent as soon as the port is bound) are all served; no worker/keyd pair dies", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { workers: 2, waitReady: false, waitChildren: false });
	const post = async (i) => {
		for (let k = 0; ; k++) {
			try {
				return await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: `race ${i}` }] }, { timeoutMs: 20000 });
			} catch (e) {
				if (e.code !== "ECONNREFUSED" || k > 100) throw e;
				await sleep(10);
			}
		}
	};
	const rs = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => post(i)));
	const bad = rs.map((r, i) => (r.status === "rejected" ? `${i}: ${r.reason.message}` : r.value.status !== 200 ? `${i}: ${r.value.status} ${r.value.text}` : null)).filter(Boolean);
	assert.deepEqual(bad, [], withLog(d, "requests failed during start-up"));
	assert.doesNotMatch(d.log(), /not permitted in state|exited with status|respawn in/, withLog(d, "a pair died during start-up"));
});

test("a killed keyd is respawned with its worker, attests again with a new secret, and serving resumes", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim);
	const [k0] = d.children("keyd"), [w0] = d.children("worker");
	const first = (await sim.requests("secret"))[0].secretId;
	process.kill(k0, "SIGKILL");
	await d.waitLog(/respawning worker\[0\] and keyd\[0\]/, 10000);
	await waitFor("a new pair", () => d.children("keyd").length === 1 && d.children("keyd")[0] !== k0 && d.children("worker").length === 1 && d.children("worker")[0] !== w0, { timeoutMs: 10000 });
	await d.waitReady();
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	const used = (await sim.requests("inference")).at(-1).headers["privatemode-secret-id"];
	assert.notEqual(used, first, "the new keyd has its own secret");
	assert.equal(kinds(await sim.requests()).attest, 2, "the new keyd attested");
});

test("SIGHUP reload while serving: no request fails, the new generation attests and serves", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { workers: 2 });
	const oldWorkers = d.children("worker");
	let stop = false, n = 0;
	const errors = [];
	const client = async () => {
		while (!stop) {
			const i = n++;
			try {
				const r = await d.post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: `reload ${i}` }] }, { timeoutMs: 20000 });
				if (r.status !== 200 || r.json().choices[0].message.content !== `Echo: reload ${i}`) errors.push(`${i}: ${r.status} ${r.text.slice(0, 200)}`);
			} catch (e) { errors.push(`${i}: ${e.message}`); }
		}
	};
	const clients = Array.from({ length: 4 }, client);
	await sleep(300);
	process.kill(d.pid, "SIGHUP");
	await d.waitLog(/configuration reloaded/, 15000);
	await waitFor("the old generation gone", () => d.children("worker").every((p) => !oldWorkers.includes(p)) && d.children("worker").length === 2, { timeoutMs: 15000 });
	await sleep(300);
	stop = true;
	await Promise.all(clients);
	const died = d.log().split("\n").filter((l) => /not permitted in state|exited with status|respawn in/.test(l));
	assert.deepEqual(died, [], `a worker/keyd pair died around the reload (${errors.length} of ${n} requests failed: ${errors.join("; ")})`);
	assert.deepEqual(errors, [], `${errors.length} of ${n} requests failed around the reload`);
	assert.ok(n > 10, `${n} requests`);
	assert.equal((await d.readyz()).status, 200);
	assert.ok(kinds(await sim.requests()).attest >= 4, "the new keyds attested");
});

// --- the negative matrix (attestation spec §10 step 6) ----------------------

// fault → what the readiness reason must say (the first check that fails).
const MATRIX = {
	"report-bitflip": /report signature/i,
	"wrong-nonce": /REPORT_DATA|report data|nonce/i,
	"wrong-measurement": /MEASUREMENT/i,
	"wrong-host-data": /HOST_DATA|host data/i,
	"wrong-id-key-digest": /ID_KEY_DIGEST|ID key/i,
	"tcb-too-low": /TCB/,
	"tcb-mismatch": /REPORTED_TCB.*VCEK TCB|TCB mismatch|\(tcb\)/i,
	"wrong-chip-id": /CHIP_ID.*(VCEK|hwID)|\(chip_id\)/i,
	"chip-id-not-allowed": /AllowedChipIDs|not allowed/i,
	"policy-debug": /debug/i,
	"platform-smt": /SMT/,
	"vmpl1": /VMPL/,
	"signer-vlek": /VLEK/,
	"report-version-1": /version 1/i,
	"mitigation-vector-low": /MIT_VECTOR|mitigation/i,
	"product-milan": /Milan/,
	"vcek-expired": /expired/i,
	"ask-revoked": /revoked/i,
	"vcek-foreign-ask": /VCEK chain|cert_chain|signature failure/i,
	"crl-wrong-key": /CRL/,
	"two-manifests": /exactly one manifest/,
	"manifest-mismatch": /active manifest does not match expected manifest/,
	"attest-bad-base64": /base64/i,
	"attest-bad-json": /JSON/,
	"attest-bad-protobuf": /protobuf/i,
	"bad-mesh-signature": /invalid signature/,
	"mesh-cert-foreign-ca": /verifying certificate/,
	"enc-short": /encapsulated key length|1120|1119/,
};
const SECRET_FAULTS = new Set(["bad-mesh-signature", "mesh-cert-foreign-ca", "enc-short"]);

describe("negative matrix: every attestation / secret-exchange tampering fails closed", { concurrency: 6 }, () => {
	test("the matrix covers every attestation and secret fault the simulator knows", async () => {
		const known = (await sim.ctl("GET", "/faults")).known;
		const transport = new Set(["unauthorized", "no-secret", "reset", "reset-mid-stream", "stall-stream", "truncate-sse", "slow-first-byte", "non-json-sse", "slow-read", "huge-head", "wrong-seq", "upstream-error", "omit-vcek", "omit-crl"]);
		// The TDX faults act on a Coordinator on TDX: tdx.test.mjs has their rows.
		const missing = known.filter((f) => !transport.has(f) && !(f in MATRIX) && !f.startsWith("tdx-"));
		assert.deepEqual(missing, [], "faults without a negative test");
	});
	for (const [fault, reason] of Object.entries(MATRIX)) {
		test(`${fault} → /readyz 503 (${reason.source}), chat 503 not_attested, zero inference requests`, async (t) => {
			const s = await startSim(["--fault", fault]);
			t.after(() => s.stop());
			const d = await daemonFor(t, s, { waitReady: false });
			// A request arriving during the failing update waits for it, then fails.
			const chat = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 30000 });
			assert.equal(chat.status, 503, withLog(d, chat.text));
			assert.equal(chat.json().error.code, "not_attested", chat.text);
			assert.match(chat.json().error.message, reason);
			const rz = await d.waitNotReadyReason();
			assert.equal(rz.status, 503);
			assert.equal(rz.json.ready, false);
			assert.match(rz.json.reason, reason, withLog(d, rz.text));
			// The API port: not ready and why in fixed words, not the error
			// (or, if the next attempt has begun meanwhile, that it runs).
			const api = await d.apiReadyz();
			assert.equal(api.status, 503, api.text);
			assert.match(api.json.reason, /^(not attested: |attestation in progress$)/, api.text);
			assert.doesNotMatch(api.text, reason);
			assert.ok(!api.text.includes(rz.json.reason), api.text);
			const k = kinds(await s.requests());
			assert.equal(k.inference ?? 0, 0, "no inference request reached the deployment");
			assert.ok(k.attest >= 1);
			if (!SECRET_FAULTS.has(fault)) assert.equal(k.secret ?? 0, 0, "no secret exchange after a failed attestation");
		});
	}
});

// --- API keys -------------------------------------------------------------------

test("unauthorized fault (deployment refuses the key) → readiness reason says Unauthorized, requests fail, nothing forwarded", async (t) => {
	await sim.reset();
	await sim.faults({ unauthorized: true });
	const d = await daemonFor(t, sim, { waitReady: false });
	const chat = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 20000 });
	assert.ok([401, 503].includes(chat.status), chat.text);
	assert.match(chat.json().error.message, /Unauthorized/);
	const rz = await d.waitNotReadyReason();
	assert.match(rz.json.reason, /Unauthori[sz]ed/i);
	assert.equal((await sim.requests("inference")).length, 0);
	assert.equal((await sim.requests("secret")).length, 0);
});

test("wrong configured api_key (the deployment expects another) → Unauthorized, requests fail, nothing forwarded", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { waitReady: false, over: { api_key: "not-the-sim-key" } });
	const chat = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 20000 });
	assert.ok([401, 503].includes(chat.status), chat.text);
	const rz = await d.waitNotReadyReason();
	assert.match(rz.json.reason, /Unauthori[sz]ed/i);
	const att = await sim.requests("attest");
	assert.ok(att.length >= 1);
	assert.equal(att[0].headers.authorization, "Bearer not-the-sim-key");
	assert.equal((await sim.requests("inference")).length, 0);
});

test("no api_key configured: no traffic at start, a bad client bearer gets 401, the first working bearer becomes the key", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { waitReady: false, over: { api_key: null } });
	await sleep(300);
	let rz = await d.readyz();
	assert.equal(rz.status, 503);
	assert.match(rz.json.reason, /API key/i);
	assert.equal((await sim.requests()).length, 0, "no network traffic without a key");

	const bad = await d.post("/v1/chat/completions", CHAT, { headers: { Authorization: "Bearer wrong-key" }, timeoutMs: 20000 });
	assert.equal(bad.status, 401, bad.text);
	assert.equal((await sim.requests("inference")).length, 0);
	assert.ok((await sim.requests("attest")).every((r) => r.headers.authorization === "Bearer wrong-key"));

	const good = await d.post("/v1/chat/completions", CHAT, { headers: { Authorization: `Bearer ${sim.info.api_key}` }, timeoutMs: 20000 });
	assert.equal(good.status, 200, good.text);
	assert.equal(good.json().choices[0].message.content, "Echo: a confidential prompt");
	rz = await d.readyz();
	assert.equal(rz.status, 200, rz.text);
	const sec = await sim.requests("secret");
	assert.equal(sec.at(-1).headers.authorization, `Bearer ${sim.info.api_key}`, "the working key did the exchange");
	const inf = await sim.requests("inference");
	assert.equal(inf.length, 1);
	assert.equal(inf[0].headers.authorization, `Bearer ${sim.info.api_key}`, "the client's own bearer is forwarded");
	// Another client's bearer is forwarded as its own (the deployment decides).
	const other = await d.post("/v1/chat/completions", CHAT, { headers: { Authorization: "Bearer dummy_key" } });
	assert.equal(other.status, 401, other.text);
	assert.equal((await sim.requests("inference")).at(-1).headers.authorization, "Bearer dummy_key");
	assert.equal((await sim.requests("secret")).length, sec.length, "no new exchange for another client's key");
});

test("no api_key configured and no key from the client: 401 at once, in the route's error shape, saying how to configure one; no upstream traffic", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { waitReady: false, over: { api_key: null } });
	// A bounded wait: the answer must not wait for a secret that cannot come.
	const oa = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 5000 });
	assert.equal(oa.status, 401, oa.text);
	assert.equal(oa.json().error.type, "authentication_error");
	assert.equal(oa.json().error.code, "missing_api_key");
	assert.match(oa.json().error.message, /api_key.*privatemode\.conf.*Authorization: Bearer.*x-api-key/);
	const an = await d.post("/v1/messages", { model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] }, { timeoutMs: 5000 });
	assert.equal(an.status, 401, an.text);
	assert.equal(an.json().type, "error");
	assert.equal(an.json().error.type, "authentication_error");
	assert.equal((await sim.requests()).length, 0, "nothing went upstream");
});

test("no api_key configured: an Anthropic client's x-api-key is the key (attestation, exchange and inference carry it as a bearer)", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim, { waitReady: false, over: { api_key: null } });
	const r = await d.post("/v1/messages", { model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] },
		{ headers: { "x-api-key": sim.info.api_key, "anthropic-version": "2023-06-01" }, timeoutMs: 20000 });
	assert.equal(r.status, 200, r.text);
	for (const kind of ["attest", "secret", "inference"]) {
		const recs = await sim.requests(kind);
		assert.ok(recs.length >= 1, kind);
		assert.equal(recs.at(-1).headers.authorization, `Bearer ${sim.info.api_key}`, `${kind} carries the client's key`);
	}
	assert.equal((await sim.requests("inference")).at(-1).headers["x-api-key"], undefined, "the key goes as a bearer only");
});
