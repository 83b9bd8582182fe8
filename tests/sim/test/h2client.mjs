// Clients for the protocol tests: one HTTP/2 session on node:http2, and
// HTTP/1.1 requests whose TLS offers only http/1.1 by ALPN.  Both answer
// like client.mjs's request(): {status, headers, body} (raw: at the head,
// with the stream to read).
import http2 from "node:http2";
import https from "node:https";

const { NGHTTP2_CANCEL } = http2.constants;

export class H2 {
	constructor(base, { ca, settings = {} } = {}) {
		this.base = base;
		this.goaways = [];
		this.error = null;
		// A large header list limit: huge-head tests read what the simulator sends.
		this.session = http2.connect(base, { ca, settings: { maxHeaderListSize: 1 << 22, ...settings } });
		this.session.on("error", (e) => { this.error = e; });
		this.session.on("goaway", (code, last) => this.goaways.push({ code, last }));
		// The simulator's records name a connection by the client's address.
		this.connected = new Promise((r) => this.session.once("connect", () => { this.localPort = this.session.socket.localPort; r(); }));
		this.remoteSettings = new Promise((r) => this.session.once("remoteSettings", r));
		this.closed = new Promise((r) => this.session.once("close", r));
	}

	// Rejects with an Error carrying rstCode and id when the stream is reset.
	// raw: resolves at the head; `result` then resolves once the stream
	// ends, is reset or stays quiet for quietMs: {text, how, rstCode} (the
	// body is read from the head on, so data before a reset is not lost).
	request(method, path, { headers = {}, body, raw = false, timeoutMs = 10000, quietMs = 1500 } = {}) {
		return new Promise((resolve, reject) => {
			let st;
			try {
				st = this.session.request({ ":method": method, ":path": path, ...headers }, { endStream: body === undefined });
			} catch (e) { reject(e); return; }
			let settled = false;
			const settle = (f, v) => { if (!settled) { settled = true; clearTimeout(t); f(v); } };
			const fail = (e) => settle(reject, Object.assign(e ?? new Error(`stream ${st.id} closed (RST_STREAM ${st.rstCode})`), { rstCode: st.rstCode, id: st.id }));
			const t = setTimeout(() => { st.close(NGHTTP2_CANCEL); fail(new Error("client timeout")); }, timeoutMs);
			const chunks = [];
			st.on("response", (h) => {
				if (raw) { settle(resolve, { status: h[":status"], headers: h, stream: st, id: st.id, result: collect(st, quietMs) }); return; }
				st.on("data", (c) => chunks.push(c));
				st.on("end", () => settle(resolve, { status: h[":status"], headers: h, body: Buffer.concat(chunks), id: st.id }));
			});
			st.on("error", (e) => fail(Object.assign(e, { rstCode: st.rstCode })));
			st.on("close", () => fail(null));
			if (body !== undefined) st.end(body);
		});
	}

	// The simulator's record of stream `id` on this session.
	async record(sim, id) {
		return (await sim.requests()).find((r) => r.streamId === id && r.remote === `127.0.0.1:${this.localPort}`);
	}

	// The simulator's view of this session (GET /__sim/sessions).
	async sessionInfo(sim) {
		return (await sim.sessions("?all=1")).find((x) => x.remote === `127.0.0.1:${this.localPort}`);
	}

	close() {
		if (!this.session.closed) this.session.close();
		return this.closed;
	}

	destroy() { this.session.destroy(); }
}

// HTTP/1.1 with ALPN offering http/1.1 only; `alpn` in the answer is what
// the server chose.
export function h1(base, method, path, { headers = {}, body, ca, timeoutMs = 10000, raw = false } = {}) {
	const u = new URL(path, base);
	return new Promise((resolve, reject) => {
		const req = https.request(u, { method, headers, ca, agent: false, ALPNProtocols: ["http/1.1"], maxHeaderSize: 1 << 20 }, (res) => {
			const alpn = res.socket.alpnProtocol;
			if (raw) return resolve(Object.assign(res, { alpn }));
			const chunks = [];
			res.on("data", (c) => chunks.push(c));
			res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), alpn }));
			res.on("error", reject);
		});
		req.setTimeout(timeoutMs, () => req.destroy(new Error("client timeout")));
		req.on("error", reject);
		if (body !== undefined) req.write(body);
		req.end();
	});
}

// A simulator handle (test/harness.mjs) whose requests go over `proto`.
export function over(sim, proto) {
	if (proto === "h2") {
		const c = new H2(sim.info.base_url, { ca: sim.ca });
		return { ...sim, h2: c, req: (m, p, o = {}) => c.request(m, p, o), close: () => c.close() };
	}
	return { ...sim, req: (m, p, o = {}) => h1(sim.info.base_url, m, p, { ca: sim.ca, ...o }), close: async () => {} };
}

// Read a stream until it ends, is reset, or goes quiet for quietMs.
export function collect(st, quietMs = 1500) {
	return new Promise((resolve) => {
		let text = "";
		let timer;
		let done = false;
		const finish = (how) => { if (!done) { done = true; clearTimeout(timer); resolve({ text, how, rstCode: st.rstCode }); } };
		const arm = () => { clearTimeout(timer); timer = setTimeout(() => finish("stalled"), quietMs); };
		arm();
		st.on("data", (d) => { text += d; arm(); });
		st.on("end", () => finish("end"));
		st.on("error", () => finish("reset"));
		st.on("close", () => finish(st.rstCode ? "reset" : "end"));
	});
}
