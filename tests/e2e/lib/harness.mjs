// End-to-end harness: the real simulator (tests/sim/sim.mjs) and the real
// daemon (build/privatemoded, run as root in the foreground with -d), wired
// together on ephemeral loopback ports.  Every wait has a timeout; every
// process started here is killed by stop(), by the test file's after hook,
// and as a last resort when this process exits.
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { simConfig } from "./simconf.mjs";

export { simConfig };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const TOP_SRC = process.env.PM_TOP_SRCDIR ?? path.resolve(HERE, "..", "..", "..");
export const TOP_BUILD = process.env.PM_TOP_BUILDDIR ?? path.join(TOP_SRC, "build");
export const PM_BIN = process.env.PM_DAEMON ?? path.join(TOP_BUILD, "privatemoded");
export const SIM_JS = path.join(TOP_SRC, "tests", "sim", "sim.mjs");
// One PKI for the whole run (generating it takes ~10 s); e2e.sh makes it.
export const SIM_STATE = process.env.PM_E2E_SIM_STATE ?? path.join(os.tmpdir(), `privatemoded-e2e-sim-${process.getuid?.() ?? 0}`);
// Where temp dirs go; e2e.sh points this at one directory per run.
const TMP_ROOT = process.env.PM_E2E_TMP ?? os.tmpdir();
// e2e.sh kills whatever pid is still listed here when the run ends.
const PID_FILE = process.env.PM_E2E_PIDFILE;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const sha256 = (b) => createHash("sha256").update(b).digest();
export const hmacHex = (key, msg) => createHmac("sha256", key).update(msg).digest("hex");

// --- process bookkeeping ----------------------------------------------------

const live = new Map(); // pid -> {kind, children: bool}

function track(pid, kind) {
	live.set(pid, { kind });
	if (PID_FILE) try { fs.appendFileSync(PID_FILE, `${pid}\n`); } catch { /* best effort */ }
}

function alive(pid) {
	try { process.kill(pid, 0); return true; } catch (e) { return e.code === "EPERM"; }
}

// Children of a pid, from /proc (never by name: other daemons may run).
export function childPids(ppid) {
	const out = [];
	for (const d of fs.readdirSync("/proc")) {
		if (!/^\d+$/.test(d)) continue;
		try {
			const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
			const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
			if (Number(fields[1]) === ppid) out.push(Number(d));
		} catch { /* gone */ }
	}
	return out;
}

export function cmdline(pid) {
	try { return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean); } catch { return null; }
}

function killTree(pid, sig = "SIGKILL") {
	let kids = [];
	try { kids = childPids(pid); } catch { /* /proc unreadable */ }
	try { process.kill(pid, sig); } catch { /* gone */ }
	for (const k of kids) try { process.kill(k, sig); } catch { /* gone */ }
}

const temps = [];
function killAllSync() {
	for (const pid of live.keys()) killTree(pid);
	live.clear();
	if (!process.env.KEEP_TMP) for (const d of temps) try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* busy */ }
}
process.on("exit", killAllSync);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
	process.on(sig, () => { killAllSync(); process.exit(128 + (os.constants.signals[sig] ?? 15)); });
}

export function mkTemp(prefix) {
	const d = fs.mkdtempSync(path.join(TMP_ROOT, prefix));
	// The daemon drops to user privatemode: it must traverse this dir.
	fs.chmodSync(d, 0o755);
	temps.push(d);
	return d;
}

// Wait for an event: fn() truthy.  timeoutMs bounds a hang, nothing else,
// so it is never below PM_E2E_MIN_WAIT_MS (default 30 s): what takes a
// second alone takes many under ASan on a loaded machine, and a test that
// needs an event to be quick asserts that some other way.
const MIN_WAIT_MS = Number(process.env.PM_E2E_MIN_WAIT_MS ?? 30000);
async function waitFor(what, fn, { timeoutMs = 10000, intervalMs = 50 } = {}) {
	timeoutMs = Math.max(timeoutMs, MIN_WAIT_MS);
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		try {
			const v = await fn();
			if (v) return v;
		} catch (e) { last = e; }
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
		await sleep(intervalMs);
	}
}
export { waitFor };

// --- HTTP -------------------------------------------------------------------

// One request on a fresh connection.  Resolves {status, headers, rawHeaders,
// body (Buffer), text, json()}; rejects on a transport error or timeout.
export function request(url, { method = "GET", headers = {}, body, ca, timeoutMs = 15000, signal } = {}) {
	const u = new URL(url);
	const mod = u.protocol === "https:" ? https : http;
	return new Promise((resolve, reject) => {
		const req = mod.request({
			method, host: u.hostname, port: u.port, path: u.pathname + u.search, headers, ca, agent: false, signal,
		}, (res) => {
			const chunks = [];
			res.on("data", (c) => chunks.push(c));
			res.on("end", () => {
				clearTimeout(t);
				const b = Buffer.concat(chunks);
				const text = b.toString("utf8");
				resolve({
					status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, body: b, text,
					json() { return JSON.parse(text); },
				});
			});
			res.on("error", (e) => { clearTimeout(t); reject(e); });
			res.on("aborted", () => { clearTimeout(t); reject(new Error("response aborted")); });
		});
		const t = setTimeout(() => { req.destroy(new Error(`${method} ${url}: no complete answer in ${timeoutMs} ms`)); }, timeoutMs);
		req.on("error", (e) => { clearTimeout(t); reject(e); });
		if (body !== undefined) req.write(body);
		req.end();
	});
}

// A streaming request: resolves once the head is there with {status,
// headers, res, req}; read with readAll()/events().
export function openStream(url, { method = "POST", headers = {}, body, timeoutMs = 15000 } = {}) {
	const u = new URL(url);
	return new Promise((resolve, reject) => {
		const req = http.request({ method, host: u.hostname, port: u.port, path: u.pathname + u.search, headers, agent: false }, (res) => {
			clearTimeout(t);
			resolve({ status: res.statusCode, headers: res.headers, res, req });
		});
		const t = setTimeout(() => { req.destroy(new Error(`${method} ${url}: no head in ${timeoutMs} ms`)); }, timeoutMs);
		req.on("error", (e) => { clearTimeout(t); reject(e); });
		if (body !== undefined) req.write(body);
		req.end();
	});
}

// Read a response to its end (or error).  Resolves {text, ended, error}:
// ended = the message ended properly (chunked terminator or length);
// error = the transport broke before that.
export function readAll(res, { timeoutMs = 15000 } = {}) {
	return new Promise((resolve) => {
		const chunks = [];
		let done = false;
		const finish = (ended, error) => {
			if (done) return;
			done = true;
			clearTimeout(t);
			resolve({ text: Buffer.concat(chunks).toString("utf8"), ended, error });
		};
		const t = setTimeout(() => { finish(false, new Error(`stream not finished in ${timeoutMs} ms`)); res.destroy(); }, timeoutMs);
		res.on("data", (c) => chunks.push(c));
		res.on("end", () => finish(res.complete, res.complete ? null : new Error("incomplete message")));
		res.on("aborted", () => finish(false, new Error("aborted")));
		res.on("error", (e) => finish(false, e));
		res.on("close", () => finish(res.complete, res.complete ? null : new Error("closed before the end")));
	});
}

// Parse SSE text into [{event, data}] (events separated by blank lines).
export function parseSse(text) {
	const out = [];
	for (const block of text.split(/\r?\n\r?\n/)) {
		if (!block.trim()) continue;
		const ev = { event: null, data: null, comments: [] };
		const data = [];
		for (const line of block.split(/\r?\n/)) {
			if (line.startsWith(":")) { ev.comments.push(line); continue; }
			const m = /^([^:]+):\s?(.*)$/.exec(line);
			if (!m) continue;
			if (m[1] === "event") ev.event = m[2];
			else if (m[1] === "data") data.push(m[2]);
		}
		if (data.length) ev.data = data.join("\n");
		if (ev.event !== null || ev.data !== null) out.push(ev);
	}
	return out;
}

// Raw bytes to a port; resolves {data, closedByPeer, ms} when the peer
// closes or after timeoutMs.  `drip` = [[bytes, delayMsBefore]...].
export function rawExchange(port, chunks, { timeoutMs = 5000, host = "127.0.0.1" } = {}) {
	return new Promise((resolve, reject) => {
		const t0 = Date.now();
		const s = net.connect({ port, host });
		const got = [];
		let closed = false, settled = false;
		const finish = () => {
			if (settled) return;
			settled = true;
			clearTimeout(t);
			s.destroy();
			resolve({ data: Buffer.concat(got), text: Buffer.concat(got).toString("latin1"), closedByPeer: closed, ms: Date.now() - t0 });
		};
		const t = setTimeout(finish, timeoutMs);
		s.on("data", (d) => got.push(d));
		s.on("end", () => { closed = true; finish(); });
		s.on("close", () => { closed = true; finish(); });
		s.on("error", (e) => { if (e.code === "ECONNRESET" || e.code === "EPIPE") { closed = true; finish(); } else if (!settled) { settled = true; clearTimeout(t); reject(e); } });
		s.on("connect", async () => {
			for (const c of chunks) {
				const [bytes, delay] = Array.isArray(c) ? c : [c, 0];
				if (delay) await sleep(delay);
				if (settled || s.destroyed) return;
				s.write(bytes);
			}
		});
	});
}

// A TCP port nothing listens on (bound, then closed).
// A port nothing listens on, for "Connection refused": below the kernel's
// ephemeral range.  A free port from the range is what the next listen on
// port 0 gets (another test's simulator or daemon), and then the refused
// connection is accepted by a stranger.
export async function closedPort() {
	const lo = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0]);
	const base = Math.max(1024, lo - 10000);
	for (let i = 0; i < 100; i++) {
		const p = base + Math.floor(Math.random() * (lo - base));
		const s = net.createServer();
		const ok = await new Promise((r) => {
			s.once("error", () => r(false));
			s.listen(p, "127.0.0.1", () => r(true));
		});
		if (ok) {
			await new Promise((r) => s.close(r));
			return p;
		}
	}
	throw new Error(`no free port in ${base}-${lo - 1}`);
}

// A TCP relay to 127.0.0.1:target on an ephemeral port; down(true) makes
// it reset every connection (the address stays the same, the peer is gone).
export async function tcpRelay(target) {
	const socks = new Set();
	let isDown = false;
	const srv = net.createServer((c) => {
		if (isDown) { c.resetAndDestroy(); return; }
		const u = net.connect(target, "127.0.0.1");
		socks.add(c); socks.add(u);
		c.pipe(u); u.pipe(c);
		const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
		c.on("error", end); u.on("error", end); c.on("close", end); u.on("close", end);
	});
	await new Promise((r) => srv.listen(0, "127.0.0.1", r));
	return {
		port: srv.address().port,
		down(v = true) { isDown = v; if (v) for (const s of socks) s.destroy(); },
		close() { for (const s of socks) s.destroy(); return new Promise((r) => srv.close(r)); },
	};
}

// --- the simulator ----------------------------------------------------------

export class Sim {
	constructor(proc, info) {
		this.proc = proc;
		this.info = info;
		this.ca = fs.readFileSync(info.ca_file);
		this.stderr = "";
	}

	get manifest() { return fs.readFileSync(this.info.manifest_path); }

	async ctl(method, p, body) {
		// A bound for a hang only: the records of a test with a 6 MB
		// body are tens of MB of JSON, which a loaded machine took over
		// 10 s to produce and read.
		const r = await request(this.info.base_url + "/__sim" + p, {
			method, ca: this.ca, timeoutMs: 60000,
			headers: body === undefined ? {} : { "Content-Type": "application/json" },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		if (r.status !== 200) throw new Error(`sim ${method} ${p}: ${r.status} ${r.text}`);
		return r.json();
	}

	requests(kind) { return this.ctl("GET", "/requests" + (kind ? `?kind=${kind}` : "")); }
	secrets() { return this.ctl("GET", "/secrets"); }
	faults(spec) { return this.ctl("POST", "/faults", spec); }
	clearFaults() { return this.ctl("DELETE", "/faults"); }
	deleteSecrets() { return this.ctl("DELETE", "/secrets"); }
	forgetRequests() { return this.ctl("DELETE", "/requests"); }
	reset({ keepSecrets = false } = {}) { return this.ctl("POST", "/reset" + (keepSecrets ? "?secrets=keep" : "")); }

	// GET something from the simulator itself (manifest, KDS).
	get(p) { return request(this.info.base_url + p, { ca: this.ca }); }

	async stop() {
		const p = this.proc;
		if (p.exitCode !== null || p.signalCode !== null) { live.delete(p.pid); return; }
		const done = new Promise((r) => p.once("exit", r));
		p.kill("SIGTERM");
		const t = setTimeout(() => { try { p.kill("SIGKILL"); } catch { /* gone */ } }, 3000);
		await done;
		clearTimeout(t);
		live.delete(p.pid);
	}
}

// PM_E2E_SIM_ARGS (e2e.sh's matrix): extra simulator flags, e.g. --no-h2.
export async function startSim(args = [], { stateDir = SIM_STATE, timeoutMs = 60000 } = {}) {
	fs.mkdirSync(stateDir, { recursive: true, mode: 0o755 });
	const extra = (process.env.PM_E2E_SIM_ARGS ?? "").split(/\s+/).filter(Boolean);
	const proc = spawn(process.execPath, [SIM_JS, "--state-dir", stateDir, "--quiet", ...args, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
	track(proc.pid, "sim");
	let stderr = "";
	proc.stderr.on("data", (d) => { stderr += d; });
	const info = await new Promise((resolve, reject) => {
		let buf = "";
		const t = setTimeout(() => { proc.kill("SIGKILL"); reject(new Error(`simulator did not start in ${timeoutMs} ms: ${stderr}`)); }, timeoutMs);
		proc.stdout.on("data", (d) => {
			buf += d;
			const nl = buf.indexOf("\n");
			if (nl >= 0) {
				clearTimeout(t);
				try { resolve(JSON.parse(buf.slice(0, nl))); } catch (e) { reject(e); }
			}
		});
		proc.on("exit", (c) => { clearTimeout(t); reject(new Error(`simulator exited with ${c}: ${stderr}`)); });
	});
	proc.removeAllListeners("exit");
	proc.on("exit", () => live.delete(proc.pid));
	const sim = new Sim(proc, info);
	Object.defineProperty(sim, "stderr", { get: () => stderr });
	return sim;
}

// --- the daemon -------------------------------------------------------------

export class Daemon {
	constructor({ proc, dir, confPath, logPath, workers, ca }) {
		Object.assign(this, { proc, dir, confPath, logPath, workers, ca });
		this.pid = proc.pid;
		this.port = null;
		this.exit = null;
		proc.on("exit", (code, sig) => { this.exit = { code, sig }; live.delete(this.pid); });
	}

	get ws() { return path.join(this.dir, "ws"); }
	// metrics_listen's port, once the daemon has logged it (null: none).
	get mport() {
		const m = /listening on 127\.0\.0\.1:(\d+) \(metrics\)/.exec(this.log());
		return m ? Number(m[1]) : null;
	}
	// ca set: the daemon serves HTTPS (tls_cert/tls_key) with that certificate.
	get base() { return `${this.ca ? "https" : "http"}://127.0.0.1:${this.port}`; }
	url(p) { return this.base + p; }
	log() { try { return fs.readFileSync(this.logPath, "utf8"); } catch { return ""; } }
	running() { return this.exit === null; }

	tail(n = 40) { return this.log().split("\n").slice(-n - 1).join("\n"); }

	async waitLog(re, timeoutMs = 10000) {
		return waitFor(`daemon log ${re}`, () => {
			const m = re.exec(this.log());
			if (!m && !this.running()) throw new Error(`daemon exited (${JSON.stringify(this.exit)})`);
			return m;
		}, { timeoutMs });
	}

	countLog(re) {
		const g = new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g");
		return (this.log().match(g) ?? []).length;
	}

	// Direct children with role worker|keyd.
	children(role) {
		return childPids(this.pid).filter((p) => {
			const c = cmdline(p);
			return c && c.includes("-T") && c[c.indexOf("-T") + 1] === role;
		});
	}

	// A request that times out says what the daemon logged meanwhile.
	req(method, p, opts = {}) {
		return request(this.url(p), { method, ca: this.ca, ...opts }).catch((e) => {
			if (/no complete answer/.test(e.message)) e.message += `\n--- daemon log (tail) ---\n${this.tail(30)}`;
			throw e;
		});
	}
	get(p, opts) { return this.req("GET", p, opts); }
	post(p, body, opts = {}) {
		const headers = { "Content-Type": "application/json", ...(opts.headers ?? {}) };
		for (const [k, v] of Object.entries(headers)) if (v === null) delete headers[k];
		return this.req("POST", p, { ...opts, headers, body: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body) });
	}

	// /readyz with its detail: from metrics_listen when there is one (the
	// API port answers one line, apiReadyz), else from the API port.
	async readyz() {
		const r = this.mport
			? await request(`http://127.0.0.1:${this.mport}/readyz`, { timeoutMs: 8000 })
			: await this.get("/readyz", { timeoutMs: 8000 });
		let j = null;
		try { j = r.json(); } catch { /* not JSON */ }
		return { status: r.status, json: j, text: r.text };
	}

	async apiReadyz() {
		const r = await this.get("/readyz", { timeoutMs: 8000 });
		let j = null;
		try { j = r.json(); } catch { /* not JSON */ }
		return { status: r.status, json: j, text: r.text };
	}

	async waitReady(timeoutMs = 60000) {
		return waitFor("/readyz 200", async () => {
			if (!this.running()) throw new Error(`daemon exited (${JSON.stringify(this.exit)})`);
			const r = await this.readyz();
			return r.status === 200 ? r : null;
		}, { timeoutMs, intervalMs: 100 });
	}

	// Wait until /readyz is 503 with a reason other than "in progress"
	// (i.e. a completed, failed update).
	async waitNotReadyReason(timeoutMs = 60000) {
		return waitFor("/readyz 503 with a final reason", async () => {
			const r = await this.readyz();
			if (r.status === 200) throw new Error(`unexpectedly ready: ${r.text}`);
			const reason = r.json?.reason ?? "";
			return reason && !/in progress|pending/.test(reason) ? r : null;
		}, { timeoutMs, intervalMs: 100 });
	}

	async stop({ timeoutMs = 8000 } = {}) {
		if (this.running()) {
			const done = new Promise((r) => this.proc.once("exit", r));
			try { process.kill(this.pid, "SIGTERM"); } catch { /* gone */ }
			const t = setTimeout(() => killTree(this.pid), timeoutMs);
			await done;
			clearTimeout(t);
		}
		// Children that outlived the parent (must not happen) die here.
		live.delete(this.pid);
		// A sanitizer report from any daemon fails whoever stops it (the
		// test's own hook, or the file's after hook), once.
		const san = this.sanitizerReport();
		if (san && !this.sanitizerSeen) {
			this.sanitizerSeen = true;
			throw new Error(`sanitizer report from daemon ${this.pid}:\n${san}`);
		}
		return this.exit;
	}

	kill() { if (this.running()) killTree(this.pid); }

	sanitizerReport() {
		const m = /ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer has encountered/.exec(this.log());
		return m ? this.log().slice(Math.max(0, m.index - 200), m.index + 3000) : null;
	}
}

// A daemon for one test, stopped when the test ends; stop() fails the test
// on a sanitizer report in the daemon's log.
export async function daemonForTest(t, sim, opts) {
	const d = await startDaemon(sim, opts);
	t.after(() => d.stop());
	return d;
}

// An assertion message with the tail of a daemon's log.
export const withLog = (d, msg, lines = 25) => `${msg}\n--- daemon log (tail) ---\n${d.tail(lines)}`;

// Start privatemoded -d -f <conf> in the foreground; wait for its listener
// and for every worker and keyd to be up; then (waitReady) for /readyz 200.
// wrap: a command the daemon runs under (it must exec it); env: extra
// environment variables.
export async function startDaemon(sim, {
	workers = 1, over = {}, extra = "", args = [], waitReady = true, readyTimeoutMs = 60000, confText, dir, ca,
	waitChildren = true, wrap = [], env = {},
} = {}) {
	dir ??= mkTemp("pm-e2e-");
	// A directory may be reused (same workspace): fresh config and log.
	let n = 1;
	while (fs.existsSync(path.join(dir, n === 1 ? "daemon.log" : `daemon-${n}.log`))) n++;
	const sfx = n === 1 ? "" : `-${n}`;
	const confPath = path.join(dir, `privatemode${sfx}.conf`);
	const logPath = path.join(dir, `daemon${sfx}.log`);
	fs.writeFileSync(confPath, confText ?? simConfig(sim, dir, { workers, over, extra }));
	const fd = fs.openSync(logPath, "a");
	const argv = [...wrap, PM_BIN, "-d", "-f", confPath, ...args];
	const proc = spawn(argv[0], argv.slice(1), { stdio: ["ignore", fd, fd], env: { ...process.env, ...env } });
	fs.closeSync(fd);
	track(proc.pid, "daemon");
	const d = new Daemon({ proc, dir, confPath, logPath, workers, ca });
	try {
		// Bounds for a hang only: an ASan build on a loaded machine takes
		// many times the usual second to start, spawn and attest.
		const m = await d.waitLog(/listening on 127\.0\.0\.1:(\d+)/, 60000);
		d.port = Number(m[1]);
		if (!waitChildren) return d;
		await waitFor("every worker serving and every keyd sandboxed", () => {
			if (!d.running()) throw new Error(`daemon exited (${JSON.stringify(d.exit)})`);
			const log = d.log();
			return (log.match(/worker\[\d+\] pid \d+: debug: serving on/g) ?? []).length >= workers &&
				(log.match(/keyd\[\d+\]: sandbox \S+ on/g) ?? []).length >= workers &&
				d.children("worker").length === workers && d.children("keyd").length === workers;
		}, { timeoutMs: 60000 });
		if (waitReady) await d.waitReady(readyTimeoutMs);
	} catch (e) {
		const tail = d.tail(30);
		await d.stop().catch((x) => { e.message += `\n${x.message}`; });
		e.message += `\n--- daemon log (tail) ---\n${tail}`;
		throw e;
	}
	return d;
}

// Run the daemon with a config that must make it exit at start-up;
// resolves {code, signal, log} (kills it after timeoutMs).
export async function runDaemonToExit(confText, { timeoutMs = 10000, args = [] } = {}) {
	const dir = mkTemp("pm-e2e-");
	const confPath = path.join(dir, "privatemode.conf");
	const logPath = path.join(dir, "daemon.log");
	fs.writeFileSync(confPath, typeof confText === "function" ? confText(dir) : confText);
	const fd = fs.openSync(logPath, "a");
	const proc = spawn(PM_BIN, ["-d", "-f", confPath, ...args], { stdio: ["ignore", fd, fd] });
	fs.closeSync(fd);
	track(proc.pid, "daemon");
	const res = await new Promise((resolve) => {
		const t = setTimeout(() => { killTree(proc.pid); }, timeoutMs);
		proc.on("exit", (code, signal) => { clearTimeout(t); live.delete(proc.pid); resolve({ code, signal }); });
	});
	return { ...res, log: fs.readFileSync(logPath, "utf8"), dir };
}

// --- memory scan ------------------------------------------------------------

// Count occurrences of each needle (Buffer) in the readable memory of pid
// (/proc/pid/maps + /proc/pid/mem; root reads non-dumpable processes too).
export function scanMemory(pid, needles) {
	const it = scanSteps(pid, needles);
	for (let r = it.next(); ; r = it.next()) if (r.done) return r.value;
}

// The same scan, giving the event loop a turn after every MiB.  A test
// that scans while it has requests in flight must use this: a scan of
// three processes for a hundred needles takes seconds on a loaded
// machine, and a synchronous one let the requests' own timers expire
// with their answers unread in the socket buffers.
export async function scanMemoryAsync(pid, needles) {
	const it = scanSteps(pid, needles);
	for (let r = it.next(); ; r = it.next()) {
		if (r.done) return r.value;
		await new Promise((res) => setImmediate(res));
	}
}

function* scanSteps(pid, needles) {
	const maps = fs.readFileSync(`/proc/${pid}/maps`, "utf8");
	const fd = fs.openSync(`/proc/${pid}/mem`, "r");
	const counts = needles.map(() => 0);
	const maxLen = Math.max(...needles.map((n) => n.length));
	const CHUNK = 1 << 20;
	const buf = Buffer.alloc(CHUNK + maxLen);
	let scanned = 0;
	try {
		for (const line of maps.split("\n")) {
			const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/.exec(line);
			if (!m || m[3][0] !== "r" || /\[(vvar|vsyscall|vvar_vclock)\]/.test(line)) continue;
			const start = parseInt(m[1], 16), end = parseInt(m[2], 16);
			if (end - start > 2 ** 30) continue; // sanitizer shadow
			let carry = 0; // bytes kept from the previous chunk
			for (let off = start; off < end;) {
				const want = Math.min(CHUNK, end - off);
				let n;
				try { n = fs.readSync(fd, buf, carry, want, off); } catch { break; }
				if (n <= 0) break;
				scanned += n;
				const view = buf.subarray(0, carry + n);
				needles.forEach((nd, i) => {
					for (let at = view.indexOf(nd); at !== -1; at = view.indexOf(nd, at + 1)) {
						// A match lying wholly in the carried bytes was counted before.
						if (at + nd.length > carry) counts[i]++;
					}
				});
				off += n;
				carry = Math.min(maxLen - 1, view.length);
				view.copy(buf, 0, view.length - carry);
				yield;
			}
		}
	} finally {
		fs.closeSync(fd);
	}
	if (scanned === 0) throw new Error(`nothing readable in /proc/${pid}/mem`);
	return { counts, scanned };
}

// --- wire helpers -------------------------------------------------------------

// Ciphertext format of protocol §3.1 (the quotes are the JSON string's).
export const CIPHER_RE = /^([A-Za-z0-9+/]{43}=):([0-9a-f]{24}):([0-9a-f]{24}):([0-9a-f]{32,})$/;
export const UUID7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// Shard key of protocol §4.2, written from the spec (checked against its
// `test-salt` vectors in api.test.mjs before it is used as an oracle).
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
export function shardKey(salt, content) {
	const c = Buffer.from(content, "utf8");
	const h0 = sha256(Buffer.from(salt, "utf8"));
	let key = h0.toString("hex").slice(0, 16);
	const n = Math.floor(c.length / 4);
	if (n > 1_000_000) throw new Error(`context too large: ~${n} tokens`);
	let block = 16;
	if (n < block) return key;
	key += "-";
	let h = h0, i = 0;
	while (i + block <= n) {
		h = sha256(Buffer.concat([h, c.subarray(i * 4, (i + block) * 4)]));
		key += B64[h[31] & 0x3f];
		i += block;
		if (i === 1024) block = 128;
		if (i === 100096) block = 512;
	}
	return key;
}

// Body text from [[name, rawJsonText]...] so the raw value of each member
// is known exactly (whitespace, number spelling) for the wire checks.
export function rawBody(members, sep = ",") {
	return "{" + members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(sep) + "}";
}

// Top-level members of a JSON object text with their raw value text, in
// document order (a small scanner: strings, nesting; enough for bodies we
// made or the daemon made).
export function rawMembers(text) {
	const out = [];
	let i = 0;
	const ws = () => { while (/\s/.test(text[i] ?? "")) i++; };
	const str = () => {
		const s = i;
		i++;
		while (text[i] !== '"') { if (text[i] === "\\") i++; i++; if (i > text.length) throw new Error("unterminated string"); }
		i++;
		return text.slice(s, i);
	};
	const value = () => {
		ws();
		const s = i;
		if (text[i] === '"') { str(); return text.slice(s, i); }
		if (text[i] === "{" || text[i] === "[") {
			let depth = 0;
			do {
				if (text[i] === '"') { str(); continue; }
				if (text[i] === "{" || text[i] === "[") depth++;
				if (text[i] === "}" || text[i] === "]") depth--;
				i++;
			} while (depth > 0 && i < text.length);
			return text.slice(s, i);
		}
		while (i < text.length && !/[,}\]\s]/.test(text[i])) i++;
		return text.slice(s, i);
	};
	ws();
	if (text[i] !== "{") throw new Error("not an object");
	i++;
	for (;;) {
		ws();
		if (text[i] === "}") break;
		const k = JSON.parse(str());
		ws();
		if (text[i] !== ":") throw new Error(`expected : at ${i}`);
		i++;
		const v = value();
		out.push([k, v]);
		ws();
		if (text[i] === ",") { i++; continue; }
		if (text[i] === "}") break;
		throw new Error(`unexpected ${text[i]} at ${i}`);
	}
	return out;
}

// Bytewise (Go string) order of member names.
export const byteOrder = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

// OpenAI error shape.
export function isOpenAIError(j) {
	return j && typeof j.error === "object" && typeof j.error.message === "string" && "type" in j.error && "param" in j.error && "code" in j.error;
}
