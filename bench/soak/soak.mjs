// make soak: mixed traffic against a real daemon and the simulator for
// SOAK_MINUTES while workers and keyds are SIGKILLed, the configuration is
// reloaded and the simulator injects resets and stalls; then the request
// table (every failure classified), RSS/Pss/fds per process role per
// minute with a "flat" verdict, and a memory scan for the API key and the
// inference secrets.  See bench/README.md, "soak".  Not a test: no CI runs it.
//
//   node bench/soak/soak.mjs TOP_SRCDIR DAEMON_BINARY
//
// Environment (defaults in brackets): SOAK_MINUTES [30], SOAK_CLIENTS
// (concurrent client loops) [6], SOAK_WORKERS [2], SOAK_KILL_SECONDS (mean
// interval between kills; each interval uniform in [0.5, 1.5] x) [20],
// SOAK_RELOAD_SECONDS [10], SOAK_FAULT_SECONDS (mean interval between
// injected faults) [6], SOAK_SAMPLE_SECONDS (memory/fd samples) [60],
// SOAK_FLAT_RSS_PCT [10], SOAK_FLAT_FD_SLACK [4], SOAK_SEED (PRNG seed;
// default: from the clock, printed), SOAK_OUT (a JSON file with every
// number of the report), SOAK_SELFTEST=1 (the negative control: extra
// kills the soak does not record, so the run must fail), BENCH_KEEP_TMP=1
// (keep the daemon log).
import fs from "node:fs";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import {
	sleep, startSim, startDaemon, waitReady, daemonConf, ensureUser, tempDir, stopProc, tree, role,
} from "../lib/common.mjs";
import { scanMemoryAsync } from "../../tests/e2e/lib/harness.mjs";

const [top, daemonBin] = process.argv.slice(2);
if (!top || !daemonBin) { console.error("usage: soak.mjs TOP_SRCDIR DAEMON"); process.exit(2); }
const env = process.env;
const MINUTES = Number(env.SOAK_MINUTES ?? 30);
const CLIENTS = Number(env.SOAK_CLIENTS ?? 6);
const WORKERS = Number(env.SOAK_WORKERS ?? 2);
const KILL_S = Number(env.SOAK_KILL_SECONDS ?? 20);
const RELOAD_S = Number(env.SOAK_RELOAD_SECONDS ?? 10);
const FAULT_S = Number(env.SOAK_FAULT_SECONDS ?? 6);
const SAMPLE_S = Number(env.SOAK_SAMPLE_SECONDS ?? 60);
const FLAT_RSS_PCT = Number(env.SOAK_FLAT_RSS_PCT ?? 10);
const FLAT_FD_SLACK = Number(env.SOAK_FLAT_FD_SLACK ?? 4);
const SEED = Number(env.SOAK_SEED ?? (Date.now() % 2147483647));
// Daemon timers the traffic is shaped around (documented in bench/README.md).
const IDLE_S = 4, FIRST_BYTE_S = 8, BODY_S = 5, SHUTDOWN_S = 20, MAX_BODY = 1 << 20;
const REQ_TIMEOUT_MS = 45000; // a bound for a hang: nothing legitimate takes that long
const log = (m) => process.stderr.write(`soak: ${new Date().toISOString().slice(11, 19)} ${m}\n`);

// A small seeded PRNG (mulberry32): a run can be repeated with SOAK_SEED.
let seedState = SEED >>> 0;
function rand() {
	seedState = (seedState + 0x6d2b79f5) >>> 0;
	let t = seedState;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const jitter = (s) => s * 1000 * (0.5 + rand());

if (process.getuid() !== 0) { console.error("soak: run as root (the daemon drops to its user; the memory scan reads /proc/<pid>/mem)"); process.exit(1); }
ensureUser();
const dir = tempDir("bench-soak-");
const API_KEY = `soak-apikey-${Date.now().toString(36)}-${Math.floor(rand() * 1e9).toString(36)}-x`;
const startedAt = new Date();
log(`seed ${SEED}, ${MINUTES} min, ${CLIENTS} clients, ${WORKERS} workers, kill every ~${KILL_S} s, reload every ${RELOAD_S} s, fault every ~${FAULT_S} s`);

// --- processes -----------------------------------------------------------------

const sim = await startSim(top, ["--api-key", API_KEY, "--max-records", "4000", "--stream-chunks", "6", "--chunk-interval-ms", "25"]);
const simCa = fs.readFileSync(sim.info.ca_file);
let keepalive = 30;
const confText = () => daemonConf(sim, dir, {
	workers: WORKERS, max_body_size: MAX_BODY, client_header_timeout: `${BODY_S}s`, client_body_timeout: `${BODY_S}s`,
	stream_idle_timeout: `${IDLE_S}s`, upstream_first_byte_timeout: `${FIRST_BYTE_S}s`, shutdown_timeout: `${SHUTDOWN_S}s`,
	max_connections_per_address: 0, keepalive_timeout: `${keepalive}s`,
});
const d = await startDaemon(daemonBin, dir, confText());
await waitReady(d);
const confPath = path.join(dir, "daemon.conf");
const metricsPort = Number(/listening on 127\.0\.0\.1:(\d+) \(metrics\)/.exec(d.log())?.[1]);
if (!metricsPort) throw new Error("no metrics listener in the log");
log(`daemon pid ${d.pid} on port ${d.port}, simulator pid ${sim.pid}`);

function simCall(method, p, body) {
	return new Promise((resolve, reject) => {
		const u = new URL(sim.info.control_url + p);
		const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
		const req = https.request(u, { method, ca: simCa, agent: false, headers: data ? { "Content-Type": "application/json", "Content-Length": data.length } : {} }, (res) => {
			const c = [];
			res.on("data", (x) => c.push(x));
			res.on("end", () => {
				const t = Buffer.concat(c).toString();
				if (res.statusCode >= 300) return reject(new Error(`sim ${method} ${p}: ${res.statusCode} ${t.slice(0, 200)}`));
				try { resolve(JSON.parse(t)); } catch { resolve(t); }
			});
		});
		req.setTimeout(20000, () => req.destroy(new Error("sim control timeout")));
		req.on("error", reject);
		req.end(data);
	});
}

// --- one HTTP/1.1 exchange on its own connection ------------------------------
//
// Every request is sent with Connection: close on a fresh connection, so
// that a connection, its local port and the worker that accepted it
// identify the request (what a kill is matched against).  The response is
// parsed by hand: head, then Content-Length, chunked or close-delimited
// body; `complete` says whether the framing ended properly.

function exchange(o) {
	// o: {parts: [[bytes, delayMsBefore]...], vanish: null|"mid-body"|"sent"|"first-event",
	//     slowRead: bool}
	return new Promise((resolve) => {
		const r = { t0: Date.now(), t1: null, localPort: null, status: null, headers: {}, body: Buffer.alloc(0),
			complete: false, cut: null, err: null, headBytes: 0, vanished: false };
		const sock = net.connect({ host: "127.0.0.1", port: o.port ?? d.port });
		let buf = Buffer.alloc(0), headDone = false, mode = null, clen = 0, chunks = [], cstate = { need: null };
		let done = false;
		const finish = (cut, err) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			r.t1 = Date.now();
			if (cut) r.cut = cut;
			if (err) r.err = err;
			if (mode === "chunked") r.body = Buffer.concat(chunks);
			sock.destroy();
			resolve(r);
		};
		const timer = setTimeout(() => finish("timeout", `no end after ${REQ_TIMEOUT_MS} ms`), REQ_TIMEOUT_MS);
		sock.on("connect", async () => {
			r.localPort = sock.localPort;
			for (let i = 0; i < o.parts.length; i++) {
				const [bytes, delay] = o.parts[i];
				if (delay) await sleep(delay);
				if (done) return;
				if (o.vanish === "mid-body" && i === o.parts.length - 1) { r.vanished = true; return finish("vanished"); }
				sock.write(bytes);
			}
			if (o.vanish === "sent") { await sleep(5 + Math.floor(rand() * 40)); r.vanished = true; finish("vanished"); }
		});
		// Chunked decoding, incremental: returns true once the last chunk and the trailer end arrived.
		const dechunk = () => {
			for (;;) {
				if (cstate.need === null) {
					const nl = buf.indexOf("\r\n");
					if (nl < 0) return false;
					const line = buf.subarray(0, nl).toString("latin1");
					const n = parseInt(line, 16);
					if (!/^[0-9a-fA-F]+(;.*)?$/.test(line) || Number.isNaN(n)) { r.err = `bad chunk size line ${JSON.stringify(line.slice(0, 40))}`; return false; }
					buf = buf.subarray(nl + 2);
					if (n === 0) { cstate.need = -1; continue; }
					cstate.need = n;
				}
				if (cstate.need === -1) { // trailer: up to an empty line
					const nl = buf.indexOf("\r\n");
					if (nl < 0) return false;
					buf = buf.subarray(nl + 2);
					if (nl === 0) return true;
					continue;
				}
				if (buf.length < cstate.need + 2) return false;
				const piece = buf.subarray(0, cstate.need);
				chunks.push(Buffer.from(piece));
				onBody(piece);
				buf = buf.subarray(cstate.need + 2);
				cstate.need = null;
			}
		};
		let sawEvent = false;
		const onBody = (piece) => {
			if (o.vanish === "first-event" && !sawEvent && Buffer.concat([...chunks]).includes("\n\n")) {
				sawEvent = true;
				r.vanished = true;
				setImmediate(() => finish("vanished"));
			}
		};
		let paused = false, pausedUntil = 0;
		sock.on("data", (data) => {
			if (done) return;
			buf = buf.length ? Buffer.concat([buf, data]) : data;
			if (!headDone) {
				const e = buf.indexOf("\r\n\r\n");
				if (e < 0) { r.headBytes = buf.length; return; }
				const head = buf.subarray(0, e).toString("latin1").split("\r\n");
				const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
				if (!m) return finish("bad-head", `bad status line ${JSON.stringify(head[0].slice(0, 60))}`);
				r.status = Number(m[1]);
				for (const l of head.slice(1)) {
					const i = l.indexOf(":");
					if (i > 0) r.headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
				}
				headDone = true;
				buf = buf.subarray(e + 4);
				if (/chunked/i.test(r.headers["transfer-encoding"] ?? "")) mode = "chunked";
				else if (r.headers["content-length"] !== undefined) { mode = "length"; clen = Number(r.headers["content-length"]); }
				else mode = "close";
				if (o.slowRead && !paused) {
					// Stop reading for 2 s (the daemon's socket fills), then read slowly.
					paused = true;
					pausedUntil = Date.now() + 2000;
				}
			}
			if (mode === "chunked") {
				if (dechunk()) { r.complete = true; return finish(null); }
				if (r.err) return finish("bad-chunk");
			} else if (mode === "length") {
				r.body = buf;
				if (buf.length >= clen) { r.complete = buf.length === clen; return finish(null); }
			} else r.body = buf;
			if (o.slowRead && paused) {
				sock.pause();
				setTimeout(() => { if (!done) sock.resume(); }, Math.max(30, pausedUntil - Date.now()));
			}
		});
		sock.on("end", () => {
			if (mode === "close" && headDone) { r.complete = true; return finish(null); }
			finish(headDone ? "fin-mid-body" : (r.headBytes ? "fin-mid-head" : "fin-no-answer"));
		});
		sock.on("error", (e) => finish(headDone ? "reset-mid-body" : (r.headBytes ? "reset-mid-head" : "reset-no-answer"), e.code ?? e.message));
		sock.on("close", () => finish(headDone ? "closed-mid-body" : "closed-no-answer"));
	});
}

// --- the request mix ---------------------------------------------------------------

let seq = 0;
const HOST = "Host: 127.0.0.1\r\n";
function post(pathname, body, { ct = "application/json", extra = "", rid } = {}) {
	const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
	return { head: `POST ${pathname} HTTP/1.1\r\n${HOST}Content-Type: ${ct}\r\nContent-Length: ${b.length}\r\nX-Request-ID: ${rid}\r\nConnection: close\r\n${extra}\r\n`, body: b };
}
const whole = (p) => [[Buffer.concat([Buffer.from(p.head), p.body]), 0]];
const word = () => pick(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]) + Math.floor(rand() * 1e6);
const form = (b, parts) => parts.map(([n, v, f]) => `--${b}\r\nContent-Disposition: form-data; name="${n}"${f ? `; filename="${f}"` : ""}\r\n\r\n${v}\r\n`).join("") + `--${b}--\r\n`;
const sseEvents = (text) => text.split("\n\n").filter((e) => e.trim()).map((e) => {
	const ev = { event: null, data: "" };
	for (const l of e.split("\n")) {
		if (l.startsWith("event:")) ev.event = l.slice(6).trim();
		else if (l.startsWith("data:")) ev.data += (ev.data ? "\n" : "") + l.slice(5).replace(/^ /, "");
	}
	return ev;
});
const jsonOf = (r) => { try { return JSON.parse(r.body.toString()); } catch { return null; } };
const isErrorJson = (j) => j && typeof j === "object" && j.error && typeof j.error === "object" && typeof j.error.message === "string" &&
	(j.type === "error" || ("type" in j.error && "code" in j.error));

// A unary chat completion and its check: the simulator's echo of what was sent.
function chatEcho(rid) {
	const c = word();
	return { p: post("/v1/chat/completions", JSON.stringify({ model: "m", messages: [{ role: "user", content: c }] }), { rid }),
		check: (r) => (r.status === 200 && jsonOf(r)?.choices?.[0]?.message?.content === `Echo: ${c}` ? null : "not the echo") };
}
// bytes as n parts, each sent 200 ms after the one before (the first
// after firstMs).
function trickle(bytes, n, firstMs = 200) {
	const parts = [], step = Math.ceil(bytes.length / n);
	for (let i = 0; i < bytes.length; i += step) parts.push([bytes.subarray(i, i + step), i ? 200 : firstMs]);
	return parts;
}

// Each kind: weight, build(rid) -> exchange options + what it expects, check(r) -> null (ok) or why not.
const KINDS = {
	chat: { w: 10, make(rid) {
		const { p, check } = chatEcho(rid);
		return { parts: whole(p), check };
	} },
	chat_stream: { w: 10, make(rid) {
		const c = word();
		return { stream: true, parts: whole(post("/v1/chat/completions", JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: c }] }), { rid })),
			check: (r) => {
				const ev = sseEvents(r.body.toString());
				if (r.status !== 200 || ev.at(-1)?.data !== "[DONE]") return "no [DONE]";
				const text = ev.slice(0, -1).map((e) => { try { return JSON.parse(e.data).choices?.[0]?.delta?.content ?? ""; } catch { return "\0"; } }).join("");
				return text === `Echo: ${c}` ? null : "wrong streamed text";
			} };
	} },
	completions: { w: 5, make(rid) {
		const c = word();
		return { parts: whole(post("/v1/completions", JSON.stringify({ model: "m", prompt: c }), { rid })),
			check: (r) => (r.status === 200 && jsonOf(r)?.choices?.[0]?.text === `Echo: ${c}` ? null : "not the echo") };
	} },
	embeddings: { w: 5, make(rid) {
		return { parts: whole(post("/v1/embeddings", JSON.stringify({ model: "e", input: word() }), { rid })),
			check: (r) => (r.status === 200 && jsonOf(r)?.data?.[0]?.embedding?.length === 8 ? null : "no embedding") };
	} },
	messages: { w: 5, make(rid) {
		const c = word();
		return { parts: whole(post("/v1/messages", JSON.stringify({ model: "m", max_tokens: 64, messages: [{ role: "user", content: c }] }), { rid, extra: "anthropic-version: 2023-06-01\r\n" })),
			check: (r) => (r.status === 200 && jsonOf(r)?.content?.[0]?.text === `Echo: ${c}` ? null : "not the echo") };
	} },
	messages_stream: { w: 5, make(rid) {
		const c = word();
		return { stream: true, parts: whole(post("/v1/messages", JSON.stringify({ model: "m", max_tokens: 64, stream: true, messages: [{ role: "user", content: c }] }), { rid, extra: "anthropic-version: 2023-06-01\r\n" })),
			check: (r) => {
				const ev = sseEvents(r.body.toString());
				if (r.status !== 200 || ev.at(-1)?.event !== "message_stop") return "no message_stop";
				const text = ev.filter((e) => e.event === "content_block_delta").map((e) => { try { return JSON.parse(e.data).delta?.text ?? ""; } catch { return "\0"; } }).join("");
				return text === `Echo: ${c}` ? null : "wrong streamed text";
			} };
	} },
	models: { w: 3, make(rid) {
		return { parts: [[`GET /v1/models HTTP/1.1\r\n${HOST}X-Request-ID: ${rid}\r\nConnection: close\r\n\r\n`, 0]],
			check: (r) => (r.status === 200 && Array.isArray(jsonOf(r)?.data) && jsonOf(r).data.length > 0 ? null : "no model list") };
	} },
	transcription: { w: 4, make(rid) {
		const b = `soakb${Math.floor(rand() * 1e9)}`, c = word();
		return { parts: whole(post("/v1/audio/transcriptions", form(b, [["model", "whisper-large-v3"], ["language", "en"], ["file", c, "a.wav"]]), { rid, ct: `multipart/form-data; boundary=${b}` })),
			check: (r) => (r.status === 200 && jsonOf(r)?.text === `Echo: ${c}` ? null : "not the echo") };
	} },
	transcription_stream: { w: 2, make(rid) {
		const b = `soakb${Math.floor(rand() * 1e9)}`, c = word();
		return { stream: true, parts: whole(post("/v1/audio/transcriptions", form(b, [["model", "whisper-large-v3"], ["stream", "true"], ["file", c, "a.mp3"]]), { rid, ct: `multipart/form-data; boundary=${b}` })),
			check: (r) => {
				const ev = sseEvents(r.body.toString());
				if (r.status !== 200 || ev.at(-1)?.data !== "[DONE]") return "no [DONE]";
				const text = ev.slice(0, -1).map((e) => { try { return JSON.parse(e.data).choices?.[0]?.delta?.content ?? ""; } catch { return "\0"; } }).join("");
				return text === `Echo: ${c}` ? null : "wrong streamed text";
			} };
	} },
	unstructured: { w: 2, make(rid) {
		const c = word();
		return { parts: whole(post("/unstructured/general/v0/general", JSON.stringify({ text: c, other: "x" }), { rid })),
			check: (r) => (r.status === 200 && jsonOf(r)?.[0]?.text === c ? null : "not the elements") };
	} },
	// The routes' other spellings (route.c): /chat/completions,
	// /completions, /embeddings, /models, /v1/v1/models.
	alias: { w: 2, make(rid) {
		const c = word();
		const [m, p, body, ok] = pick([
			["POST", "/chat/completions", { model: "m", messages: [{ role: "user", content: c }] }, (j) => j?.choices?.[0]?.message?.content === `Echo: ${c}`],
			["POST", "/completions", { model: "m", prompt: c }, (j) => j?.choices?.[0]?.text === `Echo: ${c}`],
			["POST", "/embeddings", { model: "e", input: c }, (j) => j?.data?.[0]?.embedding?.length === 8],
			["GET", "/models", null, (j) => Array.isArray(j?.data)],
			["GET", "/v1/v1/models", null, (j) => Array.isArray(j?.data)],
		]);
		const parts = m === "POST" ? whole(post(p, JSON.stringify(body), { rid })) : [[`GET ${p} HTTP/1.1\r\n${HOST}X-Request-ID: ${rid}\r\nConnection: close\r\n\r\n`, 0]];
		return { parts, check: (r) => (r.status === 200 && ok(jsonOf(r)) ? null : `${p}: not the answer`) };
	} },
	// /readyz on the API port: one line; 503 is a right answer while no
	// pair is ready (both killed or respawning).
	readyz: { w: 1, make(rid) {
		return { parts: [[`GET /readyz HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`, 0]],
			check: (r) => ((r.status === 200 || r.status === 503) && r.body.length < 300 ? null : `status ${r.status}, ${r.body.length} bytes`) };
	} },
	metrics: { w: 1, make(rid) {
		return { port: metricsPort, parts: [[`GET /metrics HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`, 0]],
			check: (r) => (r.status === 200 && r.body.includes("# TYPE privatemode_build_info") ? null : "no metrics") };
	} },
	healthz: { w: 2, make(rid) {
		return { parts: [[`GET /healthz HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`, 0]], check: (r) => (r.status === 200 ? null : "not 200") };
	} },
	// Bad input: the documented status with an error JSON, nothing forwarded.
	bad_json: { w: 2, bad: 400, make(rid) { return { parts: whole(post("/v1/chat/completions", '{"model":"m","messages":[}', { rid })) }; } },
	bad_oversize: { w: 1, bad: 413, make(rid) {
		// The head announces more than max_body_size; the body is never sent
		// (a client writing on into a closed connection would get an RST and
		// could lose the 413).
		return { parts: [[`POST /v1/chat/completions HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nContent-Length: ${MAX_BODY * 2}\r\nX-Request-ID: ${rid}\r\nConnection: close\r\n\r\n`, 0]] };
	} },
	bad_multipart: { w: 1, bad: 400, make(rid) {
		return { parts: whole(post("/v1/audio/transcriptions", "this is not a multipart body\r\n", { rid, ct: "multipart/form-data; boundary=abc123" })) };
	} },
	bad_chunked: { w: 1, bad: 400, make(rid) {
		return { parts: [[`POST /v1/chat/completions HTTP/1.1\r\n${HOST}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nX-Request-ID: ${rid}\r\nConnection: close\r\n\r\nzz\r\n{"model":"m"}\r\n0\r\n\r\n`, 0]] };
	} },
	// Slow clients.
	slow_body: { w: 2, make(rid) {
		// The body in 12 pieces over ~2.4 s (client_body_timeout 5 s between reads).
		const { p, check } = chatEcho(rid);
		return { parts: [[p.head, 0], ...trickle(p.body, 12)], check };
	} },
	slow_head: { w: 2, make(rid) {
		// The head in 6 pieces over ~1.2 s (client_header_timeout 5 s in
		// all), then the body: a reload must not drop it as idle, and a
		// keyd killed meanwhile must get it a 503, not a bare close.
		const { p, check } = chatEcho(rid);
		return { parts: [...trickle(Buffer.from(p.head), 6, 0), [p.body, 200]], check };
	} },
	slow_read: { w: 2, make(rid) {
		// A ~1 MB stream the client does not read for 2 s, then reads in
		// small steps: the daemon meets a full socket (backpressure).
		const c = word() + "-" + "y".repeat(90);
		return { stream: true, slowRead: true,
			parts: whole(post("/v1/chat/completions", JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: c }] }), { rid, extra: "X-Sim-Echo-Repeat: 5000\r\nX-Sim-Stream-Chunks: 8\r\n" })),
			check: (r) => {
				const ev = sseEvents(r.body.toString());
				if (r.status !== 200 || ev.at(-1)?.data !== "[DONE]") return "no [DONE]";
				const text = ev.slice(0, -1).map((e) => { try { return JSON.parse(e.data).choices?.[0]?.delta?.content ?? ""; } catch { return "\0"; } }).join("");
				return text === `Echo: ${c}`.repeat(5000) ? null : `wrong streamed text (${text.length} chars)`;
			} };
	} },
	// Vanishing clients: they close; success is only that nothing else broke.
	vanish_body: { w: 2, vanish: true, make(rid) {
		const p = post("/v1/chat/completions", JSON.stringify({ model: "m", messages: [{ role: "user", content: word() }] }), { rid });
		return { vanish: "mid-body", parts: [[p.head, 0], [p.body.subarray(0, 20), 10], [p.body.subarray(20), 100]] };
	} },
	vanish_sent: { w: 2, vanish: true, make(rid) {
		return { vanish: "sent", parts: whole(post("/v1/chat/completions", JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: word() }] }), { rid })) };
	} },
	vanish_stream: { w: 2, vanish: true, make(rid) {
		return { vanish: "first-event", parts: whole(post("/v1/chat/completions", JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: word() }] }), { rid, extra: "X-Sim-Stream-Chunks: 30\r\nX-Sim-Chunk-Interval-Ms: 50\r\n" })) };
	} },
};
const KIND_NAMES = Object.keys(KINDS);
const TOTAL_W = KIND_NAMES.reduce((s, k) => s + KINDS[k].w, 0);
function pickKind() {
	let x = rand() * TOTAL_W;
	for (const k of KIND_NAMES) { x -= KINDS[k].w; if (x < 0) return k; }
	return KIND_NAMES[0];
}

// The failure of a request as the client saw it: is it clean?
//   unary (or a stream answered with an error status): a complete answer,
//   status >= 400, an error JSON body (OpenAI {error:{message,type,param,
//   code}} or Anthropic {type:"error",error:{...}});
//   stream (status 200): the framing ended properly (last chunk) and the
//   last event is an error JSON, with no [DONE] / message_stop.
function cleanError(r) {
	if (!r.complete || r.status === null) return false;
	if (r.status >= 400) return isErrorJson(jsonOf(r));
	if (r.status === 200 && /event-stream/.test(r.headers["content-type"] ?? "")) {
		const text = r.body.toString();
		if (!text.endsWith("\n\n")) return false;
		const last = sseEvents(text).at(-1);
		try { return isErrorJson(JSON.parse(last.data)); } catch { return false; }
	}
	return false;
}
// A stream cut by a killed worker: what arrived is whole events (or nothing).
function wholeEvents(r) {
	if (r.status === null) return r.headBytes === 0;
	if (r.status !== 200) return r.complete;
	const text = r.body.toString();
	return text === "" || text.endsWith("\n\n");
}

// --- the run -------------------------------------------------------------------------

const results = []; // {rid, kind, ...exchange result, problem}
let stopping = false;
async function clientLoop() {
	while (!stopping) {
		const kind = pickKind();
		const rid = `soak-${++seq}`;
		const spec = KINDS[kind].make(rid);
		const r = await exchange(spec);
		r.rid = rid;
		r.kind = kind;
		if (KINDS[kind].vanish) r.problem = r.vanished ? null : `did not vanish (${r.cut ?? "answered"})`;
		else if (KINDS[kind].bad) r.problem = r.complete && r.status === KINDS[kind].bad && isErrorJson(jsonOf(r)) ? null : `expected ${KINDS[kind].bad} with an error JSON`;
		else r.problem = r.complete ? spec.check(r) : "incomplete";
		if (r.problem) { r.clean = cleanError(r); r.whole = wholeEvents(r); r.text = r.body.toString().slice(-300); }
		r.body = null; // keep memory flat on our side
		results.push(r);
	}
}

// Kills.  The victim's worker is stopped (SIGSTOP) while its client sockets
// are read from /proc, so the set of connections it holds is exact; then
// the victim gets SIGKILL (and the worker SIGCONT if the victim was keyd).
const kills = [];
function children() {
	const out = [];
	for (const pid of tree(d.pid)) {
		if (pid === d.pid) continue;
		const r = role(pid);
		if (r !== "worker" && r !== "keyd") continue;
		try {
			const a = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
			const st = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
			const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
			if (Number(f[1]) !== d.pid) continue;
			out.push({ pid, role: r, instance: Number(a[a.indexOf("-I") + 1]), start: Number(f[19]) });
		} catch { /* gone */ }
	}
	return out;
}
// Server-side sockets of pid (local port = the daemon's): the client ports.
function clientPortsOf(pid) {
	const inodes = new Set();
	try {
		for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
			try { const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)); if (m) inodes.add(m[1]); } catch { /* closed */ }
		}
	} catch { return new Set(); }
	const ports = new Set();
	for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
		let t = "";
		try { t = fs.readFileSync(f, "utf8"); } catch { continue; }
		for (const l of t.split("\n").slice(1)) {
			const c = l.trim().split(/\s+/);
			if (c.length < 10 || !inodes.has(c[9])) continue;
			const lp = parseInt(c[1].split(":")[1], 16);
			if (lp === d.port || lp === metricsPort) ports.add(parseInt(c[2].split(":")[1], 16));
		}
	}
	return ports;
}
// A child's partner: same instance, forked right next to it (start times
// in clock ticks).  Between fork and exec a child does not show its role
// yet: a keyd's own worker may not be visible, and the nearest worker of
// that instance would be the previous generation's.
const PAIR_TICKS = 5;
function partnerOf(kids, k) {
	return kids.filter((o) => o.role !== k.role && o.instance === k.instance &&
		Math.abs(o.start - k.start) <= PAIR_TICKS)
		.sort((a, b) => Math.abs(a.start - k.start) - Math.abs(b.start - k.start))[0];
}
function killOne(record = true) {
	const kids = children();
	// Only a pair whose halves both show: the kill's partner is then exact.
	const whole = kids.filter((k) => partnerOf(kids, k));
	if (!whole.length) return;
	const victim = pick(whole);
	const partner = partnerOf(kids, victim);
	const worker = victim.role === "worker" ? victim : partner;
	if (worker) try { process.kill(worker.pid, "SIGSTOP"); } catch { /* gone */ }
	const ports = worker ? clientPortsOf(worker.pid) : new Set();
	const t = Date.now();
	try { process.kill(victim.pid, "SIGKILL"); } catch { /* gone */ }
	if (worker && worker !== victim) try { process.kill(worker.pid, "SIGCONT"); } catch { /* gone */ }
	if (record) kills.push({ t, role: victim.role, pid: victim.pid, partner: partner?.pid ?? null, worker: worker?.pid ?? null, ports });
	else unrecordedKills.push(victim.pid);
}
// SOAK_SELFTEST=1: the soak's own negative control.  Every 15 s a worker
// or keyd is killed without the kill being recorded, so what it breaks
// must come out unexplained (and its death too) and the soak must fail.
const SELFTEST = env.SOAK_SELFTEST === "1";
const unrecordedKills = [];

// Reloads: the configuration changes every time (keepalive_timeout 30 s / 31 s).
let reloads = 0;
function reloadOnce() {
	keepalive = keepalive === 30 ? 31 : 30;
	fs.writeFileSync(confPath, confText());
	process.kill(d.pid, "SIGHUP");
	reloads++;
}

// Faults: one at a time, each for one request (times), chosen at random.
const FAULTS = [
	["reset", { times: 1 }], // retried by the daemon: usually invisible to the client
	["reset", { times: 2 }], // the retry meets it too: 502
	["reset-mid-stream", { after: 1, times: 1 }],
	["stall-stream", { after: 1, times: 1 }],
	["window-stall", { after: 0, times: 1 }],
	["slow-first-byte", { delayMs: 1500, times: 1 }],
	["slow-first-byte", { delayMs: (FIRST_BYTE_S + 4) * 1000, times: 1 }],
];
const faultsArmed = {};
async function faultOnce() {
	const [name, opts] = pick(FAULTS);
	const key = `${name}${opts.delayMs ? `:${opts.delayMs}ms` : ""}${opts.times > 1 ? `x${opts.times}` : ""}`;
	faultsArmed[key] = (faultsArmed[key] ?? 0) + 1;
	await simCall("PUT", "/faults", { [name]: opts });
}

// Simulator records: which request each upstream attempt belongs to, what
// fault hit it.  A record is final once it has a status or an outcome;
// until then it is fetched again at the next poll.
const simById = new Map(); // record id -> {rid, faults, outcome, sessionId, status}
let lastRec = 0, recGaps = 0, recPolls = 0;
async function pollRecords() {
	// Unfinished records are fetched again for a minute at most (a record
	// that never ends must not make every poll fetch everything).
	let since = lastRec;
	const now = Date.now();
	for (const [id, x] of simById) if (x.status === null && x.outcome === null && id <= since && now - x.seen < 60000) since = id - 1;
	const recs = await simCall("GET", `/requests?since=${since}`);
	if (!Array.isArray(recs)) throw new Error(`records: not a list: ${String(recs).slice(0, 100)}`);
	recPolls++;
	for (const x of recs) {
		if (x.id > lastRec + 1 && x.id > since + 1 && lastRec) recGaps += x.id - Math.max(lastRec, since) - 1;
		lastRec = Math.max(lastRec, x.id);
		// The client's X-Request-ID goes upstream as it is (and, with an
		// attempt suffix _N, as Privatemode-User-Request-ID).
		const h = x.headers?.["x-request-id"] ?? x.headers?.["privatemode-user-request-id"]?.replace(/_\d+$/, "") ?? null;
		simById.set(x.id, { seen: simById.get(x.id)?.seen ?? now, rid: h, faults: x.faults ?? [], outcome: x.outcome, sessionId: x.sessionId, status: x.status });
	}
	// Final records of no interest are dropped (keep the map small).
	for (const [id, x] of simById) if ((x.status !== null || x.outcome !== null) && !x.faults.length && !x.outcome && !x.rid?.startsWith("soak-")) simById.delete(id);
}
function simIndex() {
	const byRid = new Map(), resetSessions = new Set();
	for (const x of simById.values()) {
		if (x.faults.some((f) => /reset/.test(f))) resetSessions.add(x.sessionId);
		if (!x.rid?.startsWith("soak-")) continue;
		if (!byRid.has(x.rid)) byRid.set(x.rid, []);
		byRid.get(x.rid).push(x);
	}
	return { byRid, resetSessions };
}

// Memory and descriptors, per process, by role.
const samples = [];
const t0 = Date.now();
function sampleProcs() {
	const minute = Math.round((Date.now() - t0) / 6000) / 10;
	const procs = [];
	for (const pid of tree(d.pid)) {
		const r = pid === d.pid ? "parent" : role(pid);
		if (!r) continue;
		try {
			const s = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
			const rss = Number(/^Rss:\s+(\d+)/m.exec(s)?.[1] ?? 0), pss = Number(/^Pss:\s+(\d+)/m.exec(s)?.[1] ?? 0);
			const fds = fs.readdirSync(`/proc/${pid}/fd`).length;
			procs.push({ pid, role: r, rss, pss, fds });
		} catch { /* gone */ }
	}
	samples.push({ minute, t: Date.now(), procs });
}

const tEnd = t0 + MINUTES * 60000;
const timers = [];
function every(fnMs, fn) {
	let h;
	const loop = async () => {
		if (stopping) return;
		try { await fn(); } catch (e) { log(`${fn.name}: ${e.message}`); }
		if (!stopping) h = setTimeout(loop, fnMs());
		timers[idx] = h;
	};
	const idx = timers.length;
	timers.push(null);
	h = setTimeout(loop, fnMs());
	timers[idx] = h;
}
sampleProcs();
every(() => jitter(KILL_S), () => killOne());
if (SELFTEST) every(() => 15000, () => killOne(false));
every(() => RELOAD_S * 1000, reloadOnce);
every(() => jitter(FAULT_S), faultOnce);
every(() => 2000, pollRecords);
let minute = 0;
every(() => SAMPLE_S * 1000, () => {
	sampleProcs();
	minute = samples.at(-1).minute;
	const done = results.length, bad = results.filter((r) => r.problem).length;
	log(`min ${minute}: ${done} requests, ${bad} not ok so far, ${kills.length} kills, ${reloads} reloads; ` +
		`parent RSS ${samples.at(-1).procs.find((p) => p.role === "parent")?.rss} kB, ${samples.at(-1).procs.length} processes`);
});
const loops = Array.from({ length: CLIENTS }, () => clientLoop());
while (Date.now() < tEnd) {
	await sleep(1000);
	if (d.exited()) { log("the daemon exited!"); break; }
}
stopping = true;
for (const h of timers) clearTimeout(h);
log("stopping traffic; waiting for the requests in flight");
await Promise.all(loops);
await simCall("DELETE", "/faults").catch(() => {});
await sleep(2500);
await pollRecords().catch((e) => log(`records: ${e.message}`));
const daemonAlive = !d.exited();

// --- classification ---------------------------------------------------------------
//
// Each request that did not get its expected answer gets exactly one class:
//   kill-worker   its connection was held by a worker we SIGKILLed (at the
//                 kill, the worker stopped) and the request was in flight
//                 then; any cut counts (a killed process cannot say more),
//                 but whether only whole events arrived is counted.
//   kill-keyd     held by the worker whose keyd we SIGKILLed, in flight at
//                 the kill, and the answer is a clean error (below): that
//                 worker lives on and must say so (502 keyd_lost); or sent
//                 at most 1 s after the kill, answered by that worker (its
//                 access log line) with a clean error (503
//                 keyd_unavailable: accepted after the kill, before the
//                 worker saw its keyd go).
//   fault         an upstream attempt of this request was hit by an injected
//                 fault (the simulator's record of it, found by the request
//                 id the daemon forwards upstream as X-Request-ID,
//                 names the fault, or it was cut on the HTTP/2 session a
//                 reset fault tore down: its record is on that session and
//                 the error says the connection was reset or closed), and
//                 the answer is a clean error.
//   unexplained   anything else, e.g. a clean error without a kill or a
//                 fault, a cut connection without a kill, a fault or keyd
//                 kill answered uncleanly, a timeout.  Any makes the soak fail.
const { byRid: simRecs, resetSessions } = simIndex();
// Which worker answered each request (the access log line names its pid).
const servedBy = new Map();
for (const m of d.log().matchAll(/worker\[\d+\] pid (\d+): info: \S+ "[^"]*" \d{3} .* id=(soak-\d+)/g)) servedBy.set(m[2], Number(m[1]));
function classify(r) {
	let k = kills.find((k) => k.ports.has(r.localPort) && r.t0 <= k.t && (r.t1 ?? Infinity) >= k.t);
	if (k && k.role === "worker") return "kill-worker";
	// Sent before the kill but still in the listen queue while the worker
	// was stopped for the snapshot: accepted after the kill by the worker
	// whose keyd was killed, answered by it (its access log line).
	if (!k && r.clean) k = kills.find((k) => k.role === "keyd" && servedBy.get(r.rid) === k.worker && r.t0 <= k.t + 1000 && (r.t1 ?? Infinity) >= k.t);
	if (k && k.role === "keyd") return r.clean ? "kill-keyd" : "unexplained";
	const recs = simRecs.get(r.rid) ?? [];
	// A reset tears down the whole HTTP/2 session: its other streams end
	// too, even one the simulator had written to the end (its record then
	// says complete, but the last frames were lost in the reset).
	const hit = recs.some((x) => x.faults.length > 0 ||
		(resetSessions.has(x.sessionId) && /reset by peer|upstream_closed|connection closed/i.test(`${x.outcome ?? ""} ${r.text ?? ""}`)));
	if (hit) return r.clean ? "fault" : "unexplained";
	return "unexplained";
}
const CLASSES = ["kill-worker", "kill-keyd", "fault", "unexplained"];
const table = {};
for (const k of KIND_NAMES) table[k] = { sent: 0, ok: 0, failed: 0, ...Object.fromEntries(CLASSES.map((c) => [c, 0])) };
const unexplained = [];
const causes = {};
let killCutPartial = 0;
for (const r of results) {
	const row = table[r.kind];
	row.sent++;
	if (!r.problem) { row.ok++; continue; }
	row.failed++;
	r.cls = classify(r);
	row[r.cls]++;
	if (r.cls === "kill-worker" && !r.whole) killCutPartial++;
	if (r.cls === "unexplained") unexplained.push(r);
	// What the failures were: the fault (or the killed role) and the error code.
	const code = /"code":"([a-z_]+)"/.exec(r.text ?? "")?.[1] ?? /"type":"([a-z_]+_error)"/.exec(r.text ?? "")?.[1] ?? r.cut ?? `status ${r.status}`;
	const cause = r.cls === "fault" ? [...new Set((simRecs.get(r.rid) ?? []).flatMap((x) => x.faults.length ? x.faults : ["reset (same session)"]))].join("+") : r.cls;
	const key = `${cause}: ${r.status ?? "no answer"} ${code}`;
	causes[key] = (causes[key] ?? 0) + 1;
}
const tot = { sent: 0, ok: 0, failed: 0, ...Object.fromEntries(CLASSES.map((c) => [c, 0])) };
for (const row of Object.values(table)) for (const k of Object.keys(tot)) tot[k] += row[k];

// Unexpected deaths: every child the parent saw die of a signal or exit
// non-zero must be one we killed, or the partner of one.
const daemonLog = d.log();
const ours = new Set(kills.flatMap((k) => [k.pid, k.partner]).filter(Boolean));
const deaths = [];
for (const m of daemonLog.matchAll(/(worker|keyd)\[(\d+)\] \(pid (\d+)\) (killed by signal \d+[^\n]*|exited with status \d+|exited unexpectedly)/g))
	if (!ours.has(Number(m[3]))) deaths.push(m[0]);
// A sanitizer build (build-asan) reports into the same log.
const sanitizer = /ERROR: (Address|Leak)Sanitizer|runtime error:|Sanitizer has encountered/.exec(daemonLog);
const reloadsSeen = (daemonLog.match(/configuration reloaded \(generation/g) ?? []).length;
const reloadsFailed = (daemonLog.match(/reload failed/g) ?? []).length;

// --- memory / fd trend ------------------------------------------------------------
//
// Workers and keyds are replaced at every reload (a new generation every
// RELOAD_S) and at every kill, so no child lives long: their trend is per
// role (the largest and the median of the live processes of that role at
// each sample), next to the parent's own, and the whole tree's sum.
// "Flat": the maximum over the last window (the last 5 minutes; for runs
// under 15 minutes the last third) is at most the baseline (the sample at
// minute 5; for runs under 15 minutes, at a third of the run) plus
// SOAK_FLAT_RSS_PCT per cent for RSS, plus SOAK_FLAT_FD_SLACK for
// descriptors of one process (for the tree: that many per process).
sampleProcs();
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor((s.length - 1) / 2)] : 0; };
const rows = samples.map((s) => {
	const by = (rl) => s.procs.filter((p) => p.role === rl);
	const par = by("parent")[0] ?? {};
	const w = by("worker"), k = by("keyd");
	return {
		minute: s.minute, n: s.procs.length,
		parentRss: par.rss, parentPss: par.pss, parentFds: par.fds,
		workerRssMax: Math.max(0, ...w.map((p) => p.rss)), workerRssMed: median(w.map((p) => p.rss)), workerFdsMax: Math.max(0, ...w.map((p) => p.fds)),
		keydRssMax: Math.max(0, ...k.map((p) => p.rss)), keydRssMed: median(k.map((p) => p.rss)), keydFdsMax: Math.max(0, ...k.map((p) => p.fds)),
		treeRss: s.procs.reduce((a, p) => a + p.rss, 0), treePss: s.procs.reduce((a, p) => a + p.pss, 0), treeFds: s.procs.reduce((a, p) => a + p.fds, 0),
	};
});
const last = rows.length - 1;
const baseMin = MINUTES >= 15 ? 5 : MINUTES / 3;
const winFrom = MINUTES >= 15 ? MINUTES - 5 : (2 * MINUTES) / 3;
const base = rows.reduce((a, x) => (Math.abs(x.minute - baseMin) < Math.abs(a.minute - baseMin) ? x : a), rows[0]);
const win = rows.filter((x) => x.minute >= winFrom - 0.05 && x.minute > base.minute);
const verdicts = [];
function flat(name, key, kind) {
	if (!win.length) { verdicts.push({ name, verdict: "n/a (run too short)" }); return true; }
	const b = base[key], mx = Math.max(...win.map((x) => x[key] ?? 0));
	const limit = kind === "rss" ? b * (1 + FLAT_RSS_PCT / 100) : b + FLAT_FD_SLACK * (key === "treeFds" ? Math.max(...win.map((x) => x.n)) : 1);
	const ok = mx <= limit;
	verdicts.push({ name, base: b, max: mx, limit: Math.round(limit), verdict: ok ? "flat" : "NOT FLAT" });
	return ok;
}
const flatOk = [
	flat("parent RSS (kB)", "parentRss", "rss"), flat("parent fds", "parentFds", "fd"),
	flat("worker RSS, median of live (kB)", "workerRssMed", "rss"), flat("worker fds, max of live", "workerFdsMax", "fd"),
	flat("keyd RSS, median of live (kB)", "keydRssMed", "rss"), flat("keyd fds, max of live", "keydFdsMax", "fd"),
].every(Boolean);

// --- the secret scan ----------------------------------------------------------------
//
// After the traffic: the API key and every inference secret the simulator
// ever handed out (one per keyd spawned) must be in no parent or worker
// memory; each live keyd must hold the API key and the inference secret of
// its own exchange (the positive control: the scan finds what it looks for).
log("scanning memory");
const secrets = await simCall("GET", "/secrets");
const needles = [Buffer.from(API_KEY), ...secrets.map((s) => Buffer.from(s.secret, "hex"))];
const scan = { secrets: secrets.length, nonKeyd: [], keyd: [] };
let scanOk = daemonAlive;
for (const pid of tree(d.pid)) {
	const rl = pid === d.pid ? "parent" : role(pid);
	if (!rl) continue;
	let res;
	try { res = await scanMemoryAsync(pid, needles); } catch (e) { log(`scan ${pid}: ${e.message}`); scanOk = false; continue; }
	const key = res.counts[0], sec = res.counts.slice(1).reduce((a, b) => a + b, 0);
	const e = { pid, role: rl, mib: Math.round(res.scanned / 1048576), apiKey: key, secrets: sec };
	if (rl === "keyd") { scan.keyd.push(e); if (key === 0 || sec === 0) scanOk = false; } else { scan.nonKeyd.push(e); if (key || sec) scanOk = false; }
}
if (!scan.keyd.length) scanOk = false;

// A clean stop: SIGTERM, the parent exits 0.
process.kill(d.pid, "SIGTERM");
const exit = await new Promise((res) => {
	const t = setTimeout(() => res({ code: null, signal: "timeout" }), (SHUTDOWN_S + 15) * 1000);
	d.proc.once("exit", (code, signal) => { clearTimeout(t); res({ code, signal }); });
	if (d.exited()) { clearTimeout(t); res({ code: d.proc.exitCode, signal: d.proc.signalCode }); }
});
await stopProc(sim.proc);

// --- report -------------------------------------------------------------------------

const out = [];
const p = (s = "") => out.push(s);
const mins = ((Date.now() - t0) / 60000).toFixed(1);
if (SELFTEST) p(`**SELFTEST**: ${unrecordedKills.length} kills not recorded (pids ${unrecordedKills.join(", ")}); this run must FAIL.\n`);
p(`## soak: ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC, ${MINUTES} min of traffic (${mins} min with the scan), seed ${SEED}`);
p();
p(`${CLIENTS} client loops, ${WORKERS} workers; ${kills.length} kills (${kills.filter((k) => k.role === "worker").length} workers, ${kills.filter((k) => k.role === "keyd").length} keyds), ` +
	`${reloads} SIGHUPs (${reloadsSeen} "configuration reloaded", ${reloadsFailed} failed), ${Object.values(faultsArmed).reduce((a, b) => a + b, 0)} faults armed ` +
	`(${Object.entries(faultsArmed).map(([k, v]) => `${k} ${v}`).join(", ")}); machine: ${fs.readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "?"}, ` +
	`${(await import("node:os")).cpus().length} CPUs, load ${fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} at the end`);
p();
p(`| kind | sent | ok | failed | kill-worker | kill-keyd | fault | unexplained |`);
p(`| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const [k, row] of [...Object.entries(table), ["**total**", tot]])
	p(`| ${k} | ${row.sent} | ${row.ok} | ${row.failed} | ${row["kill-worker"]} | ${row["kill-keyd"]} | ${row.fault} | ${row.unexplained} |`);
p();
p(`Failures by cause (fault or class: status and error code, or how the connection ended): ${Object.entries(causes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ×${v}`).join("; ")}`);
p();
p(`kill-worker cuts with a partial event or body: ${killCutPartial}; simulator records: ${lastRec} (${recPolls} polls, ${simRecs.size} soak requests matched, ${recGaps} missed between polls); ` +
	`children that died without being killed by the soak: ${deaths.length}${deaths.length ? ` (${deaths.slice(0, 5).join("; ")})` : ""}`);
p();
p(`| minute | procs | parent RSS / Pss kB | parent fds | worker RSS med / max kB | worker fds max | keyd RSS med / max kB | keyd fds max | tree RSS / Pss kB | tree fds |`);
p(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const x of rows)
	p(`| ${x.minute} | ${x.n} | ${x.parentRss} / ${x.parentPss} | ${x.parentFds} | ${x.workerRssMed} / ${x.workerRssMax} | ${x.workerFdsMax} | ${x.keydRssMed} / ${x.keydRssMax} | ${x.keydFdsMax} | ${x.treeRss} / ${x.treePss} | ${x.treeFds} |`);
p();
p(`Flat (baseline minute ${base.minute}, window minute ${win[0]?.minute ?? "-"}..${win.at(-1)?.minute ?? "-"}; RSS within ${FLAT_RSS_PCT} %, fds within ${FLAT_FD_SLACK}):`);
p();
p(`| series | baseline | max in window | limit | verdict |`);
p(`| --- | ---: | ---: | ---: | --- |`);
for (const v of verdicts) p(`| ${v.name} | ${v.base ?? "-"} | ${v.max ?? "-"} | ${v.limit ?? "-"} | ${v.verdict} |`);
p();
p(`Secret scan (API key + ${scan.secrets} inference secrets): ` +
	scan.nonKeyd.map((e) => `${e.role} ${e.pid} (${e.mib} MiB): ${e.apiKey + e.secrets} found`).join(", ") +
	`; positive control: ` + scan.keyd.map((e) => `keyd ${e.pid} holds the API key (${e.apiKey}x) and an inference secret (${e.secrets}x)`).join(", "));
p();
p(`Stop: SIGTERM, parent exit ${exit.code ?? exit.signal}.${sanitizer ? ` **Sanitizer report in the log**: ${daemonLog.slice(sanitizer.index, sanitizer.index + 1500)}` : ""}`);
const failed = unexplained.length > 0 || deaths.length > 0 || sanitizer !== null || !scanOk || !flatOk || !daemonAlive || exit.code !== 0 || reloadsFailed > 0;
p();
p(`**Verdict: ${failed ? "FAIL" : "pass"}** (${unexplained.length} unexplained failures, ${deaths.length} unexplained deaths, scan ${scanOk ? "clean" : "FAILED"}, RSS/fds ${flatOk ? "flat" : "NOT flat"}, daemon ${daemonAlive ? "alive to the end" : "DIED"})`);
if (unexplained.length) {
	p();
	p("Unexplained failures (first 20):");
	for (const r of unexplained.slice(0, 20))
		p(`* ${r.rid} ${r.kind} port ${r.localPort} ${new Date(r.t0).toISOString().slice(11, 23)}+${r.t1 - r.t0}ms: ${r.problem}; status ${r.status} cut ${r.cut} err ${r.err} clean ${r.clean} sim ${JSON.stringify(simRecs.get(r.rid) ?? [])} tail ${JSON.stringify(r.text ?? "")}`);
}
console.log(out.join("\n"));
if (env.SOAK_OUT) fs.writeFileSync(env.SOAK_OUT, JSON.stringify({ table, tot, causes, kills: kills.map((k) => ({ ...k, ports: k.ports.size })), reloads, reloadsSeen, faultsArmed, rows, verdicts, scan, exit, deaths, unexplained: unexplained.map((r) => ({ ...r, body: undefined })) }, null, 1));
if (env.BENCH_KEEP_TMP) log(`kept ${dir} (daemon log: ${d.logPath})`);
process.exit(failed ? 1 : 0);
