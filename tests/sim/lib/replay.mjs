// --replay (benchmarks only, default off; bench/proxy): answer every
// inference request of a shape with the bytes recorded for the first one,
// so that the simulator is never what limits a proxy under benchmark.
//
// The first request of a shape -- method, path, secret ID (or "plain"),
// body length and the X-Sim-Stream-Chunks / X-Sim-Echo-Repeat headers -- is
// handled normally (decrypted, checked, answered, encrypted) while its
// answer is recorded: status, headers and every write.  Later requests of
// that shape are not decrypted or checked: the simulator reads the secret
// ID (it must still be live) and the request nonce (from the first field
// message of the body) and replays the recorded writes, with the pacing
// the request asks for now.
//
// An encrypted answer is bound to its request: each field message carries
// the request nonce and its GCM tag covers AAD = nonce || LE32(seq).  The
// ciphertext does not depend on the AAD, and GHASH is linear, so the tag
// for another nonce is the recorded tag XOR (A xor A')·H^n, where A, A'
// are the two AAD blocks (they differ only in the nonce), H = AES_K(0^128)
// and n = 2 + ceil(len(C)/16) is the number of GHASH blocks (AAD, C,
// lengths).  So a replayed answer costs a copy and one 16-byte XOR per
// field message; it is checked once per template against a real
// encryption.  Replayed messages reuse the recorded IVs with the same
// plaintext (the same ciphertext again): fine for a benchmark, never for
// anything else.
//
// Pacing: X-Sim-Chunk-Interval-Ms as without --replay (a pause before
// every write but the first), each stream on its own clock (absolute
// deadlines to a fraction of a millisecond, no drift, the second write a
// random part of the interval late: independent streams); with
// X-Sim-Chunk-Align: 1 every paced stream writes on one shared tick of
// that interval, as a model server batching its sequences does.  Faults are never recorded (a request that fires one
// is handled normally), and /__sim/reset forgets the templates.
import { createCipheriv, createDecipheriv } from "node:crypto";
import { performance } from "node:perf_hooks";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- GF(2^128) as GCM uses it (big-endian BigInt, bit 0 = MSB) ---------------

const R = 0xe1n << 120n;
function gmul(x, y) {
	let z = 0n, v = y;
	for (let i = 127n; i >= 0n; i--) {
		if ((x >> i) & 1n) z ^= v;
		v = v & 1n ? (v >> 1n) ^ R : v >> 1n;
	}
	return z;
}
const toBig = (b) => BigInt("0x" + (b.length ? b.toString("hex") : "0"));
const toBuf = (x) => Buffer.from(x.toString(16).padStart(32, "0"), "hex");

// Per secret: H and, per block count n, byte tables of (b << 8(15-j))·H^n
// for the 12 nonce bytes j, so that D·H^n is 12 lookups.
class KeyTables {
	constructor(key) {
		const e = createCipheriv("aes-256-ecb", key, null);
		e.setAutoPadding(false);
		this.h = toBig(Buffer.concat([e.update(Buffer.alloc(16)), e.final()]));
		this.pow = [1n << 127n, this.h]; // H^0 = 1 (the MSB), H^1
		this.tables = new Map();
	}
	hpow(n) {
		while (this.pow.length <= n) this.pow.push(gmul(this.pow.at(-1), this.h));
		return this.pow[n];
	}
	table(n) {
		let t = this.tables.get(n);
		if (t) return t;
		const p = this.hpow(n);
		t = [];
		for (let j = 0; j < 12; j++) {
			const row = new Array(256);
			row[0] = 0n;
			const base = [];
			for (let k = 0; k < 8; k++) base.push(gmul(1n << BigInt(8 * (15 - j) + k), p));
			for (let b = 1; b < 256; b++) {
				const low = b & -b;
				row[b] = row[b ^ low] ^ base[31 - Math.clz32(low)];
			}
			t.push(row);
		}
		this.tables.set(n, t);
		return t;
	}
	// D·H^n for the 12-byte nonce difference d.
	corr(d, n) {
		const t = this.table(n);
		let z = 0n;
		for (let j = 0; j < 12; j++) if (d[j]) z ^= t[j][d[j]];
		return z;
	}
}

// --- the recorder -----------------------------------------------------------

// Field messages in a recorded text: "<id>:<nonce hex>:<iv hex>:<ct||tag hex>".
function findMessages(buf, id, nonceHex) {
	const needle = Buffer.from(`"${id}:${nonceHex}:`, "latin1");
	const out = [];
	for (let at = buf.indexOf(needle); at >= 0; at = buf.indexOf(needle, at + 1)) {
		const nonceAt = at + 1 + Buffer.byteLength(id) + 1;
		const ctAt = nonceAt + 24 + 1 + 24 + 1;
		const end = buf.indexOf(0x22, ctAt); // closing quote
		if (end < 0 || (end - ctAt) % 2 || end - ctAt < 32) throw new Error("replay: malformed field message in a recorded answer");
		const ctLen = (end - ctAt) / 2 - 16;
		out.push({ nonceAt, tagAt: end - 32, n: 2 + Math.ceil(ctLen / 16), tag: toBig(Buffer.from(buf.toString("latin1", end - 32, end), "hex")) });
	}
	return out;
}

export class Replay {
	constructor(ctx) {
		this.ctx = ctx;
		this.templates = new Map();
		this.keys = new Map(); // secret id -> KeyTables
		this.ticks = new Map(); // interval -> {timer, waiters}
		this.pacer = new Pacer();
		this.served = 0;
	}

	reset() { this.templates.clear(); this.keys.clear(); }

	shapeKey(req, path, body) {
		const h = req.headers;
		return [req.method, path, h["privatemode-secret-id"] ?? "plain", body.length,
			h["x-sim-stream-chunks"] ?? "", h["x-sim-echo-repeat"] ?? "", h.accept ?? ""].join("\0");
	}

	// Serve req from a template when there is one; otherwise run handle()
	// (the normal handler) and record its answer.  fired: the faults this
	// request fired (none may have for a template to be recorded).
	async serve(req, res, path, body, fired, handle) {
		const key = this.shapeKey(req, path, body);
		const tpl = this.templates.get(key);
		const sid = req.headers["privatemode-secret-id"];
		if (tpl && fired.size === 0 && (sid === undefined || this.ctx.store.get(sid))) {
			const nonce = sid === undefined ? null : this.requestNonce(body, sid);
			if (sid === undefined || nonce) {
				this.served++;
				return this.play(tpl, req, res, sid, nonce);
			}
		}
		if (fired.size !== 0) return handle();
		const rec = this.record(res);
		await handle();
		if (!rec.ok()) return;
		let t;
		try { t = this.template(rec, sid); } catch (e) { process.stderr.write(`sim: ${e.message}; not replaying this shape\n`); return; }
		if (t) this.templates.set(key, t);
	}

	requestNonce(body, sid) {
		const needle = `"${sid}:`;
		const at = body.indexOf(needle);
		if (at < 0) return null;
		const hex = body.toString("latin1", at + needle.length, at + needle.length + 24);
		return /^[0-9a-f]{24}$/.test(hex) ? Buffer.from(hex, "hex") : null;
	}

	// Record what the handler writes to res.
	record(res) {
		const r = { status: null, headers: null, writes: [], ended: false, failed: false };
		const { writeHead, write, end } = res;
		const chunk = (c) => (c === undefined || c === null ? null : Buffer.isBuffer(c) ? Buffer.from(c) : Buffer.from(String(c)));
		res.writeHead = function (status, ...a) {
			const h = a.find((x) => x && typeof x === "object") ?? {};
			r.status = status;
			r.headers = { ...this.getHeaders(), ...Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v])) };
			return writeHead.call(this, status, ...a);
		};
		// node's HTTP/2 compat end(chunk) calls this.write(chunk): once.
		let inEnd = false;
		res.write = function (c, ...a) {
			const b = inEnd ? null : chunk(c);
			if (b && b.length) r.writes.push(b);
			return write.call(this, c, ...a);
		};
		res.end = function (c, ...a) {
			const b = typeof c === "function" ? null : chunk(c);
			if (b && b.length) r.writes.push(b);
			r.ended = true;
			inEnd = true;
			try {
				return end.call(this, c, ...a);
			} finally {
				inEnd = false;
			}
		};
		res.on("close", () => { if (!res.writableFinished) r.failed = true; });
		r.ok = () => r.ended && !r.failed && r.status === 200 && r.writes.length > 0;
		return r;
	}

	template(rec, sid) {
		const all = Buffer.concat(rec.writes);
		const t = { status: rec.status, headers: rec.headers, bytes: all, cuts: [], msgs: [], sid, nonce: null, stream: rec.writes.length > 1 };
		let at = 0;
		for (const w of rec.writes) { at += w.length; t.cuts.push(at); }
		if (sid !== undefined) {
			const nonce = this.requestNonce(all, sid);
			if (!nonce) return null; // nothing encrypted: not replayed
			t.nonce = nonce;
			t.msgs = findMessages(all, sid, nonce.toString("hex"));
			this.check(t);
		}
		delete t.headers["content-length"];
		delete t.headers["transfer-encoding"];
		delete t.headers.date;
		delete t.headers.connection;
		delete t.headers["keep-alive"];
		return t;
	}

	tables(sid) {
		let k = this.keys.get(sid);
		if (!k) { k = new KeyTables(this.ctx.store.get(sid)); this.keys.set(sid, k); }
		return k;
	}

	// Once per template: the first message's tag patched for another
	// nonce equals a real encryption's under that nonce.  Values are
	// numbered in the traversal's order, not the document's, so the first
	// message's number is found by trying.
	check(t) {
		const m = t.msgs[0];
		const s = t.bytes.toString("latin1", m.nonceAt + 25, m.tagAt + 32);
		const iv = Buffer.from(s.slice(0, 24), "hex");
		const ct = Buffer.from(s.slice(25), "hex");
		const key = this.ctx.store.get(t.sid);
		const aad = (nonce, seq) => { const a = Buffer.alloc(16); nonce.copy(a); a.writeUInt32LE(seq, 12); return a; };
		let pt = null, seq = 0;
		for (; pt === null && seq < t.msgs.length; seq++) {
			const d = createDecipheriv("aes-256-gcm", key, iv);
			d.setAAD(aad(t.nonce, seq));
			d.setAuthTag(ct.subarray(ct.length - 16));
			try { pt = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]); } catch { /* not this seq */ }
		}
		if (pt === null) throw new Error("replay: a recorded field message does not open");
		const other = Buffer.alloc(12, 0x5a);
		const c = createCipheriv("aes-256-gcm", key, iv);
		c.setAAD(aad(other, seq - 1));
		c.update(pt);
		c.final();
		const want = c.getAuthTag();
		const got = toBuf(m.tag ^ this.tables(t.sid).corr(xor12(other, t.nonce), m.n));
		if (!got.equals(want)) throw new Error("replay: the GHASH tag correction disagrees with AES-GCM");
	}

	// The recorded answer for this request: copy, patch nonces and tags.
	patched(t, nonce) {
		if (!t.msgs.length) return t.bytes;
		const b = Buffer.from(t.bytes);
		const nh = nonce.toString("hex");
		const d = xor12(nonce, t.nonce);
		const kt = this.tables(t.sid);
		const corr = new Map();
		for (const m of t.msgs) {
			let c = corr.get(m.n);
			if (c === undefined) { c = kt.corr(d, m.n); corr.set(m.n, c); }
			b.write(nh, m.nonceAt, "latin1");
			b.write((m.tag ^ c).toString(16).padStart(32, "0"), m.tagAt, "latin1");
		}
		return b;
	}

	async play(t, req, res, sid, nonce) {
		const b = sid === undefined ? t.bytes : this.patched(t, nonce);
		res.writeHead(t.status, t.headers);
		if (!t.stream) { res.end(b); return; }
		res.flushHeaders();
		const iv = Number(req.headers["x-sim-chunk-interval-ms"] ?? this.ctx.opts.chunkIntervalMs);
		const every = Number.isFinite(iv) && iv > 0 ? iv : 0;
		const align = every > 0 && req.headers["x-sim-chunk-align"] === "1";
		const t0 = performance.now();
		const piece = (i) => b.subarray(i ? t.cuts[i - 1] : 0, t.cuts[i]);
		const last = t.cuts.length - 1;
		if (every > 0 && !align) {
			// Each write at its own deadline (the pacer), not in a timer
			// turn with the other streams due in the same millisecond; the
			// second one a random fraction of the interval late, so that
			// streams started together are out of step, as independent
			// streams are.
			const phase = Math.random() * every;
			return new Promise((resolve) => {
				let i = 0;
				const step = () => {
					if (res.destroyed) { resolve(); return; }
					if (i === last) { res.end(piece(i)); resolve(); return; }
					const ok = res.write(piece(i++));
					// http corks the socket until the next tick, and the
					// pacer may keep the loop for a few ms: send it now.
					res.socket?.uncork();
					const next = () => this.pacer.at(t0 + phase + i * every, step);
					if (ok) next(); else drained(res).then(next);
				};
				step();
			});
		}
		for (let i = 0; i <= last; i++) {
			if (i > 0 && align) await this.tick(every);
			if (res.destroyed) return;
			if (i === last) { res.end(piece(i)); return; }
			if (!res.write(piece(i))) await drained(res);
		}
	}

	// One shared timer per interval: every stream waiting on it writes in
	// the same turn of the event loop.
	tick(every) {
		let k = this.ticks.get(every);
		if (!k) {
			k = { waiters: [], timer: null };
			k.timer = setInterval(() => {
				const w = k.waiters;
				k.waiters = [];
				for (const r of w) r();
				if (!w.length && !k.waiters.length) { clearInterval(k.timer); this.ticks.delete(every); }
			}, every);
			this.ticks.set(every, k);
		}
		return new Promise((r) => k.waiters.push(r));
	}
}

// Deadlines finer than Node's timers: those have a resolution of one
// millisecond, so 64 streams paced 20 ms apart would write in clusters of
// three or four per timer turn and a proxy would get them in batches.  The
// pacer arms a timer for a few milliseconds before the earliest deadline,
// then sleeps the rest in Atomics.wait (a futex with a fractional timeout)
// and writes when it is due; it hands the event loop back at least every
// 4 ms (new requests wait that long at most).
class Pacer {
	constructor() {
		this.q = []; // binary heap of {at, fn} by at
		this.timer = null;
		this.timerAt = Infinity;
		this.running = false;
		this.i32 = new Int32Array(new SharedArrayBuffer(4));
	}
	at(when, fn) {
		const q = this.q;
		q.push({ at: when, fn });
		for (let i = q.length - 1; i > 0;) {
			const p = (i - 1) >> 1;
			if (q[p].at <= q[i].at) break;
			[q[p], q[i]] = [q[i], q[p]];
			i = p;
		}
		if (!this.running) this.arm();
	}
	pop() {
		const q = this.q, top = q[0], end = q.pop();
		if (q.length) {
			q[0] = end;
			for (let i = 0; ;) {
				const l = 2 * i + 1, r = l + 1;
				let m = i;
				if (l < q.length && q[l].at < q[m].at) m = l;
				if (r < q.length && q[r].at < q[m].at) m = r;
				if (m === i) break;
				[q[m], q[i]] = [q[i], q[m]];
				i = m;
			}
		}
		return top;
	}
	arm() {
		if (!this.q.length) return;
		const first = this.q[0].at;
		if (this.timer && this.timerAt <= first) return;
		this.disarm();
		this.timerAt = first;
		// A timer fires up to a millisecond and more late: arm it early.
		const wait = first - performance.now() - 3;
		const go = () => { this.timer = null; this.timerAt = Infinity; this.run(); };
		this.timer = wait > 1 ? { t: setTimeout(go, wait) } : { i: setImmediate(go) };
	}
	disarm() {
		if (this.timer?.t) clearTimeout(this.timer.t);
		if (this.timer?.i) clearImmediate(this.timer.i);
		this.timer = null;
		this.timerAt = Infinity;
	}
	run() {
		this.running = true;
		const start = performance.now();
		try {
			while (this.q.length) {
				const now = performance.now();
				const d = this.q[0].at - now;
				if (d > 4 || now - start > 4) break;
				if (d > 0.02) Atomics.wait(this.i32, 0, 0, d);
				try { this.pop().fn(); } catch { /* a write to a gone stream */ }
			}
		} finally {
			this.running = false;
		}
		this.arm();
	}
}

function xor12(a, b) {
	const d = Buffer.alloc(12);
	for (let j = 0; j < 12; j++) d[j] = a[j] ^ b[j];
	return d;
}

function drained(res) {
	return new Promise((resolve) => {
		const done = () => { res.off("drain", done); res.off("close", done); resolve(); };
		res.on("drain", done);
		res.on("close", done);
	});
}
