// Shared helpers for bench/proxy and bench/attest: process bookkeeping,
// per-process CPU and memory from /proc, the simulator and the daemon.
// Every process started here is recorded by pid and killed by pid on exit
// (never by name: other daemons and simulators may run on this machine).
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import http from "node:http";
import os from "node:os";

import { simConfig } from "../../tests/e2e/lib/simconf.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

// --- cleanup ---------------------------------------------------------------

const started = new Set(); // pids we spawned (process group leaders)
const temps = [];
export function track(pid) { started.add(pid); }
export function untrack(pid) { started.delete(pid); }
export function tempDir(prefix) {
	const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
	fs.chmodSync(d, 0o755); // the daemon's user must traverse it
	temps.push(d);
	return d;
}
function killAll() {
	for (const pid of started) {
		for (const k of descendants(pid)) try { process.kill(k, "SIGKILL"); } catch { /* gone */ }
		try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
	}
	started.clear();
	if (!process.env.BENCH_KEEP_TMP) for (const d of temps) try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* busy */ }
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => { killAll(); process.exit(130); });

// --- /proc -----------------------------------------------------------------

function statFields(pid) {
	const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
	return s.slice(s.lastIndexOf(")") + 2).split(" "); // fields[0] = state (field 3)
}

// All descendants of pid (children, grandchildren, ...), from /proc.
export function descendants(pid) {
	const parent = new Map();
	for (const d of fs.readdirSync("/proc")) {
		if (!/^\d+$/.test(d)) continue;
		try { parent.set(Number(d), Number(statFields(d)[1])); } catch { /* gone */ }
	}
	const out = [];
	const want = new Set([pid]);
	let grew = true;
	while (grew) {
		grew = false;
		for (const [p, pp] of parent) if (want.has(pp) && !want.has(p)) { want.add(p); out.push(p); grew = true; }
	}
	return out;
}

// The process tree rooted at pid (pid itself included).
export const tree = (pid) => [pid, ...descendants(pid)];

// utime+stime of one process in microseconds (from clock ticks).
export function cpuUs(pid) {
	try {
		const f = statFields(pid);
		return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK; // fields 14, 15
	} catch { return null; }
}

// Snapshot {pid: cpu µs} of a process tree.
export function cpuSnap(root) {
	const m = new Map();
	for (const p of tree(root)) { const c = cpuUs(p); if (c !== null) m.set(p, c); }
	return m;
}
// CPU µs spent between two snapshots (processes born in between count
// from zero; processes that died in between are lost, which is why every
// phase is steady-state: no process starts or ends during one).
export function cpuDelta(a, b) {
	let t = 0;
	for (const [p, c] of b) t += c - (a.get(p) ?? 0);
	return t;
}

// Memory of a process tree: sums of Pss and Rss (kB) from smaps_rollup.
export function memKb(root, roleOf = () => "all") {
	let pss = 0, rss = 0;
	const byRole = {};
	for (const p of tree(root)) {
		try {
			const s = fs.readFileSync(`/proc/${p}/smaps_rollup`, "utf8");
			const x = Number(/^Pss:\s+(\d+)/m.exec(s)?.[1] ?? 0);
			pss += x;
			rss += Number(/^Rss:\s+(\d+)/m.exec(s)?.[1] ?? 0);
			const r = roleOf(p);
			byRole[r] = (byRole[r] ?? 0) + x;
		} catch { /* gone */ }
	}
	return { pss, rss, byRole };
}

// --- helpers ---------------------------------------------------------------

export async function freePort() {
	const s = net.createServer();
	await new Promise((r) => s.listen(0, "127.0.0.1", r));
	const p = s.address().port;
	await new Promise((r) => s.close(r));
	return p;
}

export async function waitFor(what, fn, timeoutMs = 20000, intervalMs = 20) {
	const end = Date.now() + timeoutMs;
	for (;;) {
		let v;
		try { v = await fn(); } catch { v = null; }
		if (v) return v;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
		await sleep(intervalMs);
	}
}

export function httpGet(url, timeoutMs = 3000) {
	return new Promise((resolve, reject) => {
		const req = http.get(url, { agent: false }, (res) => {
			const c = [];
			res.on("data", (d) => c.push(d));
			res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(c).toString() }));
		});
		req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")));
		req.on("error", reject);
	});
}

export function pct(sorted, p) {
	if (!sorted.length) return NaN;
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[i];
}

// --- the simulator ---------------------------------------------------------

// A persistent PKI dir: generating it takes seconds; reused across runs.
export const SIM_STATE = process.env.BENCH_SIM_STATE ?? path.join(os.tmpdir(), "bench-sim-state");

export async function startSim(top, args = []) {
	fs.mkdirSync(SIM_STATE, { recursive: true, mode: 0o755 });
	const proc = spawn(process.execPath, [path.join(top, "tests/sim/sim.mjs"), "--state-dir", SIM_STATE,
		"--quiet", "--max-records", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
	track(proc.pid);
	let err = "";
	proc.stderr.on("data", (d) => { err += d; });
	const info = await new Promise((resolve, reject) => {
		let buf = "";
		const t = setTimeout(() => reject(new Error(`simulator did not start: ${err}`)), 60000);
		proc.stdout.on("data", (d) => {
			buf += d;
			const nl = buf.indexOf("\n");
			if (nl >= 0) { clearTimeout(t); resolve(JSON.parse(buf.slice(0, nl))); }
		});
		proc.on("exit", (c) => { clearTimeout(t); reject(new Error(`simulator exited ${c}: ${err}`)); });
	});
	proc.removeAllListeners("exit");
	return { proc, info, pid: proc.pid };
}

export async function stopProc(proc, timeoutMs = 5000) {
	if (proc.exitCode !== null || proc.signalCode !== null) { untrack(proc.pid); return; }
	const done = new Promise((r) => proc.once("exit", r));
	const kids = descendants(proc.pid);
	try { process.kill(proc.pid, "SIGTERM"); } catch { /* gone */ }
	const t = setTimeout(() => {
		for (const k of kids) try { process.kill(k, "SIGKILL"); } catch { /* gone */ }
		try { process.kill(proc.pid, "SIGKILL"); } catch { /* gone */ }
	}, timeoutMs);
	await done;
	clearTimeout(t);
	// Children that outlive the parent (must not happen) go too.
	for (const k of kids) try { process.kill(k, "SIGKILL"); } catch { /* gone */ }
	untrack(proc.pid);
}

// --- the daemon ------------------------------------------------------------

export function ensureUser() {
	if (process.getuid() !== 0) return null;
	try { execFileSync("id", ["privatemode"], { stdio: "ignore" }); } catch {
		execFileSync("useradd", ["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "privatemode"]);
	}
	return "privatemode";
}

// The e2e tests' config in front of the simulator (two workers, a short
// drain); `over` replaces keys.  The workspace is made for the user.
export function daemonConf(sim, dir, over = {}) {
	const ws = path.join(dir, "ws");
	fs.mkdirSync(ws, { recursive: true });
	if (process.getuid() === 0) execFileSync("chown", ["privatemode", ws]);
	return simConfig(sim, dir, { workers: 2, over: { shutdown_timeout: "2s", ...over } });
}

// Start privatemoded -F -f conf (log level from the config, info by
// default); resolves once it listens.  Raises the fd limit to the hard
// limit first (sh -c 'ulimit -n ...; exec ...').
export async function startDaemon(bin, dir, confText, { name = "daemon" } = {}) {
	const conf = path.join(dir, `${name}.conf`);
	const log = path.join(dir, `${name}.log`);
	fs.writeFileSync(conf, confText);
	const fd = fs.openSync(log, "w");
	const t0 = process.hrtime.bigint();
	const proc = spawn("/bin/sh", ["-c", 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" -F -f "$1"', bin, conf], { stdio: ["ignore", fd, fd] });
	fs.closeSync(fd);
	track(proc.pid);
	const readLog = () => { try { return fs.readFileSync(log, "utf8"); } catch { return ""; } };
	let exited = false;
	proc.on("exit", () => { exited = true; });
	const m = await waitFor("daemon listening", () => {
		if (exited) throw new Error("exited");
		return /listening on 127\.0\.0\.1:(\d+)/.exec(readLog());
	}, 15000, 5).catch((e) => { throw new Error(`${e.message}\n${readLog().slice(-2000)}`); });
	return { proc, pid: proc.pid, port: Number(m[1]), t0, log: readLog, logPath: log, exited: () => exited };
}

export async function waitReady(d, timeoutMs = 30000, intervalMs = 10) {
	return waitFor("/readyz 200", async () => {
		if (d.exited()) throw new Error("daemon exited");
		const r = await httpGet(`http://127.0.0.1:${d.port}/readyz`);
		return r.status === 200;
	}, timeoutMs, intervalMs).catch((e) => { throw new Error(`${e.message}\n${d.log().slice(-2000)}`); });
}

// Role of a daemon child from its command line (-T worker|keyd).
export function role(pid) {
	try {
		const a = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
		const i = a.indexOf("-T");
		return i >= 0 ? a[i + 1] : "parent";
	} catch { return null; }
}
