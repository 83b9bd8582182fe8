// HTTP/2 beside HTTP/1.1 on the simulator's TLS port: the bookkeeping of
// connections and HTTP/2 sessions (GET /__sim/sessions), a request's
// protocol, and the faults that act on HTTP/2 frames (GOAWAY, RST_STREAM,
// SETTINGS_MAX_CONCURRENT_STREAMS) or on the DATA of one answer
// (window-stall, which HTTP/1.1 gets too).  README.md, "HTTP/2", says what
// each does and what a correct client must do.
import { H2_ERRORS, h2ErrorCode, h2ErrorName, resetResponse } from "./http.mjs";
import { stalled } from "./sse.mjs";

// Go's net/http server advertises SETTINGS_MAX_CONCURRENT_STREAMS 250; so
// does the simulator unless --h2-max-streams says otherwise.
export const DEFAULT_H2_MAX_STREAMS = 250;
// node refuses to send a header block whose (uncompressed) size is above
// maxSendHeaderBlockLength (default 64 KiB); huge-head must get past it.
export const H2_MAX_SEND_HEADER_BLOCK = 4 << 20;

// The Conn of a socket.  On an HTTP/2 request, node's req.socket is a proxy
// that reads the properties of the session's socket, so req.socket[CONN]
// works for both protocols.
const CONN = Symbol("privatemoded-sim connection");

export const isH2 = (req) => req.httpVersionMajor === 2;

// "h2" or "http/1.1" ("http/1.0" for such a client).
export const protocolOf = (req) => (isH2(req) ? "h2" : `http/${req.httpVersion}`);

export function connOf(req) {
	try { return req.socket?.[CONN] ?? null; } catch { return null; /* HTTP/2 session already gone */ }
}

// One TCP connection (HTTP/1.1) or HTTP/2 session, as GET /__sim/sessions
// shows it.  Control-API requests are counted apart (controlStreams).
class Conn {
	constructor(id, socket, protocol) {
		this.id = id;
		this.protocol = protocol;
		this.alpn = socket.alpnProtocol || null;
		this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
		this.tlsResumed = typeof socket.isSessionReused === "function" ? socket.isSessionReused() : null;
		this.openedAt = new Date().toISOString();
		this.closedAt = null;
		this.streams = 0;
		this.controlStreams = 0;
		this.openStreams = 0;
		this.peakConcurrentStreams = 0;
		this.settings = null;
		this.faults = [];
		this.goaway = null;
		// Not shown: the raw socket, the HTTP/2 session, the ids of the
		// streams in progress, the highest stream accepted, goaway counting.
		this.socket = socket;
		this.session = null;
		this.live = new Set();
		this.highestAccepted = 0;
		this.goawayArm = null;
		this.goawayCount = 0;
		this.closing = false;
		this.control = false; // has carried a control-API request
		this.controlBusy = 0;
		this.closeWhenIdle = false;

	}

	toJSON() {
		const { id, protocol, alpn, remote, tlsResumed, openedAt, closedAt, streams, controlStreams, openStreams, peakConcurrentStreams, settings, faults, goaway } = this;
		return { id, protocol, alpn, remote, tlsResumed, openedAt, closedAt, open: closedAt === null, streams, controlStreams, openStreams, peakConcurrentStreams, settings, faults, goaway };
	}

	// A request (an HTTP/2 stream) starts; it ends with its response.
	begin(req, res, control) {
		const id = isH2(req) ? req.stream.id : null;
		if (control) { this.controlStreams++; this.control = true; this.controlBusy++; }
		else {
			this.streams++;
			this.openStreams++;
			if (this.openStreams > this.peakConcurrentStreams) this.peakConcurrentStreams = this.openStreams;
		}
		if (id !== null) this.live.add(id);
		res.once("close", () => {
			if (!control) this.openStreams--; else this.controlBusy--;
			if (id !== null) { this.live.delete(id); this.closeAfterGoaway(); }
			else if (this.closeWhenIdle) setImmediate(() => this.socket.end());
		});
	}

	// POST /__sim/sessions/close: HTTP/2 closes gracefully (GOAWAY, the
	// streams in progress finish); an HTTP/1.1 connection closes now if idle,
	// else after the answer in progress.
	close() {
		if (this.session) { if (!this.session.closed) this.session.close(); return; }
		if (this.openStreams === 0 && this.controlBusy === 0) this.socket.end();
		else this.closeWhenIdle = true;
	}

	sendGoaway(lastStreamId, code, triggerStreamId) {
		this.goaway = { lastStreamId, code, name: h2ErrorName(code), time: new Date().toISOString(), triggerStreamId, refusedStreams: [] };
		this.faults.push("goaway");
		this.session.goaway(code, lastStreamId);
		this.closeAfterGoaway();
	}

	// Once no stream at or below last-stream-id is in progress, close the
	// session.  node's close() sends a second GOAWAY; nghttp2 clamps its
	// last-stream-id to the first one's, which has left by then.
	closeAfterGoaway() {
		const g = this.goaway;
		if (!g || this.closing || !this.session) return;
		for (const id of this.live) if (id <= g.lastStreamId) return;
		this.closing = true;
		const s = this.session;
		setTimeout(() => { if (!s.destroyed && !s.closed) s.close(); }, 50).unref();
	}
}

export class Connections {
	// keepClosed: how many closed connections GET /__sim/sessions remembers.
	constructor(keepClosed) {
		this.keepClosed = keepClosed;
		this.seq = 0;
		this.live = new Set();
		this.closed = [];
	}

	attach(socket, protocol) {
		const c = new Conn(++this.seq, socket, protocol);
		socket[CONN] = c;
		this.live.add(c);
		socket.once("close", () => {
			c.closedAt = new Date().toISOString();
			this.live.delete(c);
			if (this.keepClosed > 0) {
				this.closed.push(c);
				if (this.closed.length > this.keepClosed) this.closed.shift();
			}
		});
		return c;
	}

	// HTTP/2: the session on a socket attach() has seen.
	attachSession(session) {
		let c;
		try { c = session.socket?.[CONN]; } catch { return; }
		if (!c) return;
		c.session = session;
		session.on("error", () => { /* the socket's close records it */ });
	}

	// All connections but those that carried control-API requests and no
	// other since the last reset (unless `all`), oldest first.
	list(all = false) {
		return [...this.closed, ...this.live]
			.filter((c) => all || c.streams > 0 || !c.control)
			.sort((a, b) => a.id - b.id);
	}

	// Close every live connection but `except` (the caller's); their ids.
	closeAll(except) {
		const ids = [];
		for (const c of this.live) if (c !== except) { c.close(); ids.push(c.id); }
		return ids.sort((a, b) => a - b);
	}

	// POST /__sim/reset: forget closed connections; live ones stay listed
	// (a client may reuse them) with their counters zeroed.
	reset() {
		this.closed = [];
		for (const c of this.live) {
			c.streams = 0;
			c.controlStreams = 0;
			c.peakConcurrentStreams = c.openStreams;
		}
	}
}

// --- HTTP/2 admission of a new stream (before its body is read) ----------

// Returns null to go on, or {outcome, fault} for a stream to refuse with
// RST_STREAM REFUSED_STREAM unprocessed:
// * a stream above the last-stream-id of a GOAWAY the session sent;
// * rst-refused;
// * goaway: counts the requests matching its `paths` on this session since
//   the fault was armed; once `after` (default 1) are accepted the GOAWAY
//   goes out with last-stream-id = the highest stream accepted so far (so
//   that request is served).  after=0: before accepting the next matching
//   request, which is refused.
export function admit(conn, faults, req, path, control) {
	const id = req.stream.id;
	const g = conn.goaway;
	if (g && id > g.lastStreamId) {
		g.refusedStreams.push(id);
		return { outcome: `refused: stream ${id} is above GOAWAY last-stream-id ${g.lastStreamId}`, fault: "goaway" };
	}
	if (!control && faults.take(["rst-refused"], path).has("rst-refused"))
		return { outcome: "refused (RST_STREAM REFUSED_STREAM)", fault: "rst-refused" };
	const o = control || g ? null : faults.peek("goaway", path);
	if (o) {
		if (conn.goawayArm !== o) { conn.goawayArm = o; conn.goawayCount = 0; }
		const after = o.after ?? 1;
		const code = h2ErrorCode(o.code, H2_ERRORS.NO_ERROR);
		if (conn.goawayCount >= after) {
			faults.take(["goaway"], path);
			// node cannot send last-stream-id 0 (it substitutes the last
			// stream nghttp2 processed): on a session that accepted none
			// the GOAWAY names this stream, which is refused all the same.
			const last = conn.highestAccepted || id;
			conn.sendGoaway(last, code, id);
			conn.goaway.refusedStreams.push(id);
			return { outcome: `refused: GOAWAY last-stream-id ${last} sent before this stream was accepted`, fault: "goaway" };
		}
		conn.goawayCount++;
		conn.highestAccepted = Math.max(conn.highestAccepted, id);
		if (conn.goawayCount >= after) {
			faults.take(["goaway"], path);
			conn.sendGoaway(conn.highestAccepted, code, id);
		}
		return null;
	}
	conn.highestAccepted = Math.max(conn.highestAccepted, id);
	return null;
}

// --- the record's view of a stream's end --------------------------------

// HTTP/2: record an RST_STREAM that ended the stream: rstCode/rstName and
// rstBy "server" (one of our faults) or "client" (e.g. CANCEL when the
// client gave up; outcome "client cancelled (RST_STREAM CANCEL)").  A
// stream that ends because its whole session went away is not a reset.
export function recordReset(req, res, rec) {
	if (!isH2(req)) return;
	const st = req.stream;
	const session = st.session;
	st.on("error", () => { /* a client's RST_STREAM with an error code */ });
	res.once("close", () => {
		let code = st.simRstCode;
		let by = "server";
		if (code === undefined) {
			code = st.rstCode;
			by = "client";
			if (!code || session?.destroyed) return;
		}
		rec.rstCode = code;
		rec.rstName = h2ErrorName(code);
		rec.rstBy = by;
		if (by === "client") rec.outcome ??= code === H2_ERRORS.CANCEL ? "client cancelled (RST_STREAM CANCEL)" : `client reset the stream (RST_STREAM ${rec.rstName})`;
	});
}

// --- faults on the answer ----------------------------------------------

// huge-head: HTTP/1.1 gets one `X-Sim-Filler` header of `bytes` (default
// 70000) "f"s, as before.  HTTP/2 gets `X-Sim-Filler-0`, `-1`, … of at
// most `fieldBytes` (default 8192) "X"s each, `bytes` in all: "X" has an
// 8-bit Huffman code, so HPACK cannot shrink the block below `bytes`, and
// no single field reaches nghttp2's own 64 KiB per-field limit unless
// fieldBytes asks for it (the block is then refused by the client's
// HPACK decoder, not by its head limit).
export function hugeHead(res, o, h2) {
	const bytes = o.bytes ?? 70000;
	if (!h2) { res.setHeader("X-Sim-Filler", "f".repeat(bytes)); return; }
	const per = o.fieldBytes ?? 8192;
	for (let i = 0, left = bytes; left > 0; i++, left -= per) res.setHeader(`X-Sim-Filler-${i}`, "X".repeat(Math.min(per, left)));
}

// window-stall: the head and part of the body, then no more DATA (no
// END_STREAM either) on this stream while the session stays up and its
// other streams go on (HTTP/1.1: no more bytes on the connection, which
// stays open).  `after` complete body writes first (an SSE event is one
// write; default 0), then half of the next; or exactly `bytes` body bytes
// when given.  A stalled answer ends when the client gives up, on
// /__sim/reset or at shutdown.
export function stallBody(res, rec, o) {
	const write = res.write;
	let writes = 0;
	let sent = 0;
	let stopped = false;
	const stop = () => {
		stopped = true;
		rec.outcome = `window stalled after ${sent} body bytes`;
		try { res.socket?.setTimeout(0); } catch { /* gone */ }
		stalled.add(res);
		res.once("close", () => stalled.delete(res));
	};
	// The part of this chunk to send, and whether to stall after it.
	const cut = (chunk, enc) => {
		const buf = typeof chunk === "string" ? Buffer.from(chunk, enc ?? "utf8") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
		if (o.bytes !== undefined) {
			const n = Math.min(buf.length, o.bytes - sent);
			return [buf.subarray(0, n), sent + n >= o.bytes];
		}
		if (writes < (o.after ?? 0)) return [buf, false];
		return [buf.subarray(0, Math.floor(buf.length / 2)), true];
	};
	const send = (part) => {
		sent += part.length;
		writes++;
		if (part.length) write.call(res, part); else res.flushHeaders();
	};
	res.write = function (chunk, enc, cb) {
		if (typeof enc === "function") { cb = enc; enc = undefined; }
		if (stopped) return false; // the writer waits for drain or close
		if (chunk === undefined || chunk === null || chunk.length === 0) return write.call(res, chunk ?? "", cb);
		const [part, halt] = cut(chunk, enc);
		if (!halt) { sent += part.length; writes++; return write.call(res, part, cb); }
		send(part);
		stop();
		return false;
	};
	res.end = function (chunk, enc, cb) {
		if (typeof chunk === "function") { cb = chunk; chunk = undefined; }
		if (typeof enc === "function") { cb = enc; enc = undefined; }
		if (stopped) return res;
		if (chunk !== undefined && chunk !== null && chunk.length > 0) {
			const [part] = cut(chunk, enc);
			send(part);
		} else if (!res.headersSent) res.flushHeaders();
		stop(); // the end of the answer is never sent
		return res;
	};
}
