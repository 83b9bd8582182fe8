// Issue 20: who may spend the organisation's key.  Client tokens
// (client_auth tokens, privatemoded -G, Authorization: Bearer and
// x-api-key, expiry, reload, revocation mid-stream), rate and stream
// limits per client and per address with both SDKs honouring Retry-After,
// usage per client and model against the simulator's token counts, no
// token bytes in any log, dump, metric or upstream request, and the
// client TLS certificate renewed on disk without a reload.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import OpenAI, { toFile } from "openai";
import Anthropic from "@anthropic-ai/sdk";
import Anthropic0 from "anthropic-sdk-0";
import { startSim, startDaemon, simConfig, mkTemp, request, openStream, readAll, parseSse, waitFor, scanMemory, PM_BIN, daemonForTest } from "./lib/harness.mjs";

let sim;
before(async () => { sim = await startSim(["--stream-chunks", "4"]); });
after(async () => { await sim?.stop(); });

const daemonFor = (t, opts) => daemonForTest(t, sim, opts);

// privatemoded -G: the file line on stdout, the token on stderr.
function newToken(name, opts = "") {
	const r = spawnSync(PM_BIN, ["-G", name], { encoding: "utf8" });
	assert.equal(r.status, 0, r.stderr);
	const token = r.stderr.trim().split("\n").at(-1);
	return { name, token, line: `${r.stdout.trim()}${opts ? " " + opts : ""}` };
}

function writeClients(dir, clients) {
	const f = path.join(dir, "clients");
	fs.writeFileSync(`${f}.new`, clients.map((c) => c.line ?? c).join("\n") + "\n");
	fs.renameSync(`${f}.new`, f);
	return f;
}

async function tokenDaemon(t, clients, { over = {}, ...opts } = {}) {
	const dir = mkTemp("pm-e2e-");
	const file = writeClients(dir, clients);
	return daemonFor(t, { dir, over: { client_auth: "tokens", client_tokens: file, ...over }, ...opts });
}

// Rewrite the token file and SIGHUP; resolves once the parent has the new
// policy and every worker alive (the draining generation too) took it, and
// (oldGone) once the previous generation has left.
async function reloadClients(d, clients, { oldGone = true } = {}) {
	const parent = /client access: client_auth \w+, (\d+) client token/g;
	const worker = new RegExp(`worker\\[\\d+\\] pid \\d+: debug: client access: client_auth \\w+, ${clients.length} token`, "g");
	const n = d.countLog(parent), w = d.countLog(worker), old = d.children("worker");
	writeClients(d.dir, clients);
	process.kill(d.pid, "SIGHUP");
	await waitFor("the new client policy", () => d.countLog(parent) > n, { timeoutMs: 15000 });
	await d.waitLog(/configuration reloaded/, 15000);
	// The old generation's worker (before it drains) and the new one's.
	await waitFor("the workers' new policy", () => d.countLog(worker) >= w + 2, { timeoutMs: 15000 });
	if (oldGone)
		await waitFor("the previous generation gone", () => !d.children("worker").some((p) => old.includes(p)), { timeoutMs: 15000 });
}

const CHAT = { model: "m", messages: [{ role: "user", content: "hello" }] };
const bearer = (c) => ({ Authorization: `Bearer ${c.token}` });

async function metricsText(d) {
	const r = await request(`http://127.0.0.1:${d.mport}/metrics`, { timeoutMs: 5000 });
	assert.equal(r.status, 200, r.text);
	return r.text;
}

function metric(text, name, labels) {
	const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",");
	for (const l of text.split("\n")) {
		const m = /^(\w+)\{([^}]*)\} (\d+)$/.exec(l);
		if (m && m[1] === name && m[2] === want) return Number(m[3]);
	}
	return undefined;
}

// One HTTP/1.1 exchange on a kept-alive socket: {status, headers, body}.
function exchange(sock, req) {
	return new Promise((resolve, reject) => {
		let buf = Buffer.alloc(0);
		const done = (e) => { sock.off("data", onData); sock.off("close", onClose); if (e) reject(e); };
		const onClose = () => done(new Error(`connection closed: ${buf.toString("latin1")}`));
		const onData = (x) => {
			buf = Buffer.concat([buf, x]);
			const end = buf.indexOf("\r\n\r\n");
			if (end < 0) return;
			const head = buf.subarray(0, end).toString("latin1");
			const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
			if (buf.length < end + 4 + len) return;
			done();
			resolve({ status: Number(head.split(" ")[1]), head, body: buf.subarray(end + 4, end + 4 + len).toString("utf8") });
		};
		sock.on("data", onData);
		sock.on("close", onClose);
		sock.write(req);
	});
}

// Every file below dir, as text.
function readTree(dir) {
	if (!fs.existsSync(dir)) return "";
	let out = "";
	for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, e.name);
		out += e.isDirectory() ? readTree(p) : fs.readFileSync(p, "latin1");
	}
	return out;
}

// --- the command and the configuration ---------------------------------------------

test("privatemoded -G: the file line (name, SHA-256 of the token) on stdout, the token once on stderr; a bad name is refused", () => {
	const c = newToken("gitlab-prod");
	assert.match(c.token, /^pmc_[A-Za-z0-9_-]{43}$/);
	const hex = execFileSync("sh", ["-c", `printf %s '${c.token}' | sha256sum`], { encoding: "utf8" }).split(" ")[0];
	assert.equal(c.line, `gitlab-prod sha256:${hex}`);
	assert.ok(!c.line.includes(c.token.slice(4)), "the line holds no token");
	assert.notEqual(newToken("gitlab-prod").token, c.token, "a fresh token each time");
	const bad = spawnSync(PM_BIN, ["-G", "not a name"], { encoding: "utf8" });
	assert.equal(bad.status, 1);
	assert.equal(bad.stdout, "");
	assert.match(bad.stderr, /bad client name/);
});

test("-t: client_auth tokens needs api_key; a bad token file is refused with file:line; a missing one too; a good one passes", () => {
	const dir = mkTemp("pm-e2e-");
	const check = (over) => {
		fs.writeFileSync(path.join(dir, "t.conf"), simConfig(sim, dir, { over }));
		return spawnSync(PM_BIN, ["-t", "-f", path.join(dir, "t.conf")], { encoding: "utf8" });
	};
	const good = writeClients(dir, [newToken("a"), newToken("b", "expires=2030-01-01 rate=60/1m streams=2")]);
	let r = check({ client_auth: "tokens", client_tokens: good });
	assert.equal(r.status, 0, r.stderr);
	assert.match(r.stdout, /configuration OK/);
	r = check({ client_auth: "tokens", client_tokens: good, api_key: null });
	assert.equal(r.status, 1);
	assert.match(r.stderr, /client_auth tokens needs api_key.*never the Privatemode API key/);
	const badFile = path.join(dir, "bad");
	fs.writeFileSync(badFile, `${newToken("ok").line}\ngitlab sha256:1234\n`);
	r = check({ client_auth: "tokens", client_tokens: badFile });
	assert.equal(r.status, 1);
	assert.match(r.stderr, new RegExp(`${badFile}:2: expected sha256:`));
	r = check({ client_auth: "tokens", client_tokens: path.join(dir, "nonexistent") });
	assert.equal(r.status, 1);
	assert.match(r.stderr, /client_tokens .*nonexistent/);
	for (const [k, v] of [["client_auth", "yes"], ["client_rate_limit", "60"], ["address_rate_limit", "1/0s"]]) {
		r = check({ [k]: v });
		assert.equal(r.status, 1, `${k} ${v}`);
		assert.match(r.stderr, new RegExp(k));
	}
	// client_auth off (the default) never reads the file.
	r = check({ client_tokens: path.join(dir, "nonexistent") });
	assert.equal(r.status, 0, r.stderr);
});

test("client_auth off and a listener beyond loopback: a loud warning at start (in a network namespace of its own)", async (t) => {
	const dir = mkTemp("pm-e2e-");
	const conf = path.join(dir, "p.conf"), log = path.join(dir, "daemon.log");
	fs.writeFileSync(conf, simConfig(sim, dir, { over: { listen: "0.0.0.0:0", metrics_listen: "none" } }));
	const fd = fs.openSync(log, "a");
	const proc = spawn("unshare", ["--net", "--", PM_BIN, "-d", "-f", conf], { stdio: ["ignore", fd, fd] });
	fs.closeSync(fd);
	t.after(() => { try { proc.kill("SIGKILL"); } catch { /* gone */ } });
	const read = () => fs.readFileSync(log, "utf8");
	await waitFor("the listening line", () => /listening on 0\.0\.0\.0:\d+/.test(read()), { timeoutMs: 10000 });
	await waitFor("the warning", () => /WARNING: client_auth is off and the daemon listens beyond loopback/.test(read()), { timeoutMs: 5000 });
	proc.kill("SIGTERM");
	await new Promise((r) => proc.once("exit", r));
});

// --- client tokens ---------------------------------------------------------------

describe("client_auth tokens", () => {
	let d;
	const alice = newToken("alice");
	const alice2 = newToken("alice");	// a second token of the same client
	const bob = newToken("bob", "expires=2001-01-01");	// expired
	const carol = newToken("carol");	// only after a reload
	const wrong = newToken("mallory");	// never in the file
	before(async () => {
		const dir = mkTemp("pm-e2e-");
		const file = writeClients(dir, [alice, alice2, bob]);
		d = await startDaemon(sim, { dir, over: { client_auth: "tokens", client_tokens: file, dump_requests: "yes" } });
	});
	after(async () => { await d?.stop(); });

	test("no token: 401 with WWW-Authenticate, OpenAI shape on OpenAI routes, Anthropic shape on /v1/messages; nothing goes upstream", async () => {
		await sim.forgetRequests();
		const o = await d.post("/v1/chat/completions", CHAT);
		assert.equal(o.status, 401, o.text);
		assert.equal(o.headers["www-authenticate"], 'Bearer realm="privatemode"');
		assert.equal(o.json().error.type, "authentication_error");
		assert.equal(o.json().error.code, "missing_api_key");
		assert.equal(o.json().error.param, null);
		const a = await d.post("/v1/messages", { model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }] });
		assert.equal(a.status, 401, a.text);
		assert.equal(a.headers["www-authenticate"], 'Bearer realm="privatemode"');
		assert.equal(a.json().type, "error");
		assert.equal(a.json().error.type, "authentication_error");
		assert.ok(a.headers["request-id"], "Anthropic's request-id");
		// Every path but the open ones: no route map for strangers either.
		assert.equal((await d.get("/v1/models")).status, 401);
		assert.equal((await d.get("/v1/nonexistent")).status, 401);
		assert.equal((await d.get("/v1/nonexistent", { headers: bearer(alice) })).status, 404);
		assert.equal((await sim.requests("inference")).length, 0);
	});

	test("/healthz, /readyz and the metrics listener stay open", async () => {
		assert.equal((await d.get("/healthz")).status, 200);
		assert.equal((await d.apiReadyz()).status, 200);
		assert.equal((await d.readyz()).status, 200);
		assert.match(await metricsText(d), /privatemode_client_auth_failures_total\{reason="missing"\} [1-9]/);
	});

	test("a wrong token: 401 invalid_token; the real Privatemode key is no client token either", async () => {
		const r = await d.post("/v1/chat/completions", CHAT, { headers: bearer(wrong) });
		assert.equal(r.status, 401, r.text);
		assert.equal(r.headers["www-authenticate"], 'Bearer realm="privatemode", error="invalid_token"');
		assert.equal(r.json().error.code, "invalid_api_key");
		const k = await d.post("/v1/chat/completions", CHAT, { headers: { Authorization: `Bearer ${sim.info.api_key}` } });
		assert.equal(k.status, 401, "with client tokens on, a bearer is a client token, never a Privatemode key");
		const x = await d.post("/v1/messages", { model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { headers: { "x-api-key": wrong.token } });
		assert.equal(x.status, 401);
		assert.equal(x.json().error.type, "authentication_error");
		const sdk = new OpenAI({ baseURL: d.base + "/v1", apiKey: wrong.token, maxRetries: 0 });
		await assert.rejects(sdk.chat.completions.create(CHAT), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
		for (const Cls of [Anthropic, Anthropic0]) {
			const c = new Cls({ baseURL: d.base, apiKey: wrong.token, maxRetries: 0 });
			await assert.rejects(c.messages.create({ model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }] }),
				(e) => e instanceof Cls.AuthenticationError && e.status === 401 && e.error?.error?.type === "authentication_error");
		}
	});

	test("an expired token: 401 expired_api_key, the client's name in the log", async () => {
		const r = await d.post("/v1/chat/completions", CHAT, { headers: bearer(bob) });
		assert.equal(r.status, 401, r.text);
		assert.equal(r.json().error.code, "expired_api_key");
		assert.match(r.headers["www-authenticate"], /error="invalid_token"/);
		await d.waitLog(/client bob: token expired/);
	});

	test("a good token: Authorization: Bearer (openai, @anthropic-ai/sdk 1.x) and x-api-key (0.x); the upstream gets the configured key and no client token", async () => {
		await sim.forgetRequests();
		const oa = new OpenAI({ baseURL: d.base + "/v1", apiKey: alice.token, maxRetries: 0 });
		const r = await oa.chat.completions.create({ model: "m", messages: [{ role: "user", content: "as alice" }] });
		assert.equal(r.choices[0].message.content, "Echo: as alice");
		const r2 = await new OpenAI({ baseURL: d.base + "/v1", apiKey: alice2.token, maxRetries: 0 }).chat.completions.create(CHAT);
		assert.equal(r2.choices[0].message.content, "Echo: hello", "the client's second token");
		for (const [Cls, hdr] of [[Anthropic, "authorization"], [Anthropic0, "x-api-key"]]) {
			const c = new Cls({ baseURL: d.base, apiKey: alice.token, maxRetries: 0 });
			const m = await c.messages.create({ model: "claude-x", max_tokens: 16, messages: [{ role: "user", content: `via ${hdr}` }] });
			assert.equal(m.content[0].text, `Echo: via ${hdr}`);
		}
		const recs = await sim.requests("inference");
		assert.equal(recs.length, 4);
		for (const rec of recs) {
			assert.equal(rec.headers.authorization, `Bearer ${sim.info.api_key}`);
			assert.equal(rec.headers["x-api-key"], undefined);
		}
		await d.waitLog(/"POST \/v1\/messages" 200 .* client=alice model=claude-x/);
	});

	test("a token in a reloaded file works at once; a token taken out is refused at once", async () => {
		assert.equal((await d.post("/v1/chat/completions", CHAT, { headers: bearer(carol) })).status, 401);
		await reloadClients(d, [alice, alice2, bob, carol]);
		const r = await d.post("/v1/chat/completions", CHAT, { headers: bearer(carol) });
		assert.equal(r.status, 200, r.text);
		await reloadClients(d, [alice, alice2, bob]);
		assert.equal((await d.post("/v1/chat/completions", CHAT, { headers: bearer(carol) })).status, 401);
		assert.equal((await d.post("/v1/chat/completions", CHAT, { headers: bearer(alice) })).status, 200);
	});

	test("a revoked token is refused at once by the generation being replaced too (a kept-alive connection to it)", async () => {
		await reloadClients(d, [alice, alice2, bob, carol]);
		// A connection to this generation's worker, kept alive.
		const sock = net.connect(d.port, "127.0.0.1");
		await new Promise((r) => sock.once("connect", r));
		const body = JSON.stringify(CHAT);
		const req = (c) => `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${c.token}\r\n` +
			`Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
		try {
			const k = await exchange(sock, req(carol));
			assert.equal(k.status, 200, k.body);
			assert.doesNotMatch(k.head, /\r\nconnection: close/i);
			await reloadClients(d, [alice, alice2, bob], { oldGone: false });
			// The same connection, so the same worker: the generation
			// that is being replaced (it serves an idle connection's next
			// request during its drain), which took the new policy at once.
			const r = await exchange(sock, req(carol));
			assert.equal(r.status, 401, r.body);
		} finally {
			sock.destroy();
		}
	});

	test("a token revoked mid-stream: the open stream finishes, the next request is refused", async () => {
		const s = await openStream(d.url("/v1/chat/completions"), {
			headers: { ...bearer(alice2), "Content-Type": "application/json", "X-Sim-Stream-Chunks": "8", "X-Sim-Chunk-Interval-Ms": "150" },
			body: JSON.stringify({ model: "m", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "long answer" }] }),
		});
		assert.equal(s.status, 200);
		const done = readAll(s.res, { timeoutMs: 20000 });
		await reloadClients(d, [alice, bob], { oldGone: false });	// alice2's is gone
		const next = await d.post("/v1/chat/completions", CHAT, { headers: bearer(alice2) });
		assert.equal(next.status, 401, "the next request is refused");
		const all = await done;
		assert.ok(all.ended, `the stream ended properly: ${all.error?.message}`);
		const evs = parseSse(all.text);
		assert.equal(evs.at(-1).data, "[DONE]");
		const text = evs.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data).choices[0]?.delta?.content ?? "").join("");
		assert.equal(text, "Echo: long answer");
		assert.equal((await d.post("/v1/chat/completions", CHAT, { headers: bearer(alice) })).status, 200, "the other token of the client still works");
	});

	test("keyd never gets a client token: the bytes keyd reads from its worker (strace) carry the request without it", async () => {
		const out = path.join(d.dir, "keyd.strace");
		await waitFor("one keyd (the previous generation gone)", () => d.children("keyd").length === 1, { timeoutMs: 15000 });
		// fd 4 is keyd's channel to its worker (common/ipc.h).
		const st = spawn("strace", ["-p", String(d.children("keyd")[0]), "-e", "trace=read,recvmsg", "-e", "read=4", "-o", out],
			{ stdio: ["ignore", "ignore", "pipe"] });
		let err = "";
		st.stderr.on("data", (x) => { err += x; });
		try {
			await waitFor("strace attached", () => /attached/.test(err), { timeoutMs: 5000 });
			for (const [h, v] of [["Authorization", `Bearer ${alice.token}`], ["x-api-key", alice.token]]) {
				const r = await d.post("/v1/chat/completions", CHAT, { headers: { [h]: v, "X-Marker": "forwarded-marker-7f3a" } });
				assert.equal(r.status, 200, r.text);
			}
		} finally {
			st.kill("SIGINT");
			await new Promise((r) => st.once("exit", r));
		}
		const bytes = [];
		for (const l of fs.readFileSync(out, "utf8").split("\n")) {
			const m = /^ \| [0-9a-f]{5}  (.{49})/.exec(l);
			if (m) for (const h of m[1].match(/[0-9a-f]{2}/g) ?? []) bytes.push(parseInt(h, 16));
		}
		const seen = Buffer.from(bytes);
		assert.ok(seen.includes("forwarded-marker-7f3a"), `the capture holds the requests (${seen.length} bytes)`);
		assert.ok(!seen.includes(alice.token), "a client token reached keyd");
		assert.ok(!/\bauthorization\b|x-api-key/i.test(seen.toString("latin1")), "no Authorization or x-api-key header reached keyd");
	});

	test("no token bytes in any log, dump, metric or upstream request", async () => {
		const text = [
			d.log(),
			readTree(path.join(d.ws, "requests")),
			JSON.stringify(await sim.requests()),
			await metricsText(d),
		].join("\n");
		assert.ok(readTree(path.join(d.ws, "requests")).includes("Authorization: [client token]"), "dumps say where a token was");
		for (const c of [alice, alice2, bob, carol, wrong]) {
			assert.ok(!text.includes(c.token), `${c.name}'s token leaked`);
			assert.ok(!text.includes(c.token.slice(4, 24)), `part of ${c.name}'s token leaked`);
		}
		assert.ok(!d.log().includes(sim.info.api_key), "no API key in the log");
		// A clear token never reaches keyd nor the parent (it reads hashes).
		const needles = [alice, alice2, bob, carol, wrong].map((c) => Buffer.from(c.token));
		for (const pid of [d.pid, ...d.children("keyd")]) {
			const { counts } = scanMemory(pid, needles);
			assert.deepEqual(counts, [0, 0, 0, 0, 0], `a client token in the memory of pid ${pid}`);
		}
	});
});

// --- usage ------------------------------------------------------------------------

test("usage per client and model: requests and tokens (OpenAI and Anthropic, unary and streamed) match the simulator's counts, in the access log and the metrics; a reload keeps them", async (t) => {
	const ann = newToken("ann"), ben = newToken("ben");
	const d = await tokenDaemon(t, [ann, ben]);
	const want = new Map();	// "client|model" -> [requests, prompt, completion]
	const add = (client, model, p, c) => {
		const k = `${client}|${model}`;
		const v = want.get(k) ?? [0, 0, 0];
		want.set(k, [v[0] + 1, v[1] + p, v[2] + c]);
	};
	const oa = new OpenAI({ baseURL: d.base + "/v1", apiKey: ann.token, maxRetries: 0 });
	const u1 = await oa.chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "user", content: "count my tokens please" }] });
	add("ann", "gpt-oss-120b", u1.usage.prompt_tokens, u1.usage.completion_tokens);
	let last;
	for await (const ch of await oa.chat.completions.create({ model: "gpt-oss-120b", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "and these streamed ones" }] }))
		if (ch.usage) last = ch.usage;
	add("ann", "gpt-oss-120b", last.prompt_tokens, last.completion_tokens);
	const e = await oa.embeddings.create({ model: "qwen3-embedding-4b", input: ["one", "two three"], encoding_format: "float" });
	add("ann", "qwen3-embedding-4b", e.usage.prompt_tokens, 0);
	const c = await oa.completions.create({ model: "gpt-oss-120b", prompt: "legacy", max_tokens: 8 });
	add("ann", "gpt-oss-120b", c.usage.prompt_tokens, c.usage.completion_tokens);
	for await (const m of oa.models.list()) void m;
	add("ann", "-", 0, 0);
	// A multipart form: the model from its field; usage in seconds, no tokens.
	await oa.audio.transcriptions.create({ file: await toFile(Buffer.from("some audio"), "a.mp3", { type: "audio/mpeg" }), model: "whisper-large-v3" });
	add("ann", "whisper-large-v3", 0, 0);
	const an = new Anthropic({ baseURL: d.base, apiKey: ben.token, maxRetries: 0 });
	const m1 = await an.messages.create({ model: "claude-x", max_tokens: 64, system: "be brief", messages: [{ role: "user", content: "anthropic unary" }] });
	add("ben", "claude-x", m1.usage.input_tokens, m1.usage.output_tokens);
	const fin = await new Anthropic0({ baseURL: d.base, apiKey: ben.token, maxRetries: 0 }).messages
		.stream({ model: "claude-x", max_tokens: 64, messages: [{ role: "user", content: "anthropic streamed with more words" }] }).finalMessage();
	add("ben", "claude-x", fin.usage.input_tokens, fin.usage.output_tokens);
	assert.ok(fin.usage.output_tokens > 1 && fin.usage.input_tokens > 1, JSON.stringify(fin.usage));

	const check = async (what) => {
		const text = await metricsText(d);
		for (const [k, [n, p, cpl]] of want) {
			const [client, model] = k.split("|");
			assert.equal(metric(text, "privatemode_client_requests_total", { client, model }), n, `${what}: requests ${k}`);
			assert.equal(metric(text, "privatemode_client_tokens_total", { client, model, kind: "prompt" }), p, `${what}: prompt ${k}`);
			assert.equal(metric(text, "privatemode_client_tokens_total", { client, model, kind: "completion" }), cpl, `${what}: completion ${k}`);
		}
		assert.equal(text.match(/^privatemode_client_requests_total\{/gm).length, want.size, `${what}: no other rows`);
		return text;
	};
	const text = await check("after the requests");
	assert.ok(!/count my tokens|streamed ones|Echo/.test(text), "no content in the metrics");
	// The access log line of each request.
	assert.match(d.log(), new RegExp(`client=ann model=gpt-oss-120b prompt_tokens=${u1.usage.prompt_tokens} completion_tokens=${u1.usage.completion_tokens}`));
	assert.match(d.log(), new RegExp(`client=ben model=claude-x prompt_tokens=${fin.usage.input_tokens} completion_tokens=${fin.usage.output_tokens}`));
	assert.ok(!/count my tokens/.test(d.log().split("\n").filter((l) => /client=/.test(l)).join("\n")));

	// A reload (new workers) keeps the totals; they grow from there.
	const oldWorker = d.children("worker")[0];
	process.kill(d.pid, "SIGHUP");
	await d.waitLog(/configuration reloaded/, 15000);
	await waitFor("the old generation gone", () => d.children("worker").length === 1 && d.children("worker")[0] !== oldWorker, { timeoutMs: 15000 });
	await check("after a reload");
	const u2 = await oa.chat.completions.create({ model: "gpt-oss-120b", messages: [{ role: "user", content: "one more" }] });
	add("ann", "gpt-oss-120b", u2.usage.prompt_tokens, u2.usage.completion_tokens);
	await check("after one more");
});

test("usage without client_auth counts under client \"-\"; a model name that is no label counts as (other)", async (t) => {
	const d = await daemonFor(t, {});
	const oa = new OpenAI({ baseURL: d.base + "/v1", apiKey: "dummy_key", maxRetries: 0 });
	const r = await oa.chat.completions.create({ model: "m1", messages: [{ role: "user", content: "x" }] });
	await oa.chat.completions.create({ model: "bad\"model name", messages: [{ role: "user", content: "y" }] });
	const text = await metricsText(d);
	assert.equal(metric(text, "privatemode_client_requests_total", { client: "-", model: "m1" }), 1);
	assert.equal(metric(text, "privatemode_client_tokens_total", { client: "-", model: "m1", kind: "prompt" }), r.usage.prompt_tokens);
	assert.equal(metric(text, "privatemode_client_requests_total", { client: "-", model: "(other)" }), 1);
	assert.doesNotMatch(text, /bad.model/);
});

// --- limits -----------------------------------------------------------------------

const RL = (e, code) => {
	assert.equal(e.status, 429, `${e.constructor.name}: ${e.message}`);
	const h = e.headers;
	const ra = Number(typeof h?.get === "function" ? h.get("retry-after") : h?.["retry-after"]);
	assert.ok(ra >= 1 && ra <= 2, `Retry-After ${ra}`);
	if (code)
		assert.equal(e.error?.code ?? e.code, code);
	else
		assert.equal(e.error?.error?.type, "rate_limit_error", "Anthropic's shape");
	return true;
};

// The simulator saw the request of `content` after `retries` SDK retries.
async function sawRetried(content, retries) {
	const rec = (await sim.requests("inference")).findLast((r) => r.decrypted?.body?.includes(content));
	assert.ok(rec, `${content} reached the deployment`);
	assert.equal(rec.headers["x-stainless-retry-count"], String(retries), `${content}: the SDK retried ${retries} time(s)`);
}

describe("per-client limits (rate=1/2s, streams=1, client_rate_limit 1/2s for clients without their own)", () => {
	let d;
	const slow = newToken("slow", "rate=1/2s"), slowA = newToken("slowA", "rate=1/2s"), slowB = newToken("slowB", "rate=1/2s");
	const one = newToken("one", "streams=1 rate=none"), dflt = newToken("dflt"), free = newToken("free", "rate=none");
	before(async () => {
		const dir = mkTemp("pm-e2e-");
		const file = writeClients(dir, [slow, slowA, slowB, one, dflt, free]);
		d = await startDaemon(sim, { dir, over: { client_auth: "tokens", client_tokens: file, client_rate_limit: "1/2s" } });
	});
	after(async () => { await d?.stop(); });

	test("openai: over the rate a RateLimitError with Retry-After; with maxRetries 1 the SDK waits it out and succeeds", async () => {
		const c0 = new OpenAI({ baseURL: d.base + "/v1", apiKey: slow.token, maxRetries: 0 });
		await c0.chat.completions.create(CHAT);
		await assert.rejects(c0.chat.completions.create(CHAT), (e) => e instanceof OpenAI.RateLimitError && RL(e, "rate_limit_exceeded"));
		const c1 = new OpenAI({ baseURL: d.base + "/v1", apiKey: slow.token, maxRetries: 1 });
		const r = await c1.chat.completions.create({ model: "m", messages: [{ role: "user", content: "openai after a 429" }] });
		assert.equal(r.choices[0].message.content, "Echo: openai after a 429");
		await sawRetried("openai after a 429", 1);
	});

	for (const [name, Cls, tok] of [["@anthropic-ai/sdk 1.x", Anthropic, slowA], ["@anthropic-ai/sdk 0.x", Anthropic0, slowB]]) {
		test(`${name}: over the rate a RateLimitError (rate_limit_error); with maxRetries 1 it waits out Retry-After and succeeds`, async () => {
			const msg = (content) => ({ model: "claude-x", max_tokens: 16, messages: [{ role: "user", content }] });
			const c0 = new Cls({ baseURL: d.base, apiKey: tok.token, maxRetries: 0 });
			await c0.messages.create(msg("first"));
			await assert.rejects(c0.messages.create(msg("second")), (e) => e instanceof Cls.RateLimitError && RL(e));
			const c1 = new Cls({ baseURL: d.base, apiKey: tok.token, maxRetries: 1 });
			const m = await c1.messages.create(msg(`${name} after a 429`));
			assert.equal(m.content[0].text, `Echo: ${name} after a 429`);
			await sawRetried(`${name} after a 429`, 1);
		});
	}

	test("client_rate_limit holds for a client without rate=; rate=none lifts it", async () => {
		assert.equal((await d.post("/v1/chat/completions", CHAT, { headers: bearer(dflt) })).status, 200);
		const r = await d.post("/v1/chat/completions", CHAT, { headers: bearer(dflt) });
		assert.equal(r.status, 429, r.text);
		assert.equal(r.json().error.type, "rate_limit_error");
		assert.match(r.json().error.message, /client dflt/);
		for (let i = 0; i < 4; i++)
			assert.equal((await d.post("/v1/chat/completions", CHAT, { headers: bearer(free) })).status, 200);
	});

	test("streams=1: a second request while one streams gets 429 too_many_streams; once it ended the next goes", async () => {
		const s = await openStream(d.url("/v1/chat/completions"), {
			headers: { ...bearer(one), "Content-Type": "application/json", "X-Sim-Chunk-Interval-Ms": "100" },
			body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hold a slot" }] }),
		});
		assert.equal(s.status, 200);
		const r = await d.post("/v1/chat/completions", CHAT, { headers: bearer(one) });
		assert.equal(r.status, 429, r.text);
		assert.equal(r.json().error.code, "too_many_streams");
		assert.equal(r.headers["retry-after"], "1");
		const a = await d.post("/v1/messages", { model: "c", max_tokens: 5, messages: [{ role: "user", content: "x" }] }, { headers: { "x-api-key": one.token } });
		assert.equal(a.status, 429);
		assert.equal(a.json().error.type, "rate_limit_error", "Anthropic's shape");
		assert.ok((await readAll(s.res)).ended);
		assert.equal((await d.post("/v1/chat/completions", CHAT, { headers: bearer(one) })).status, 200);
	});

	test("the refusals are counted", async () => {
		const text = await metricsText(d);
		assert.ok(metric(text, "privatemode_limit_refusals_total", { limit: "client_rate_limit" }) >= 4);
		assert.ok(metric(text, "privatemode_limit_refusals_total", { limit: "client_max_streams" }) >= 2);
		assert.ok(metric(text, "privatemode_http_requests_total", { route: "chat_completions", code: "429" }) >= 3);
	});
});

describe("per-address limits (client_auth off)", () => {
	test("address_rate_limit 1/2s: both SDKs get a RateLimitError, then honour Retry-After and succeed", async (t) => {
		const d = await daemonFor(t, { over: { address_rate_limit: "1/2s" } });
		const oa = (n) => new OpenAI({ baseURL: d.base + "/v1", apiKey: "dummy_key", maxRetries: n });
		await oa(0).chat.completions.create(CHAT);
		await assert.rejects(oa(0).chat.completions.create(CHAT), (e) => e instanceof OpenAI.RateLimitError && RL(e, "rate_limit_exceeded") &&
			/from this address/.test(e.message));
		const r = await oa(1).chat.completions.create({ model: "m", messages: [{ role: "user", content: "address openai" }] });
		assert.equal(r.choices[0].message.content, "Echo: address openai");
		await sawRetried("address openai", 1);
		for (const [name, Cls] of [["anthropic 1.x", Anthropic], ["anthropic 0.x", Anthropic0]]) {
			const msg = (content) => ({ model: "claude-x", max_tokens: 16, messages: [{ role: "user", content }] });
			await assert.rejects(new Cls({ baseURL: d.base, apiKey: "k", maxRetries: 0 }).messages.create(msg("refused")),
				(e) => e instanceof Cls.RateLimitError && RL(e));
			const m = await new Cls({ baseURL: d.base, apiKey: "k", maxRetries: 1 }).messages.create(msg(`address ${name}`));
			assert.equal(m.content[0].text, `Echo: address ${name}`);
			await sawRetried(`address ${name}`, 1);
		}
		const text = await metricsText(d);
		assert.ok(metric(text, "privatemode_limit_refusals_total", { limit: "address_rate_limit" }) >= 5);
		assert.equal((await d.get("/healthz")).status, 200, "health checks are not limited");
	});

	test("address_max_streams 1: a second request from the address while one streams gets 429", async (t) => {
		const d = await daemonFor(t, { over: { address_max_streams: "1" } });
		const s = await openStream(d.url("/v1/chat/completions"), {
			headers: { "Content-Type": "application/json", "X-Sim-Chunk-Interval-Ms": "100" },
			body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hold" }] }),
		});
		assert.equal(s.status, 200);
		const r = await d.post("/v1/chat/completions", CHAT);
		assert.equal(r.status, 429, r.text);
		assert.equal(r.json().error.code, "too_many_streams");
		assert.match(r.json().error.message, /from this address/);
		assert.ok((await readAll(s.res)).ended);
		assert.equal((await d.post("/v1/chat/completions", CHAT)).status, 200);
		assert.ok(metric(await metricsText(d), "privatemode_limit_refusals_total", { limit: "address_max_streams" }) >= 1);
	});
});

// --- client TLS renewed on disk ------------------------------------------------------

function mkcert(dir, name) {
	const crt = path.join(dir, `${name}.crt`), key = path.join(dir, `${name}.key`);
	execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", key, "-out", crt, "-days", "2", "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
	fs.chmodSync(key, 0o600);
	return { crt, key, pem: fs.readFileSync(crt) };
}

// The subject CN a new connection is served.
function peerCN(port) {
	return new Promise((resolve, reject) => {
		const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] }, () => {
			const cn = s.getPeerCertificate().subject?.CN;
			s.end();
			resolve(cn);
		});
		s.on("error", reject);
		s.setTimeout(30000, () => { s.destroy(); reject(new Error("TLS handshake timed out")); }); // a hang only: keyd signs for the handshake
	});
}

test("tls_cert/tls_key renewed on disk: new connections get the new certificate without a reload; a pair that does not match is not taken", async (t) => {
	const dir = mkTemp("pm-e2e-");
	const a = mkcert(dir, "first"), b = mkcert(dir, "second"), c = mkcert(dir, "third");
	const crt = path.join(dir, "tls.crt"), key = path.join(dir, "tls.key");
	const put = (src, dst) => { fs.copyFileSync(src, `${dst}.new`); fs.renameSync(`${dst}.new`, dst); };
	put(a.crt, crt);
	put(a.key, key);
	const d = await daemonFor(t, { dir, ca: a.pem, over: { tls_cert: crt, tls_key: key } });
	const workers = d.children("worker");
	assert.equal(await peerCN(d.port), "first");
	const kept = await new Promise((resolve, reject) => {
		const s = tls.connect({ host: "127.0.0.1", port: d.port, ca: a.pem }, () => resolve(s));
		s.on("error", reject);
	});
	t.after(() => kept.destroy());

	// A certificate without its key (a renewal half written): not taken.
	put(c.crt, crt);
	await d.waitLog(/changed but they are not a usable pair/, 15000);
	assert.equal(await peerCN(d.port), "first");

	// The whole pair: taken for new connections.
	put(b.key, key);
	put(b.crt, crt);
	await d.waitLog(/TLS certificate \S+ renewed: new connections get it/, 15000);
	await waitFor("a connection with the new certificate", async () => (await peerCN(d.port)) === "second", { timeoutMs: 10000 });
	const r = await request(d.url("/v1/chat/completions"), { method: "POST", ca: b.pem, headers: { "Content-Type": "application/json" }, body: JSON.stringify(CHAT) });
	assert.equal(r.status, 200, r.text);
	// The connection from before still works, on its old session.
	kept.write("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	const old = await new Promise((resolve) => { let s = ""; kept.on("data", (x) => { s += x; }); kept.on("end", () => resolve(s)); });
	assert.match(old, /^HTTP\/1\.1 200/);
	assert.equal(d.countLog(/SIGHUP/), 0, "no reload");
	assert.deepEqual(d.children("worker"), workers, "the same workers");
});
