// A raw HTTP/2 frame client for the tests that need what node's http2
// client hides: frame sizes (HEADERS + CONTINUATION of a huge head) and a
// client that breaks the rules (more streams than SETTINGS allow).
// HPACK: requests use literal fields without indexing, no Huffman; answers
// are not decoded (only frame headers and the fixed-layout frames).
import tls from "node:tls";

export const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 };
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

function frame(type, flags, stream, payload = Buffer.alloc(0)) {
	const h = Buffer.alloc(9);
	h.writeUIntBE(payload.length, 0, 3);
	h[3] = type;
	h[4] = flags;
	h.writeUInt32BE(stream & 0x7fffffff, 5);
	return Buffer.concat([h, payload]);
}

// HPACK integer with an n-bit prefix (RFC 7541 §5.1).
function hpackInt(v, n, first = 0) {
	const max = (1 << n) - 1;
	if (v < max) return Buffer.from([first | v]);
	const out = [first | max];
	v -= max;
	while (v >= 128) { out.push((v % 128) + 128); v = Math.floor(v / 128); }
	out.push(v);
	return Buffer.from(out);
}

const hpackStr = (s) => { const b = Buffer.from(s); return Buffer.concat([hpackInt(b.length, 7), b]); };

// Literal header fields without indexing, new names (RFC 7541 §6.2.2).
export function hpack(fields) {
	return Buffer.concat(fields.flatMap(([k, v]) => [Buffer.from([0]), hpackStr(k), hpackStr(String(v))]));
}

export class RawH2 {
	// settings: [[id, value]...] in the client's SETTINGS; ackSettings:
	// acknowledge the server's SETTINGS (a client that does not leaves
	// them pending on the server).
	static connect(port, { ca, settings = [], ackSettings = true } = {}) {
		return new Promise((resolve, reject) => {
			const c = new RawH2();
			c.frames = [];
			c.waiters = [];
			c.buf = Buffer.alloc(0);
			c.closed = false;
			c.sock = tls.connect({ host: "127.0.0.1", port, ca, ALPNProtocols: ["h2"] }, () => {
				if (c.sock.alpnProtocol !== "h2") { reject(new Error(`ALPN ${c.sock.alpnProtocol}`)); return; }
				const p = Buffer.alloc(settings.length * 6);
				settings.forEach(([id, v], i) => { p.writeUInt16BE(id, i * 6); p.writeUInt32BE(v, i * 6 + 2); });
				c.sock.write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0, p)]));
				resolve(c);
			});
			c.sock.on("data", (d) => c.onData(d, ackSettings));
			c.sock.on("error", () => {});
			c.sock.on("close", () => { c.closed = true; c.wake(); });
			c.sock.once("error", reject);
		});
	}

	onData(d, ackSettings) {
		this.buf = Buffer.concat([this.buf, d]);
		while (this.buf.length >= 9) {
			const len = this.buf.readUIntBE(0, 3);
			if (this.buf.length < 9 + len) break;
			const f = { type: this.buf[3], flags: this.buf[4], stream: this.buf.readUInt32BE(5) & 0x7fffffff, length: len, payload: this.buf.subarray(9, 9 + len) };
			this.buf = this.buf.subarray(9 + len);
			this.frames.push(f);
			if (f.type === T.SETTINGS && !(f.flags & F.ACK) && ackSettings) this.sock.write(frame(T.SETTINGS, F.ACK, 0));
			if (f.type === T.PING && !(f.flags & F.ACK)) this.sock.write(frame(T.PING, F.ACK, 0, f.payload));
		}
		this.wake();
	}

	wake() { for (const w of this.waiters.splice(0)) w(); }

	// Resolves with the first frame (from index `from`) matching pred.
	async waitFor(pred, { timeoutMs = 5000, from = 0 } = {}) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const f = this.frames.slice(from).find(pred);
			if (f) return f;
			if (this.closed) throw new Error("connection closed");
			const left = deadline - Date.now();
			if (left <= 0) throw new Error("timed out waiting for a frame");
			await new Promise((r) => { this.waiters.push(r); setTimeout(r, left); });
		}
	}

	// HEADERS for a request; endStream false leaves the stream open.
	request(stream, fields, { endStream = true } = {}) {
		this.sock.write(frame(T.HEADERS, F.END_HEADERS | (endStream ? F.END_STREAM : 0), stream, hpack(fields)));
	}

	rst(stream, code) {
		const p = Buffer.alloc(4);
		p.writeUInt32BE(code);
		this.sock.write(frame(T.RST_STREAM, 0, stream, p));
	}

	close() { this.sock.destroy(); }
}

// The server's SETTINGS (the first non-ACK one) as {id: value}.
export function settingsOf(f) {
	const out = {};
	for (let i = 0; i + 6 <= f.payload.length; i += 6) out[f.payload.readUInt16BE(i)] = f.payload.readUInt32BE(i + 2);
	return out;
}

export const goawayOf = (f) => ({ lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) });
export const rstCodeOf = (f) => f.payload.readUInt32BE(0);
