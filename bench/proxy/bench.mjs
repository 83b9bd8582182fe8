// make bench-proxy: privatemoded next to nginx (plain reverse proxy, no
// encryption) in front of the same simulator; see bench/README.md.
//
//   node bench/proxy/bench.mjs TOP_SRCDIR DAEMON_BINARY
//
// Environment: BENCH_SECONDS (CPU phases, default 5), BENCH_REPEAT
// (repetitions of the CPU phases, default 3), BENCH_PHASES (default
// "plain,rate,stream,paced,lat,ttft,idle"), BENCH_RATE_DELAY_MS (8),
// BENCH_PACED_MS (20), BENCH_PACED_CHUNKS (50), BENCH_PACED_CONNS (64),
// BENCH_LAT_SECONDS
// (latency phases, default 4), BENCH_CONNS (wrk connections, default 16),
// BENCH_STREAM_CHUNKS (content chunks per streamed answer, default 100),
// BENCH_TTFT_N (streams per target for TTFT, default 200),
// BENCH_IDLE ("1,100,1000"), BENCH_IDLE_HOLD_MS (how long the idle streams
// stay open before the memory is read, default 1000; longer to inspect the
// processes by hand), BENCH_NGINX (nginx binary), BENCH_WRK.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { ClientCipher } from "../../tests/sim/test/client.mjs";
import { PLAIN } from "../../tests/sim/lib/inference.mjs";
import {
	sleep, startSim, startDaemon, waitReady, daemonConf, ensureUser, tempDir, track, stopProc,
	cpuSnap, cpuDelta, memKb, freePort, waitFor, httpGet, pct, tree, role,
} from "../lib/common.mjs";

const [top, daemonBin] = process.argv.slice(2);
if (!top || !daemonBin) { console.error("usage: bench.mjs TOP_SRCDIR DAEMON"); process.exit(2); }
const env = process.env;
const SECS = Number(env.BENCH_SECONDS ?? 5);
const LAT_SECS = Number(env.BENCH_LAT_SECONDS ?? 4);
const CONNS = Number(env.BENCH_CONNS ?? 16);
const CHUNKS = Number(env.BENCH_STREAM_CHUNKS ?? 100);
const TTFT_N = Number(env.BENCH_TTFT_N ?? 200);
const IDLE = (env.BENCH_IDLE ?? "1,100,1000").split(",").map(Number);
const IDLE_HOLD_MS = Number(env.BENCH_IDLE_HOLD_MS ?? 1000); // longer: time to inspect
const NGINX = env.BENCH_NGINX ?? "nginx";
const WRK = env.BENCH_WRK ?? "wrk";
const RATE_DELAY_MS = Number(env.BENCH_RATE_DELAY_MS ?? 8);
const PACED_MS = Number(env.BENCH_PACED_MS ?? 20);
const PACED_CHUNKS = Number(env.BENCH_PACED_CHUNKS ?? 50);
const PACED_CONNS = Number(env.BENCH_PACED_CONNS ?? 64);
const REPEAT = Number(env.BENCH_REPEAT ?? 3);
const PHASES = new Set((env.BENCH_PHASES ?? "plain,rate,stream,paced,lat,ttft,idle").split(","));
const log = (m) => process.stderr.write(`bench-proxy: ${m}\n`);

const dir = tempDir("bench-proxy-");
ensureUser();

// --- the request mix ---------------------------------------------------------

// A ~2 KB chat request: a system prompt and a user turn.  cache_salt is
// sent by the client so that the plain path through nginx passes the
// simulator's cache_salt check too (the daemon accepts and encrypts it).
const filler = (n, seed) => {
	const words = ["privacy", "encrypted", "inference", "attested", "model", "prompt", "token", "stream", "proxy", "secret"];
	let s = "", i = seed;
	while (s.length < n) { s += words[i % words.length] + " "; i = (i * 7 + 3) % 101; }
	return s.slice(0, n);
};
function chatBody(stream) {
	const o = {
		model: "gpt-oss-120b",
		cache_salt: "bench-cache-salt-0123456789abcdef0123456789",
		max_tokens: 256,
		messages: [
			{ role: "system", content: "You are a helpful assistant. " + filler(560, 1) },
			{ role: "user", content: filler(1150, 2) },
		],
	};
	if (stream) o.stream = true;
	return JSON.stringify(o);
}
const bodyPlain = chatBody(false), bodyStream = chatBody(true);
fs.writeFileSync(path.join(dir, "plain.json"), bodyPlain);
fs.writeFileSync(path.join(dir, "stream.json"), bodyStream);
log(`request body ${Buffer.byteLength(bodyPlain)} B (non-streaming), ${Buffer.byteLength(bodyStream)} B (streaming)`);

// --- processes -----------------------------------------------------------------

log("starting the simulator (--plain, --max-records 0)");
const sim = await startSim(top, ["--plain"]);
const AUTH = `Bearer ${sim.info.api_key}`;
const simCa = fs.readFileSync(sim.info.ca_file);

log("starting privatemoded (2 workers)");
const ours = await startDaemon(daemonBin, dir, daemonConf(sim, dir, { max_connections: 4096, max_connections_per_address: 0 }));
await waitReady(ours);

log("starting nginx (worker_processes 2)");
const ngPort = await freePort();
fs.mkdirSync(path.join(dir, "nginx", "logs"), { recursive: true });
fs.writeFileSync(path.join(dir, "nginx", "nginx.conf"), `# bench/proxy: plain reverse proxy, same upstream as privatemoded
worker_processes 2;
worker_rlimit_nofile 16384;
pid ${dir}/nginx/nginx.pid;
error_log ${dir}/nginx/logs/error.log warn;
events { worker_connections 8192; }
http {
	# privatemoded logs one line per request at level info, so does this.
	access_log ${dir}/nginx/logs/access.log;
	client_body_temp_path ${dir}/nginx/tmp-body;
	proxy_temp_path ${dir}/nginx/tmp-proxy;
	fastcgi_temp_path ${dir}/nginx/tmp-fcgi;
	uwsgi_temp_path ${dir}/nginx/tmp-uwsgi;
	scgi_temp_path ${dir}/nginx/tmp-scgi;
	keepalive_requests 1000000;
	upstream sim {
		server ${sim.info.api_endpoint};
		keepalive 1024;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:${ngPort} backlog=4096;
		location = /nginx-health { return 200 "ok\\n"; }
		location / {
			proxy_pass https://sim;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Authorization "${AUTH}";
			# TLS to the simulator, verified like privatemoded does.
			proxy_ssl_verify on;
			proxy_ssl_trusted_certificate ${sim.info.ca_file};
			proxy_ssl_name localhost;
			proxy_ssl_server_name on;
			proxy_ssl_session_reuse on;
			# SSE must flow event by event.
			proxy_buffering off;
			proxy_read_timeout 600s;
		}
	}
}
`);
const ngProc = spawn(NGINX, ["-p", path.join(dir, "nginx"), "-c", path.join(dir, "nginx", "nginx.conf"), "-g", "daemon off;"],
	{ stdio: ["ignore", "ignore", "pipe"] });
track(ngProc.pid);
let ngErr = "";
ngProc.stderr.on("data", (d) => { ngErr += d; });
await waitFor("nginx listening", async () => (await httpGet(`http://127.0.0.1:${ngPort}/nginx-health`)).status === 200, 10000)
	.catch((e) => { throw new Error(`${e.message}: ${ngErr}`); });
await waitFor("nginx workers", () => tree(ngProc.pid).length >= 3, 5000);

function simGet(p) {
	return new Promise((resolve, reject) => {
		https.get(sim.info.base_url + p, { ca: simCa, agent: false }, (res) => {
			const c = [];
			res.on("data", (d) => c.push(d));
			res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(c).toString() }));
		}).on("error", reject);
	});
}
const targets = {
	ours: { name: "privatemoded", url: `http://127.0.0.1:${ours.port}`, root: ours.pid, headers: {}, roleOf: (p) => role(p) ?? "gone" },
	nginx: { name: "nginx", url: `http://127.0.0.1:${ngPort}`, root: ngProc.pid, headers: {}, roleOf: (p) => (p === ngProc.pid ? "master" : "worker") },
	direct: { name: "direct (sim)", url: sim.info.base_url, root: null, headers: { Authorization: AUTH } },
};
// The same request encrypted by this client with the daemon's own secret
// (read from the simulator's control API), straight to the simulator: the
// simulator then does the same decryption and encryption work as for
// privatemoded, so ours - direct(encrypted) is the latency privatemoded adds.
{
	const secrets = JSON.parse((await simGet("/__sim/secrets")).text);
	const s0 = secrets[0];
	const enc = (b) => new ClientCipher(Buffer.from(s0.secret, "hex"), s0.id).encryptJson(b, PLAIN.chatReq);
	fs.writeFileSync(path.join(dir, "plain-enc.json"), enc(bodyPlain));
	fs.writeFileSync(path.join(dir, "stream-enc.json"), enc(bodyStream));
	targets.directEnc = { name: "direct (sim, encrypted)", url: sim.info.base_url, root: null,
		headers: { Authorization: AUTH, "Privatemode-Secret-ID": s0.id }, enc: true };
}
log(`privatemoded pids ${tree(ours.pid).map((p) => `${p}(${role(p)})`).join(" ")}`);
log(`nginx pids ${tree(ngProc.pid).join(" ")}`);

// --- one request (validation, TTFT) ----------------------------------------------

function oneRequest(t, body, { extraHeaders = {}, agent } = {}) {
	const u = new URL(t.url + "/v1/chat/completions");
	const mod = u.protocol === "https:" ? https : http;
	return new Promise((resolve, reject) => {
		const t0 = process.hrtime.bigint();
		let tFirst = null;
		const req = mod.request({
			method: "POST", host: u.hostname, port: u.port, path: u.pathname, agent,
			ca: u.protocol === "https:" ? simCa : undefined,
			headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), ...t.headers, ...extraHeaders },
		}, (res) => {
			const c = [];
			res.on("data", (d) => { if (tFirst === null) tFirst = process.hrtime.bigint(); c.push(d); });
			res.on("end", () => {
				const tEnd = process.hrtime.bigint();
				resolve({ status: res.statusCode, text: Buffer.concat(c).toString(), ttftUs: Number(tFirst - t0) / 1e3, totalUs: Number(tEnd - t0) / 1e3 });
			});
			res.on("error", reject);
		});
		req.setTimeout(30000, () => req.destroy(new Error("timeout")));
		req.on("error", reject);
		req.end(body);
	});
}

const streamHdr = { "X-Sim-Stream-Chunks": String(CHUNKS), "X-Sim-Chunk-Interval-Ms": "0" };
const eventsPer = {};
for (const k of ["ours", "nginx", "direct"]) {
	const t = targets[k];
	const a = await oneRequest(t, bodyPlain);
	if (a.status !== 200 || !a.text.includes("Echo: ")) throw new Error(`${t.name}: non-streaming check failed: ${a.status} ${a.text.slice(0, 300)}`);
	const b = await oneRequest(t, bodyStream, { extraHeaders: streamHdr });
	const ev = b.text.split("\n\n").filter((x) => x.startsWith("data: ")).length;
	if (b.status !== 200 || !b.text.includes("data: [DONE]")) throw new Error(`${t.name}: streaming check failed: ${b.status} ${b.text.slice(0, 300)}`);
	eventsPer[k] = ev;
}
log(`SSE events per streamed answer: ours ${eventsPer.ours}, nginx ${eventsPer.nginx}, direct ${eventsPer.direct} (${CHUNKS} content chunks)`);
if (eventsPer.ours !== eventsPer.nginx) throw new Error("the proxies relay a different number of events");

// --- wrk phases ----------------------------------------------------------------------

function wrk(t, { bodyFile, headers = {}, conns, secs, delayMs = 0 }) {
	const h = { ...t.headers, ...headers };
	const r = spawnSync(WRK, ["-t1", `-c${conns}`, `-d${secs}s`, "--timeout", "30s", "-s", path.join(top, "bench/proxy/post.lua"),
		t.url + "/v1/chat/completions"], {
		env: { ...env, BENCH_BODY: bodyFile, BENCH_DELAY_MS: String(delayMs), BENCH_HEADERS: Object.entries(h).map(([k, v]) => `${k}: ${v}`).join("\n") },
		encoding: "utf8", timeout: (secs + 60) * 1000,
	});
	const line = (r.stdout ?? "").split("\n").find((l) => l.startsWith("{"));
	if (!line) throw new Error(`wrk failed: ${r.stderr} ${r.stdout}`);
	const j = JSON.parse(line);
	j.errors = j.err_connect + j.err_read + j.err_write + j.err_status + j.err_timeout;
	return j;
}

// CPU phase: warm-up, then wrk for SECS with CPU snapshots of the proxy's
// process tree around it.
function cpuPhase(t, opts) {
	wrk(t, { ...opts, secs: 1 }); // warm-up: upstream connections, secret
	const a = cpuSnap(t.root);
	const w = wrk(t, { ...opts, secs: SECS });
	const b = cpuSnap(t.root);
	// Per role (privatemoded: parent, worker, keyd; nginx: parent = master).
	const byRole = {};
	for (const [p, c] of b) {
		const r = t.roleOf(p);
		byRole[r] = (byRole[r] ?? 0) + c - (a.get(p) ?? 0);
	}
	return { ...w, cpuUs: cpuDelta(a, b), procs: b.size, byRole };
}

const res = { ours: {}, nginx: {}, direct: {}, directEnc: {} };
// The CPU phases.  "plain" and "stream" run as fast as each proxy goes;
// but CPU per request depends on how busy a process is (a busy worker
// finds several events per epoll_wait, an idle one pays a wake-up for
// each), and the simulator serves nginx's plain requests about four times
// faster than encrypted ones, so those two compare the proxies at
// different loads.  "rate" offers both the same load: every wrk connection
// pauses RATE_DELAY_MS before each request (the table shows the rate each
// got).  "paced" is what a model produces: one token event every
// PACED_MS, each waking the proxy on its own.
//
// This machine's speed drifts by up to 2x within minutes (other guests),
// so each phase runs REPEAT times, the two proxies back to back each time;
// the table gives the median CPU and the median (and range) of the
// per-repetition ratios, each taken between two runs seconds apart.
const pacedHdr = { "X-Sim-Stream-Chunks": String(PACED_CHUNKS), "X-Sim-Chunk-Interval-Ms": String(PACED_MS) };
const pacedEvents = eventsPer.ours - CHUNKS + PACED_CHUNKS;	/* same framing */
const cpuPhases = [
	{ key: "plain", what: "non-streaming, as fast as it goes", unit: "requests", per: () => 1,
		opts: { bodyFile: path.join(dir, "plain.json"), conns: CONNS } },
	{ key: "rate", what: `non-streaming, ${RATE_DELAY_MS} ms pause per connection`, unit: "requests", per: () => 1,
		opts: { bodyFile: path.join(dir, "plain.json"), conns: CONNS, delayMs: RATE_DELAY_MS } },
	{ key: "stream", what: "streaming, back to back", unit: "streams", per: (k) => eventsPer[k],
		opts: { bodyFile: path.join(dir, "stream.json"), headers: streamHdr, conns: CONNS } },
	{ key: "paced", what: `streaming, one event per ${PACED_MS} ms, ${PACED_CONNS} streams`, unit: "streams", per: () => pacedEvents,
		opts: { bodyFile: path.join(dir, "stream.json"), headers: pacedHdr, conns: PACED_CONNS } },
].filter((ph) => PHASES.has(ph.key));
for (const ph of cpuPhases)
	for (const k of ["ours", "nginx"]) res[k][ph.key] = [];
for (let rep = 1; rep <= REPEAT; rep++) {
	for (const ph of cpuPhases) {
		for (const k of ["ours", "nginx"]) {
			log(`${targets[k].name}: CPU phase ${ph.key} (${ph.what}), ${SECS} s, repetition ${rep}/${REPEAT}`);
			const r = cpuPhase(targets[k], ph.opts);
			r.units = r.requests * ph.per(k);
			res[k][ph.key].push(r);
			log(`  ${r.requests} ${ph.unit}, ${r.errors} errors, ${(r.cpuUs / 1e6).toFixed(2)} s CPU, ${(r.cpuUs / r.units).toFixed(1)} us per unit`);
		}
	}
}
for (const k of PHASES.has("lat") ? ["direct", "directEnc", "nginx", "ours"] : []) {
	log(`${targets[k].name}: latency phase (1 connection, ${LAT_SECS} s)`);
	const bodyFile = path.join(dir, targets[k].enc ? "plain-enc.json" : "plain.json");
	wrk(targets[k], { bodyFile, conns: 1, secs: 1 });
	res[k].lat = wrk(targets[k], { bodyFile, conns: 1, secs: LAT_SECS });
	if (res[k].lat.errors) throw new Error(`${targets[k].name}: ${res[k].lat.errors} errors in the latency phase`);
	log(`  p50 ${res[k].lat.p50_us} us, p99 ${res[k].lat.p99_us} us (${res[k].lat.requests} requests, ${res[k].lat.errors} errors)`);
}

// --- TTFT: sequential streams, the three targets interleaved ------------------------------

if (PHASES.has("ttft")) {
	log(`TTFT: ${TTFT_N} streams per target, interleaved`);
	const agents = {
		ours: new http.Agent({ keepAlive: true, maxSockets: 1 }),
		nginx: new http.Agent({ keepAlive: true, maxSockets: 1 }),
		direct: new https.Agent({ keepAlive: true, maxSockets: 1, ca: simCa }),
		directEnc: new https.Agent({ keepAlive: true, maxSockets: 1, ca: simCa }),
	};
	const streamEnc = fs.readFileSync(path.join(dir, "stream-enc.json"), "utf8");
	const hdr = { "X-Sim-Stream-Chunks": "4", "X-Sim-Chunk-Interval-Ms": "0" };
	const tt = { ours: [], nginx: [], direct: [], directEnc: [] };
	for (let i = 0; i < TTFT_N + 10; i++) {
		for (const k of ["direct", "directEnc", "nginx", "ours"]) {
			const r = await oneRequest(targets[k], targets[k].enc ? streamEnc : bodyStream, { extraHeaders: hdr, agent: agents[k] });
			if (r.status !== 200) throw new Error(`${k}: TTFT stream ${r.status}`);
			if (i >= 10) tt[k].push(r.ttftUs); // 10 warm-up rounds
		}
	}
	for (const k of Object.keys(tt)) {
		tt[k].sort((a, b) => a - b);
		res[k].ttft = { p50: pct(tt[k], 50), p99: pct(tt[k], 99) };
		agents[k].destroy();
	}
	log(`  p50 direct ${res.direct.ttft.p50.toFixed(0)} us, direct encrypted ${res.directEnc.ttft.p50.toFixed(0)} us, nginx ${res.nginx.ttft.p50.toFixed(0)} us, ours ${res.ours.ttft.p50.toFixed(0)} us`);
}

// --- memory with idle streams ----------------------------------------------------------

// Open n streams whose first event arrives at once and the next after 10
// minutes; wait for every first event; measure; close them all.
async function idleStreams(t, n) {
	const reqs = [];
	let got = 0;
	const firsts = [];
	for (let i = 0; i < n; i++) {
		firsts.push(new Promise((resolve, reject) => {
			const u = new URL(t.url + "/v1/chat/completions");
			const req = http.request({
				method: "POST", host: u.hostname, port: u.port, path: u.pathname, agent: false,
				headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(bodyStream), "X-Sim-Stream-Chunks": "2", "X-Sim-Chunk-Interval-Ms": "600000" },
			}, (res) => {
				if (res.statusCode !== 200) { reject(new Error(`${t.name}: idle stream status ${res.statusCode}`)); return; }
				res.once("data", () => { got++; resolve(); });
				res.on("error", () => {});
			});
			req.on("error", (e) => reject(e));
			req.end(bodyStream);
			reqs.push(req);
		}));
		if (i % 50 === 49) await sleep(5); // do not overflow the listen backlog
	}
	try {
		await Promise.race([Promise.all(firsts), sleep(60000).then(() => { throw new Error(`${t.name}: only ${got}/${n} idle streams got their first event`); })]);
		await sleep(IDLE_HOLD_MS);
		return memKb(t.root, t.roleOf);
	} finally {
		for (const r of reqs) r.destroy();
		await sleep(1500); // the proxy notices and closes the upstream side
	}
}
for (const k of PHASES.has("idle") ? ["ours", "nginx"] : []) {
	res[k].mem = { 0: memKb(targets[k].root, targets[k].roleOf) };
	for (const n of IDLE) {
		log(`${targets[k].name}: ${n} idle stream(s)`);
		res[k].mem[n] = await idleStreams(targets[k], n);
		log(`  Pss ${(res[k].mem[n].pss / 1024).toFixed(1)} MiB, Rss ${(res[k].mem[n].rss / 1024).toFixed(1)} MiB`);
	}
}

// --- stop, then the table ---------------------------------------------------------------

await stopProc(ours.proc);
await stopProc(ngProc);
await stopProc(sim.proc);

const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}x` : "-");
const mark = (ok) => (ok ? "PASS" : "MISS");
const rows = [];
const row = (what, o, n, r, target) => rows.push([what, o, n, r, target]);

const median = (xs) => { const a = [...xs].sort((x, y) => x - y); return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2; };
const sum = (xs, f) => xs.reduce((a, x) => a + f(x), 0);
// Per role: CPU summed over the repetitions / units summed over them.
const split = (runs) => {
	const by = {};
	for (const r of runs) for (const [role, c] of Object.entries(r.byRole)) by[role] = (by[role] ?? 0) + c;
	const units = sum(runs, (r) => r.units);
	return Object.entries(by).sort().map(([role, c]) => `${role} ${f1(c / units)}`).join(", ");
};
const counts = (runs) => `${sum(runs, (r) => r.requests)} (${sum(runs, (r) => r.errors)})`;
const cpuRow = { plain: "CPU us / ~2 KB chat request", rate: "CPU us / request, same offered rate",
	stream: "CPU us / SSE chunk, back to back", paced: `CPU us / SSE chunk, one per ${PACED_MS} ms` };
for (const ph of cpuPhases) {
	const o = res.ours[ph.key], n = res.nginx[ph.key];
	const per = (runs) => median(runs.map((r) => r.cpuUs / r.units));
	const ratios = o.map((r, i) => (r.cpuUs / r.units) / (n[i].cpuUs / n[i].units));
	const mr = median(ratios);
	row(cpuRow[ph.key], f1(per(o)), f1(per(n)), `${mr.toFixed(2)}x`, `<= 2x  ${mark(mr <= 2)}`);
	if (REPEAT > 1)
		row("  ratio per repetition", "", "", "", ratios.map((x) => x.toFixed(2)).join(" "));
	row(`  split by role, CPU us / ${ph.unit === "requests" ? "request" : "chunk"}`, split(o), split(n), "", "");
	row(`  ${ph.unit} measured (errors)`, counts(o), counts(n), "", ph.unit === "streams" ? `${ph.per("ours")} events each` : "");
	if (ph.key === "plain" || ph.key === "rate")
		row("  req/s (median)", f1(median(o.map((r) => r.requests / SECS))), f1(median(n.map((r) => r.requests / SECS))), "",
			ph.key === "plain" ? "sim-bound, info only" : `${CONNS} conns, ${RATE_DELAY_MS} ms pause`);
}
if (res.ours.lat) {
	// Each proxy against the direct request it corresponds to: ours against
	// the encrypted request, nginx against the plain one.
	const addP50O = res.ours.lat.p50_us - res.directEnc.lat.p50_us, addP50N = res.nginx.lat.p50_us - res.direct.lat.p50_us;
	const addP99O = res.ours.lat.p99_us - res.directEnc.lat.p99_us, addP99N = res.nginx.lat.p99_us - res.direct.lat.p99_us;
	row("latency p50 us via proxy", String(res.ours.lat.p50_us), String(res.nginx.lat.p50_us), "", "");
	row("  direct to sim, same request", `${res.directEnc.lat.p50_us} (encrypted)`, `${res.direct.lat.p50_us} (plain)`, "", "");
	row("latency p99 us via proxy", String(res.ours.lat.p99_us), String(res.nginx.lat.p99_us), "", "");
	row("  direct to sim, same request", `${res.directEnc.lat.p99_us} (encrypted)`, `${res.direct.lat.p99_us} (plain)`, "", "");
	row("added latency p50 us", f1(addP50O), f1(addP50N), ratio(addP50O, addP50N), "");
	row("added latency p99 us", f1(addP99O), f1(addP99N), ratio(addP99O, addP99N), "");
}
if (res.ours.ttft) {
	const addTtftO = res.ours.ttft.p50 - res.directEnc.ttft.p50, addTtftN = res.nginx.ttft.p50 - res.direct.ttft.p50;
	row("TTFT p50 us via proxy", f1(res.ours.ttft.p50), f1(res.nginx.ttft.p50), "", "");
	row("  direct to sim, same request", `${f1(res.directEnc.ttft.p50)} (encrypted)`, `${f1(res.direct.ttft.p50)} (plain)`, "", "");
	row("added TTFT p50 us", f1(addTtftO), f1(addTtftN), ratio(addTtftO, addTtftN), `< 1000 us  ${mark(addTtftO < 1000)}`);
}
for (const n of res.ours.mem ? [0, ...IDLE] : []) {
	const o = res.ours.mem[n], g = res.nginx.mem[n];
	const tgt = n === 1000 ? `< 64 MiB  ${mark(o.pss < 64 * 1024)}` : "";
	row(`Pss MiB, ${n} idle stream(s) (Rss)`, `${f1(o.pss / 1024)} (${f1(o.rss / 1024)})`, `${f1(g.pss / 1024)} (${f1(g.rss / 1024)})`, ratio(o.pss, g.pss), tgt);
	if (n === IDLE.at(-1)) {
		const sp = (m) => Object.entries(m.byRole).sort().map(([r, k]) => `${r} ${f1(k / 1024)}`).join(", ");
		row("  Pss MiB by role", sp(o), sp(g), "", "");
	}
}

const head = ["metric", "privatemoded", "nginx", "ratio", "target"];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ").trimEnd();
console.log(`\nbench-proxy: privatemoded (2 workers, encrypting) vs nginx ${spawnSync(NGINX, ["-v"], { encoding: "utf8" }).stderr.trim().replace(/^nginx version: /, "")} (worker_processes 2, plain); upstream: tests/sim over TLS`);
console.log(`CPU = utime+stime from /proc/<pid>/stat of every process of each proxy; ${SECS} s per phase, ${REPEAT} repetition(s), proxies interleaved; ${CONNS} wrk connections; ${CHUNKS} content chunks per stream`);
console.log(line(head));
console.log(w.map((n) => "-".repeat(n)).join("  "));
for (const r of rows) console.log(line(r));
const miss = rows.filter((r) => r[4].includes("MISS")).length;
console.log(miss ? `\n${miss} target(s) MISSED` : "\nall targets PASS");
