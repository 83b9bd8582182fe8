// Shared helpers for bench/proxy and bench/attest: process bookkeeping,
// per-process CPU and memory from /proc, the simulator and the daemon.
// Every process started here is recorded by pid and killed by pid on exit
// (never by name: other daemons and simulators may run on this machine).
import { spawn, spawnSync, execFileSync } from "node:child_process";
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

// One process as bench/proxy measures it: utime and stime (µs, from clock
// ticks) and the voluntary and involuntary context switches summed over
// its threads (/proc/<pid>/task/*/status).  A voluntary switch is a sleep:
// the process blocked (epoll_wait with nothing ready, a full socket) and
// will be woken; noise on the machine does not move that count.
export function procSample(pid) {
	try {
		const f = statFields(pid);
		let vcs = 0, nvcs = 0, rt = 0;
		for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
			rt += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, "utf8").split(" ")[0]) / 1e3;
			const s = fs.readFileSync(`/proc/${pid}/task/${t}/status`, "utf8");
			vcs += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
			nvcs += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(s)?.[1] ?? 0);
		}
		return { ut: (Number(f[11]) * 1e6) / CLK_TCK, st: (Number(f[12]) * 1e6) / CLK_TCK, rt, vcs, nvcs };
	} catch { return null; }
}

// Snapshot {pid: procSample} of a process tree (or of the given pids).
export function procSnap(rootOrPids) {
	const m = new Map();
	for (const p of Array.isArray(rootOrPids) ? rootOrPids : tree(rootOrPids)) {
		const s = procSample(p);
		if (s) m.set(p, s);
	}
	return m;
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

// ESTABLISHED TCP connections to `port` held by the processes of a tree,
// by role: how many upstream connections a proxy keeps.
export function upstreamConns(root, port, roleOf = () => "all") {
	const inodes = new Set();
	for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		let text = "";
		try { text = fs.readFileSync(f, "utf8"); } catch { continue; }
		for (const line of text.split("\n").slice(1)) {
			const c = line.trim().split(/\s+/);
			if (c.length > 9 && c[3] === "01" && parseInt(c[2].split(":")[1], 16) === port) inodes.add(c[9]);
		}
	}
	let n = 0;
	const byRole = {};
	for (const p of tree(root)) {
		let fds = [];
		try { fds = fs.readdirSync(`/proc/${p}/fd`); } catch { continue; }
		for (const fd of fds) {
			let l = "";
			try { l = fs.readlinkSync(`/proc/${p}/fd/${fd}`); } catch { continue; }
			const m = /^socket:\[(\d+)\]$/.exec(l);
			if (m && inodes.has(m[1])) {
				n++;
				byRole[roleOf(p)] = (byRole[roleOf(p)] ?? 0) + 1;
			}
		}
	}
	return { n, byRole };
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

// --- system calls of a process set (perf, tracepoints) ---------------------

// x86_64 numbers of the calls a proxy makes; others print as sys_<n>.
export const SYSCALL_NAMES = {
	0: "read", 1: "write", 3: "close", 5: "fstat", 7: "poll", 8: "lseek", 9: "mmap", 10: "mprotect",
	11: "munmap", 12: "brk", 13: "rt_sigaction", 14: "rt_sigprocmask", 16: "ioctl", 17: "pread64",
	18: "pwrite64", 19: "readv", 20: "writev", 24: "sched_yield", 28: "madvise", 39: "getpid",
	40: "sendfile", 41: "socket", 42: "connect", 43: "accept", 44: "sendto", 45: "recvfrom",
	46: "sendmsg", 47: "recvmsg", 48: "shutdown", 51: "getsockname", 52: "getpeername",
	54: "setsockopt", 55: "getsockopt", 62: "kill", 72: "fcntl", 96: "gettimeofday", 186: "gettid",
	202: "futex", 228: "clock_gettime", 232: "epoll_wait", 233: "epoll_ctl", 257: "openat",
	262: "newfstatat", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 283: "timerfd_create",
	286: "timerfd_settime", 288: "accept4", 290: "eventfd2", 299: "recvmmsg", 307: "sendmmsg",
	318: "getrandom", 441: "epoll_pwait2",
};
const READS = new Set([0, 19, 45, 47, 299]);
const WAITS = new Set([7, 23, 232, 270, 271, 281, 441]);

// Descriptors of pid that are TCP connections to 127.0.0.1:port.
export function fdsTo(pid, port) {
	const inodes = new Map();
	for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		let t = "";
		try { t = fs.readFileSync(f, "utf8"); } catch { continue; }
		for (const l of t.split("\n").slice(1)) {
			const c = l.trim().split(/\s+/);
			if (c.length < 10) continue;
			const rport = parseInt(c[2].split(":")[1], 16);
			if (rport === port) inodes.set(c[9], true);
		}
	}
	const out = new Set();
	try {
		for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
			let l;
			try { l = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
			const m = /^socket:\[(\d+)\]$/.exec(l);
			if (m && inodes.has(m[1])) out.add(Number(fd));
		}
	} catch { /* gone */ }
	return out;
}

// Trace the system calls of pids for ms milliseconds with perf
// (raw_syscalls tracepoints: a few hundred ns per call, nothing like
// strace's stop per call).  Returns null when perf is not there, else per
// pid: counts by call name, and "upstream batches": the reads of sockets
// connected to upstreamPort between two waits (epoll_wait and friends), i.e.
// what one wake-up of that process got from the upstream.
export async function sysTrace(pids, ms, upstreamPort, dir) {
	const out = path.join(dir, `systrace-${process.hrtime.bigint()}.data`);
	const p = spawn("perf", ["record", "-q", "-o", out, "-e", "raw_syscalls:sys_enter", "-e", "raw_syscalls:sys_exit",
		"-p", pids.join(","), "--", "sleep", String(ms / 1000)], { stdio: ["ignore", "ignore", "pipe"] });
	let err = "";
	p.stderr.on("data", (d) => { err += d; });
	track(p.pid);
	const code = await new Promise((r) => { p.on("exit", (c) => r(c)); p.on("error", () => r(-1)); });
	untrack(p.pid);
	if (code !== 0 || !fs.existsSync(out)) { process.stderr.write(`bench: perf record failed (${code}): ${err.trim().slice(0, 300)}\n`); return null; }
	const up = new Map(pids.map((q) => [q, fdsTo(q, upstreamPort)]));
	const r = spawnSync("perf", ["script", "-i", out, "-F", "pid,tid,event,trace"], { encoding: "utf8", maxBuffer: 1 << 30 });
	try { fs.rmSync(out); } catch { /* kept */ }
	if (r.status !== 0) return null;
	const res = new Map(pids.map((q) => [q, { calls: {}, nCalls: 0, batches: 0, upBytes: 0, upReads: 0, waits: 0 }]));
	const pending = new Map(); // tid -> [nr, fd]
	const cur = new Map(); // pid -> upstream bytes since the last wait
	const re = /^\s*(\d+)\/(\d+)\s+raw_syscalls:sys_(enter|exit):\s+NR (\d+) (?:\(([0-9a-f]+)|= (-?\d+))/;
	for (const line of r.stdout.split("\n")) {
		const m = re.exec(line);
		if (!m) continue;
		const pid = Number(m[1]), tid = Number(m[2]), nr = Number(m[4]);
		const s = res.get(pid);
		if (!s) continue;
		if (m[3] === "enter") {
			const name = SYSCALL_NAMES[nr] ?? `sys_${nr}`;
			s.calls[name] = (s.calls[name] ?? 0) + 1;
			s.nCalls++;
			pending.set(tid, [nr, parseInt(m[5], 16)]);
			if (WAITS.has(nr)) {
				s.waits++;
				if ((cur.get(pid) ?? 0) > 0) s.batches++;
				cur.set(pid, 0);
			}
			continue;
		}
		const e = pending.get(tid);
		pending.delete(tid);
		const ret = Number(m[6]);
		if (!e || e[0] !== nr || !READS.has(nr) || !(ret > 0) || !up.get(pid).has(e[1])) continue;
		s.upBytes += ret;
		s.upReads++;
		cur.set(pid, (cur.get(pid) ?? 0) + ret);
	}
	for (const [pid, b] of cur) if (b > 0) res.get(pid).batches++;
	return res;
}

// Where the CPU of pids goes: perf record (cycles, no call graphs) for ms
// milliseconds, then perf report by process and symbol.  Returns null when
// perf is not there, else {samples, dsos: [{pid, dso, share, n}], syms:
// [{pid, dso, sym, kernel, share, n}]} with
// share in per cent of all samples of those pids: by process and shared
// object (dsos, complete) and by process and symbol (syms, >= 0.3 %).
export async function perfProfile(pids, ms, dir, freq = 1999) {
	const out = path.join(dir, `profile-${process.hrtime.bigint()}.data`);
	const p = spawn("perf", ["record", "-q", "-F", String(freq), "-o", out, "-p", pids.join(","), "--", "sleep", String(ms / 1000)],
		{ stdio: ["ignore", "ignore", "pipe"] });
	let err = "";
	p.stderr.on("data", (d) => { err += d; });
	track(p.pid);
	const code = await new Promise((r) => { p.on("exit", (c) => r(c)); p.on("error", () => r(-1)); });
	untrack(p.pid);
	if (code !== 0 || !fs.existsSync(out)) { process.stderr.write(`bench: perf record failed (${code}): ${err.trim().slice(0, 300)}\n`); return null; }
	const report = (sort, limit) => spawnSync("perf", ["report", "-i", out, "--stdio", "--no-children", "--sort", sort, "-q",
		"--percent-limit", String(limit), "--show-nr-samples"], { encoding: "utf8", maxBuffer: 1 << 28 });
	const r = report("pid,dso,sym", 0.3), dsoRep = report("pid,dso", 0);
	try { fs.rmSync(out); } catch { /* kept */ }
	if (r.status !== 0 || dsoRep.status !== 0) return null;
	const syms = [], dsos = [];
	let samples = 0;
	for (const l of r.stdout.split("\n")) {
		const m = /^\s*([\d.]+)%\s+(\d+)\s+(\d+):\S*\s+(\S+)\s+\[([.k])\]\s+(.+?)\s*$/.exec(l);
		if (m) syms.push({ share: Number(m[1]), n: Number(m[2]), pid: Number(m[3]), dso: m[4], kernel: m[5] === "k", sym: m[6] });
	}
	for (const l of dsoRep.stdout.split("\n")) {
		const m = /^\s*([\d.]+)%\s+(\d+)\s+(\d+):\S*\s+(\S+)\s*$/.exec(l);
		if (m) { dsos.push({ share: Number(m[1]), n: Number(m[2]), pid: Number(m[3]), dso: m[4] }); samples += Number(m[2]); }
	}
	return { samples, syms, dsos };
}
