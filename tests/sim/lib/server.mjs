// The simulated Privatemode deployment on one loopback listener: API
// gateway routes (attest, secret, inference), the CDN's manifest, AMD's KDS
// and the test-only control API under /__sim/.  Over TLS it speaks HTTP/2
// and HTTP/1.1 (ALPN h2, http/1.1; --no-h2: http/1.1 only); plain --http
// is HTTP/1.1.
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { X509Certificate } from "node:crypto";
import { attest, vendorMaterial, ATTESTATION_FAULTS } from "./coordinator.mjs";
import { exchange, SecretStore, SECRET_FAULTS } from "./secretsvc.mjs";
import { Faults, GLOBAL_FAULTS, INFERENCE_FAULTS, TRANSPORT_FAULTS, ALL_FAULTS, HTTP2_ERA_FAULTS } from "./faults.mjs";
import { routeFor, runInference } from "./inference.mjs";
import { H2_ERRORS, h2ErrorName, httpError, resetResponse, resetSocket, sendJson, sendText } from "./http.mjs";
import { Connections, DEFAULT_H2_MAX_STREAMS, H2_MAX_SEND_HEADER_BLOCK, admit, connOf, hugeHead, isH2, protocolOf, recordReset, stallBody } from "./h2.mjs";
import { stalled } from "./sse.mjs";
import { Replay } from "./replay.mjs";
import { tcbParts } from "./snp.mjs";
import { isPcsPath, pcsAnswer } from "./tdx.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", () => resolve(Buffer.concat(chunks)));
		req.on("error", reject);
	});
}

// What a refused stream's record calls the route.
function kindOf(method, path) {
	if (path === "/privatemode/v1/attest") return "attest";
	if (path === "/privatemode/v1/secret") return "secret";
	if (method === "GET" && path.endsWith("/manifest.json")) return "cdn";
	if (method === "GET" && path.startsWith("/vcek/v1/")) return "kds";
	if (method === "GET" && isPcsPath(path)) return "pcs";
	return routeFor(path) ? "inference" : "unknown";
}

// A request record as returned by GET /__sim/requests.  body is null for
// a stream refused before its body was read.
function newRecord(seq, req, url, body) {
	const text = body === null ? null : body.toString("utf8");
	return {
		id: seq,
		time: new Date().toISOString(),
		remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
		// Over TLS: did the client resume a session (null over plain HTTP)?
		tlsResumed: typeof req.socket.isSessionReused === "function" ? req.socket.isSessionReused() : null,
		method: req.method,
		path: url.pathname,
		query: url.search,
		httpVersion: req.httpVersion,
		protocol: protocolOf(req),
		streamId: isH2(req) ? req.stream.id : null,
		sessionId: connOf(req)?.id ?? null,
		headers: { ...req.headers },
		rawHeaders: req.rawHeaders,
		bodyLength: body === null ? null : body.length,
		body: body !== null && Buffer.from(text, "utf8").equals(body) ? text : null,
		bodyBase64: body === null ? null : body.toString("base64"),
		kind: null,
		faults: [],
		secretId: null,
		requestNonce: null,
		decrypted: null,
		requestSeqs: [],
		responseSeqs: [],
		status: null,
		outcome: null,
		error: null,
		rstCode: null,
		rstName: null,
		rstBy: null,
	};
}

// The record of a request under --replay: the fields the handlers set,
// no copies of the body.
function replayRecord(seq) {
	return { id: seq, kind: null, faults: [], secretId: null, requestNonce: null, decrypted: null,
		requestSeqs: [], responseSeqs: [], status: null, outcome: null, error: null };
}

export class Simulator {
	constructor(st, opts) {
		this.st = st;
		this.opts = opts;
		this.store = new SecretStore(opts.secretTtl);
		this.faults = new Faults();
		this.conns = new Connections(opts.maxRecords);
		this.h2MaxStreams = opts.h2MaxStreams ?? DEFAULT_H2_MAX_STREAMS;
		this.h2Settings = this.h2MaxStreams;
		this.records = [];
		this.seq = 0;
		this.sockets = new Set();
		this.platform = opts.platform ?? "snp";	// the Coordinator's TEE
		this.replay = opts.replay ? new Replay(this) : null;
	}

	async listen() {
		const handler = (req, res) => this.handle(req, res).catch((e) => {
			try { if (!res.headersSent) sendText(res, 500, `simulator error: ${e.stack}`); else res.destroy(); } catch { /* gone */ }
		});
		const tls = { key: this.st.keys.tls, cert: this.st.pem.tlsCert };
		if (this.opts.http) this.server = http.createServer(handler);
		else if (this.opts.noH2) this.server = https.createServer({ ...tls, ALPNProtocols: ["http/1.1"] }, handler);
		else {
			this.server = http2.createSecureServer({
				...tls, allowHTTP1: true, maxSendHeaderBlockLength: H2_MAX_SEND_HEADER_BLOCK,
				settings: { maxConcurrentStreams: this.h2MaxStreams },
			}, handler);
			this.server.on("session", (s) => this.conns.attachSession(s));
		}
		// Before the server's own listener, which makes the HTTP/2 session
		// from the settings max-streams-1 may have changed.
		if (this.opts.http) this.server.on("connection", (s) => this.conns.attach(s, "http/1.1"));
		else this.server.prependListener("secureConnection", (s) => this.onSecureConnection(s));
		this.server.keepAliveTimeout = 75_000;
		this.server.headersTimeout = 80_000;
		this.server.requestTimeout = 0;
		// No Nagle, as Go's servers (the real API): http2's HTTP/1.1
		// fallback leaves it on, and a stream's first event, written after
		// its headers, then waited for the peer's delayed ACK (40 ms).
		this.server.on("connection", (s) => {
			s.setNoDelay(true);
			this.sockets.add(s); s.on("close", () => this.sockets.delete(s));
		});
		await new Promise((resolve, reject) => {
			this.server.once("error", reject);
			this.server.listen(this.opts.port, this.opts.host, resolve);
		});
		this.port = this.server.address().port;
		return this.port;
	}

	async close() {
		for (const r of stalled) r.destroy();
		await new Promise((r) => {
			this.server.close(r);
			for (const s of this.sockets) s.destroy();
		});
	}

	onSecureConnection(sock) {
		const h2 = sock.alpnProtocol === "h2";
		const conn = this.conns.attach(sock, h2 ? "h2" : "http/1.1");
		if (!h2) return;
		// max-streams-1: SETTINGS_MAX_CONCURRENT_STREAMS 1 in this session's
		// initial SETTINGS (node reads the server's settings when it creates
		// the session, right after this listener).
		const one = this.faults.take(["max-streams-1"]).has("max-streams-1");
		const mcs = one ? 1 : this.h2MaxStreams;
		if (mcs !== this.h2Settings) {
			this.server.updateSettings({ maxConcurrentStreams: mcs });
			this.h2Settings = mcs;
		}
		conn.settings = { maxConcurrentStreams: mcs };
		if (one) conn.faults.push("max-streams-1");
	}

	// A stream refused unprocessed (HTTP/2): RST_STREAM REFUSED_STREAM.
	refuse(req, res, url, control, r) {
		if (!control) {
			const rec = newRecord(++this.seq, req, url, null);
			if (this.opts.maxRecords > 0) {
				this.records.push(rec);
				if (this.records.length > this.opts.maxRecords) this.records.shift();
			}
			rec.kind = kindOf(req.method, url.pathname);
			rec.faults = [r.fault];
			rec.outcome = r.outcome;
			recordReset(req, res, rec);
		}
		resetResponse(res, H2_ERRORS.REFUSED_STREAM);
	}

	authOk(req) {
		if (this.opts.anyKey) return true;
		return req.headers.authorization === `Bearer ${this.opts.apiKey}`;
	}

	async handle(req, res) {
		const url = new URL(req.url, "http://sim.invalid");
		const path = url.pathname;
		const control = path.startsWith("/__sim/") || path === "/__sim";
		const conn = connOf(req);
		conn?.begin(req, res, control);
		if (conn && isH2(req)) {
			const refusal = admit(conn, this.faults, req, path, control);
			if (refusal) return this.refuse(req, res, url, control, refusal);
		}
		// slow-read: leave the request body unread for a while, as a busy
		// API would; the client's writes block meanwhile.
		const slow = path.startsWith("/__sim") ? null : this.faults.take(["slow-read"], path).get("slow-read");
		if (slow) {
			req.pause();
			await sleep(slow.delayMs ?? 2000);
			req.resume();
		}
		const body = await readBody(req);
		if (path.startsWith("/__sim/") || path === "/__sim") return this.control(req, res, url, body);

		// --replay records nothing: a record copies the body twice.
		const rec = this.replay ? replayRecord(++this.seq) : newRecord(++this.seq, req, url, body);
		if (this.opts.maxRecords > 0) {
			this.records.push(rec);
			if (this.records.length > this.opts.maxRecords) this.records.shift();
		}
		recordReset(req, res, rec);
		// HTTP/2: node's compat response emits finish on any stream close,
		// even a reset; only an answer we ended is complete.
		res.on("finish", () => { if (!res.writableEnded) return; rec.status = res.statusCode; this.finishRecord(rec); });
		res.on("close", () => { if (rec.status === null) { rec.status = res.headersSent ? res.statusCode : null; rec.outcome ??= "connection closed before the response was complete"; this.finishRecord(rec); } });

		// Transport faults that act before any answer.
		const fired = this.faults.take([...TRANSPORT_FAULTS, ...INFERENCE_FAULTS, "window-stall", ...(isH2(req) ? ["rst-stream"] : [])], path);
		const g = this.faults.take(GLOBAL_FAULTS);
		for (const [k, v] of g) fired.set(k, v);
		rec.faults = [...fired.keys(), ...(slow ? ["slow-read"] : [])];
		if (fired.has("reset")) {
			// HTTP/2 too: the TCP connection under the session, so every
			// stream on it ends with "connection reset by peer".
			rec.outcome = "reset before response";
			resetSocket(conn?.socket ?? req.socket);
			// node 18 leaves the session (and its streams) open on a socket
			// reset under it; after the RST, so the peer sees no GOAWAY first.
			if (isH2(req)) conn?.session?.destroy();
			return;
		}
		if (fired.has("rst-stream") && fired.get("rst-stream").after === undefined) {
			const code = fired.get("rst-stream").code;
			resetResponse(res, code);
			rec.kind = kindOf(req.method, path);
			rec.outcome = `RST_STREAM ${h2ErrorName(req.stream.simRstCode)} before response`;
			return;
		}
		if (fired.has("slow-first-byte")) await sleep(fired.get("slow-first-byte").delayMs ?? 2000);
		if (fired.has("huge-head")) hugeHead(res, fired.get("huge-head"), isH2(req));
		if (fired.has("window-stall")) stallBody(res, rec, fired.get("window-stall"));

		if (path === "/privatemode/v1/attest") return this.attestRoute(req, res, body, rec, fired);
		if (path === "/privatemode/v1/secret") return this.secretRoute(req, res, body, rec, fired);
		if (req.method === "GET" && path.endsWith("/manifest.json")) {
			rec.kind = "cdn";
			return sendJson(res, 200, this.st.manifest.toString("utf8"), { "Cache-Control": "no-store" });
		}
		if (req.method === "GET" && path.startsWith("/vcek/v1/")) return this.kds(req, res, url, rec);
		if (req.method === "GET" && isPcsPath(path)) return this.pcs(req, res, url, rec);

		const h = routeFor(path);
		if (!h) { rec.kind = "unknown"; return sendText(res, 404, "404 page not found\n"); }
		rec.kind = "inference";
		if (fired.has("unauthorized") || !this.authOk(req)) {
			const a = req.headers.authorization;
			const msg = a === undefined || !a.startsWith("Bearer ")
				? "no auth found: expected Authorization header with 'Bearer <auth>'"
				: "invalid API key: invalid API key";
			return httpError(req, res, 401, msg);
		}
		if (fired.has("upstream-error")) {
			const o = fired.get("upstream-error");
			return httpError(req, res, o.status ?? 503, o.message ?? "simulated upstream error");
		}
		if (this.replay) return this.replay.serve(req, res, path, body, fired, () => runInference(h, this, req, res, body, rec, fired));
		await runInference(h, this, req, res, body, rec, fired);
	}

	finishRecord(rec) {
		if (rec.cipher) {
			rec.requestSeqs = rec.cipher.log.filter((l) => l.dir === "req").map((l) => l.seq);
			rec.responseSeqs = rec.cipher.log.filter((l) => l.dir === "resp").map((l) => l.seq);
			delete rec.cipher;
		}
	}

	parseJsonBody(body) {
		try { return JSON.parse(body.toString("utf8")); } catch { return null; }
	}

	// Go's decoder matches member names case-insensitively.
	member(obj, name) {
		if (!obj || typeof obj !== "object") return undefined;
		const k = Object.keys(obj).find((x) => x.toLowerCase() === name.toLowerCase());
		return k === undefined ? undefined : obj[k];
	}

	attestRoute(req, res, body, rec, fired) {
		rec.kind = "attest";
		if (req.method !== "POST") return sendText(res, 405, "Method Not Allowed\n");
		if (fired.has("unauthorized") || !this.authOk(req)) return sendText(res, 401, "Unauthorized", { "Privatemode-Encrypted": "false" });
		const nonceB64 = this.member(this.parseJsonBody(body), "Nonce");
		const nonce = typeof nonceB64 === "string" ? Buffer.from(nonceB64, "base64") : null;
		if (!nonce || nonce.length !== 32) return sendText(res, 400, "invalid nonce: expected 32 bytes of base64", { "Privatemode-Encrypted": "false" });
		rec.nonce = nonce.toString("hex");
		const af = this.faults.take(ATTESTATION_FAULTS);
		rec.faults.push(...af.keys());
		// The KDS keeps telling the story of the latest document, even when
		// a `times`-limited fault was used up by this request.
		this.lastAttestFaults = new Set(af.keys());
		const out = attest(this.st, nonce, (n) => af.has(n), { reportVersion: this.opts.reportVersion, platform: this.platform });
		sendJson(res, 200, out.body);
	}

	async secretRoute(req, res, body, rec, fired) {
		rec.kind = "secret";
		if (req.method !== "POST") return sendText(res, 405, "Method Not Allowed\n");
		if (fired.has("unauthorized") || !this.authOk(req)) return sendText(res, 401, "Unauthorized", { "Privatemode-Encrypted": "false" });
		const sf = this.faults.take(SECRET_FAULTS);
		rec.faults.push(...sf.keys());
		const out = await exchange(this.st, this.store, this.member(this.parseJsonBody(body), "PublicKey"), (n) => sf.has(n));
		if (out.status !== 200) return sendText(res, out.status, out.text, { "Privatemode-Encrypted": "false" });
		rec.secretId = out.secretId;
		sendJson(res, 200, out.body);
	}

	// Fake AMD KDS: VCEK by chip ID and TCB, the product CRL and cert chain.
	// It serves the same (possibly faulty) material as the attestation doc.
	kds(req, res, url, rec) {
		rec.kind = "kds";
		const has = (n) => this.faults.peek(n) !== null || (this.lastAttestFaults?.has(n) ?? false);
		const v = vendorMaterial(this.st, has);
		const m = /^\/vcek\/v1\/(\w+)\/(.+)$/.exec(url.pathname);
		if (!m || m[1] !== "Genoa") return sendText(res, 404, "unknown product\n");
		const der = { "Content-Type": "application/pkix-cert" };
		if (m[2] === "crl") return res.writeHead(200, { "Content-Type": "application/pkix-crl" }).end(v.crl);
		if (m[2] === "cert_chain") return res.writeHead(200, { "Content-Type": "application/x-pem-file" }).end(this.st.pem.certChain);
		const chip = m[2].toLowerCase();
		const cert = new X509Certificate(v.vcek);
		const hwidOf = (c) => {
			// hwID is the last 64 bytes of the raw extension value; locate it
			// by the known chip IDs instead of parsing ASN.1 here.
			for (const h of [this.st.hwid, this.st.hwidStranger]) if (c.raw.includes(h)) return h.toString("hex");
			return null;
		};
		if (chip !== hwidOf(cert)) return sendText(res, 404, "chip not found\n");
		const want = tcbParts(has("tcb-too-low") ? this.st.vcekTcbLow : this.st.vcekTcb);
		const q = url.searchParams;
		const ok = Number(q.get("blSPL")) === want.bl && Number(q.get("teeSPL")) === want.tee && Number(q.get("snpSPL")) === want.snp && Number(q.get("ucodeSPL")) === want.ucode;
		if (!ok) return sendText(res, 404, "no VCEK for that TCB\n");
		res.writeHead(200, der).end(v.vcek);
	}

	// Fake Intel PCS (TDX collateral), telling the story of the latest
	// document like the KDS; tdx-pcs-down: every PCS route answers 503.
	pcs(req, res, url, rec) {
		rec.kind = "pcs";
		const has = (n) => this.faults.peek(n) !== null || (this.lastAttestFaults?.has(n) ?? false);
		if (has("tdx-pcs-down")) return sendText(res, 503, "PCS unavailable\n");
		const a = pcsAnswer(this.st, url.pathname, url.searchParams, has);
		if (!a) return sendText(res, 404, "not found\n");
		if (a.status !== 200) return sendText(res, a.status, a.text);
		res.writeHead(200, { "Content-Type": a.type, ...(a.headers ?? {}) }).end(a.body);
	}

	// --- test-only control API --------------------------------------------
	async control(req, res, url, body) {
		const p = url.pathname.replace(/\/+$/, "");
		const m = req.method;
		try {
			if (p === "/__sim/requests" && m === "GET") {
				const since = Number(url.searchParams.get("since") ?? 0);
				const kind = url.searchParams.get("kind");
				return sendJson(res, 200, this.records.filter((r) => r.id > since && (!kind || r.kind === kind)).map((r) => { const { cipher, ...x } = r; return x; }));
			}
			if (p === "/__sim/requests" && m === "DELETE") { this.records = []; return sendJson(res, 200, { ok: true }); }
			if (p === "/__sim/secrets" && m === "GET") return sendJson(res, 200, this.store.dump());
			if (p === "/__sim/secrets" && m === "DELETE") {
				const id = url.searchParams.get("id");
				if (id) this.store.delete(id); else this.store.clear();
				return sendJson(res, 200, { ok: true });
			}
			if (p === "/__sim/faults" && m === "GET") return sendJson(res, 200, { active: this.faults.list(), known: ALL_FAULTS, knownHttp2: HTTP2_ERA_FAULTS });
			if (p === "/__sim/faults" && (m === "POST" || m === "PUT" || m === "PATCH")) {
				const spec = JSON.parse(body.toString("utf8") || "{}");
				this.faults.set(spec, m !== "PATCH");
				return sendJson(res, 200, { active: this.faults.list() });
			}
			if (p === "/__sim/faults" && m === "DELETE") { this.faults.clear(); return sendJson(res, 200, { active: {} }); }
			if (p === "/__sim/reset" && m === "POST") {
				this.faults.clear();
				this.conns.reset();
				this.lastAttestFaults = null;
				this.platform = this.opts.platform ?? "snp";
				this.records = [];
				this.replay?.reset();
				if (url.searchParams.get("secrets") !== "keep") this.store.clear();
				for (const r of stalled) r.destroy();
				return sendJson(res, 200, { ok: true });
			}
			if (p === "/__sim/info" && m === "GET") return sendJson(res, 200, this.info);
			if (p === "/__sim/platform" && m === "GET") return sendJson(res, 200, { platform: this.platform });
			if (p === "/__sim/platform" && (m === "PUT" || m === "POST")) {
				const want = JSON.parse(body.toString("utf8") || "{}").platform;
				if (want !== "snp" && want !== "tdx") return sendJson(res, 400, { error: "platform must be snp or tdx" });
				this.platform = want;
				return sendJson(res, 200, { platform: this.platform });
			}
			if (p === "/__sim/sessions" && m === "GET") return sendJson(res, 200, this.conns.list(url.searchParams.get("all") === "1"));
			if (p === "/__sim/sessions" && m === "DELETE") { this.conns.reset(); return sendJson(res, 200, { ok: true }); }
			if (p === "/__sim/sessions/close" && m === "POST") return sendJson(res, 200, { closing: this.conns.closeAll(connOf(req)) });
			return sendText(res, 404, "404 page not found\n");
		} catch (e) {
			return sendJson(res, 400, { error: e.message });
		}
	}
}
