// Issue 10 (item 5): egress through a real HTTP proxy (Debian's tinyproxy)
// between the daemon and the simulator.  As in Go, a loopback address is
// never proxied, so the daemon and the proxy reach the simulator by a
// name, sim.pm-e2e.test, which a private /etc/hosts (bind-mounted in a
// mount namespace of their own: nothing changes on the machine) maps to
// 127.0.0.1; the simulator's certificate carries that name.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import {
	startSim, mkTemp, closedPort, waitFor, runDaemonToExit, daemonForTest } from "./lib/harness.mjs";

const NAME = "sim.pm-e2e.test";
const CHAT = { model: "m", messages: [{ role: "user", content: "through the proxy" }] };
let sim, dir, hosts, wrap;

before(async () => {
	sim = await startSim();
	dir = mkTemp("pm-egress-");
	hosts = path.join(dir, "hosts");
	fs.writeFileSync(hosts, `127.0.0.1 localhost\n127.0.0.1 ${NAME}\n::1 localhost\n`, { mode: 0o644 });
	wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
		'mount --bind "$0" /etc/hosts && exec "$@"', hosts];
	const probe = spawnSync(wrap[0], [...wrap.slice(1), "getent", "hosts", NAME], { encoding: "utf8" });
	assert.equal(probe.status, 0, `a private /etc/hosts (unshare, mount --bind): ${probe.stderr}`);
	assert.match(probe.stdout, /^127\.0\.0\.1\s/);
});
after(async () => { await sim?.stop(); });

const simPort = () => Number(new URL(sim.info.base_url).port);
const byName = () => ({
	api_endpoint: `${NAME}:${simPort()}`,
	cdn_base_url: `https://${NAME}:${simPort()}`,
	test_kds_base_url: `https://${NAME}:${simPort()}`,
});

// A tinyproxy of our own, in the private /etc/hosts namespace.
async function tinyproxy(t, { auth = null, connectPort = simPort() } = {}) {
	const d = mkTemp("pm-tinyproxy-");
	fs.chmodSync(d, 0o777);
	const port = await closedPort();
	const log = path.join(d, "tinyproxy.log");
	const conf = [
		"User nobody", "Group nogroup", `Port ${port}`, "Listen 127.0.0.1", "Timeout 30",
		`LogFile "${log}"`, "LogLevel Connect", `PidFile "${path.join(d, "pid")}"`, "MaxClients 64",
		"Allow 127.0.0.1", "DisableViaHeader Yes", `ConnectPort ${connectPort}`,
		...(auth ? [`BasicAuth ${auth.user} ${auth.pass}`] : []),
	].join("\n") + "\n";
	fs.writeFileSync(path.join(d, "tinyproxy.conf"), conf);
	const proc = spawn(wrap[0], [...wrap.slice(1), "tinyproxy", "-d", "-c", path.join(d, "tinyproxy.conf")],
		{ stdio: ["ignore", "ignore", "pipe"] });
	let stderr = "";
	proc.stderr.on("data", (c) => { stderr += c; });
	t.after(() => { try { proc.kill("SIGKILL"); } catch { /* gone */ } });
	await waitFor(`tinyproxy listening on ${port}`, async () => {
		if (proc.exitCode !== null) throw new Error(`tinyproxy exited: ${stderr}`);
		return new Promise((resolve) => {
			const c = net.connect(port, "127.0.0.1", () => { c.destroy(); resolve(true); });
			c.on("error", () => resolve(false));
		});
	}, { timeoutMs: 10000 });
	return { port, url: `http://${auth ? `${auth.user}:${auth.pass}@` : ""}127.0.0.1:${port}`, log: () => { try { return fs.readFileSync(log, "utf8"); } catch { return ""; } } };
}

// Sockets of pid whose peer is the simulator's port (from /proc).
function directToSim(pid) {
	const inodes = new Set();
	for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		for (const line of fs.readFileSync(f, "utf8").split("\n").slice(1)) {
			const c = line.trim().split(/\s+/);
			if (c.length > 9 && c[3] === "01" && parseInt(c[2].split(":")[1], 16) === simPort()) inodes.add(c[9]);
		}
	}
	let n = 0;
	for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
		try {
			const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
			if (m && inodes.has(m[1])) n++;
		} catch { /* closed meanwhile */ }
	}
	return n;
}

const daemon = (t, opts) => daemonForTest(t, sim, { wrap, ...opts });

test("https_proxy with basic auth: attestation, the secret exchange and inference all go through CONNECT tunnels; the daemon never connects to the simulator itself", async (t) => {
	await sim.reset();
	const px = await tinyproxy(t, { auth: { user: "pm", pass: "s3cret-1" } });
	// Percent-encoded in the URL, decoded before it is sent.
	const d = await daemon(t, { over: { ...byName(), https_proxy: `http://p%6D:s3cret%2D1@127.0.0.1:${px.port}` } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json().choices[0].message.content, "Echo: through the proxy");
	assert.match(px.log(), new RegExp(`CONNECT ${NAME.replace(/\./g, "\\.")}:${simPort()}`));
	for (const kind of ["attest", "secret", "inference"]) assert.ok((await sim.requests(kind)).length >= 1, kind);
	for (const pid of [d.pid, ...d.children("worker"), ...d.children("keyd")])
		assert.equal(directToSim(pid), 0, `process ${pid} holds no socket to the simulator itself`);
});

test("HTTPS_PROXY from the environment, as the official proxy takes it; NO_PROXY naming the host goes direct", async (t) => {
	await sim.reset();
	const px = await tinyproxy(t);
	const d = await daemon(t, { over: byName(), env: { HTTPS_PROXY: px.url } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	const tunnels = (px.log().match(/CONNECT sim\.pm-e2e\.test/g) ?? []).length;
	assert.ok(tunnels >= 1, "through the proxy");
	await d.stop();

	await sim.reset();
	const d2 = await daemon(t, { over: byName(), env: { HTTPS_PROXY: px.url, NO_PROXY: ".example,pm-e2e.test" } });
	const r2 = await d2.post("/v1/chat/completions", CHAT);
	assert.equal(r2.status, 200, r2.text);
	assert.equal((px.log().match(/CONNECT sim\.pm-e2e\.test/g) ?? []).length, tunnels, "no new tunnel: NO_PROXY bypasses");
	assert.ok(d2.children("keyd").some((pid) => directToSim(pid) > 0), "keyd's connections go to the simulator directly");
});

test("a proxy that refuses CONNECT: 502 naming the proxy and its status; /readyz says the same", async (t) => {
	await sim.reset();
	const px = await tinyproxy(t, { connectPort: 1 });
	const d = await daemon(t, { waitReady: false, over: { ...byName(), https_proxy: px.url } });
	const m = await d.get("/v1/models", { timeoutMs: 15000 });
	assert.equal(m.status, 502, m.text);
	assert.equal(m.json().error.code, "upstream_proxy");
	assert.match(m.json().error.message, new RegExp(`proxy 127\\.0\\.0\\.1 port ${px.port} refused CONNECT ${NAME.replace(/\./g, "\\.")}:${simPort()}: 403`));
	const rz = await d.waitNotReadyReason();
	assert.match(rz.text, /refused CONNECT.*403/);
	assert.equal((await sim.requests()).length, 0, "nothing reached the simulator");
});

test("wrong proxy credentials: 502 naming the proxy's refusal (tinyproxy answers 401, RFC 9110 says 407)", async (t) => {
	await sim.reset();
	const px = await tinyproxy(t, { auth: { user: "pm", pass: "right" } });
	const d = await daemon(t, { waitReady: false, over: { ...byName(), https_proxy: `http://pm:wrong@127.0.0.1:${px.port}` } });
	const m = await d.get("/v1/models", { timeoutMs: 15000 });
	assert.equal(m.status, 502, m.text);
	assert.match(m.json().error.message, /refused CONNECT .*: 40[17] /);
});

test("a bad https_proxy stops the start with a message naming the key", async () => {
	const conf = `listen 127.0.0.1:0\nmetrics_listen none\nworkspace ${dir}/ws\nhttps_proxy socks5://127.0.0.1:1080\n`;
	const r = await runDaemonToExit(conf, { args: ["-t"] });
	assert.notEqual(r.code, 0);
	assert.match(r.log, /https_proxy.*only http:\/\/ proxies are supported/);
});

test("loopback origins never go through the proxy, as in Go", async (t) => {
	await sim.reset();
	const px = await tinyproxy(t);
	const d = await daemon(t, { env: { HTTPS_PROXY: px.url } });
	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	assert.doesNotMatch(px.log(), /CONNECT \S+:\d+/);
});
