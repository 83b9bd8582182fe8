// Field-level AES-256-GCM messages (protocol spec §3.1-§3.2), server side.
//
// Message text: "<secretID>:<hex nonce>:<hex iv>:<hex ct||tag>" with the
// double quotes included; AAD = request nonce (12) || LE32(sequence).
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

// IVs are drawn from a pool of random bytes filled 4 KiB at a time: one
// randomBytes(12) per field cost about half of the simulator's CPU time
// when it streams, enough to hold back the proxy under benchmark.
const IV_POOL = 12 * 341;
let ivPool = Buffer.alloc(0);
let ivAt = 0;

function randomIv() {
	if (ivAt === ivPool.length) {
		ivPool = randomBytes(IV_POOL);
		ivAt = 0;
	}
	ivAt += 12;
	return ivPool.subarray(ivAt - 12, ivAt);
}

export function sealMessage(key, id, nonce, seq, plaintext) {
	const iv = randomIv();
	const c = createCipheriv("aes-256-gcm", key, iv);
	c.setAAD(aad(nonce, seq));
	const ct = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
	return `"${id}:${nonce.toString("hex")}:${iv.toString("hex")}:${ct.toString("hex")}"`;
}

export function parseMessage(text) {
	const t = text.replace(/^"+|"+$/g, "");
	const parts = t.split(":");
	if (parts.length !== 4) throw new Error(`invalid message format: expected format '"id:nonce:iv:cipher"'`);
	// Buffer.from stops at the first pair that is not hex, so a whole
	// decode is the check (a regular expression over the ciphertext cost
	// the simulator 5 % of its time under benchmark load).
	const hex = (s) => {
		const b = Buffer.from(s, "hex");
		if (2 * b.length !== s.length) throw new Error("invalid message format: bad hex");
		return b;
	};
	return { id: parts[0], nonce: hex(parts[1]), iv: hex(parts[2]), ct: hex(parts[3]) };
}

export function openMessage(key, nonce, seq, msg) {
	if (msg.ct.length < 16) throw new Error("ciphertext too short");
	const d = createDecipheriv("aes-256-gcm", key, msg.iv);
	d.setAAD(aad(nonce, seq));
	d.setAuthTag(msg.ct.subarray(msg.ct.length - 16));
	try {
		return Buffer.concat([d.update(msg.ct.subarray(0, msg.ct.length - 16)), d.final()]);
	} catch {
		throw new Error("cipher: message authentication failed");
	}
}

function aad(nonce, seq) {
	const b = Buffer.alloc(16);
	Buffer.from(nonce).copy(b, 0, 0, 12);
	b.writeUInt32LE(seq >>> 0, 12);
	return b;
}

export class NoSecretError extends Error {
	constructor(id) {
		super(`no secret for ID ${JSON.stringify(id)}`);
		this.secretId = id;
	}
}

// The inference-proxy's per-request cipher: the secret and nonce come from
// the first value it decrypts; every later value must carry the same secret
// ID; request values are numbered 0,1,2,...; a response may only be
// encrypted after at least one request value was decrypted, and response
// values are numbered from 0 independently.  `lookup(id)` returns the
// 32-byte secret or null.
export class ServerCipher {
	// keepPlaintext: remember decrypted request values for the test-only
	// request records (GET /__sim/requests).
	constructor(lookup, { keepPlaintext = false } = {}) {
		this.lookup = lookup;
		this.keepPlaintext = keepPlaintext;
		this.id = null;
		this.key = null;
		this.nonce = null;
		this.decSeq = 0;
		this.encSeq = 0;
		this.log = []; // {dir: "req"|"resp", seq, ...}
		this.skipSeq = 0; // fault "wrong-seq": bump the response counter once
	}

	decrypt(text, where = "") {
		const msg = parseMessage(text);
		if (this.id === null) {
			const key = this.lookup(msg.id);
			if (!key) throw new NoSecretError(msg.id);
			if (msg.nonce.length !== 12) throw new Error("invalid nonce length");
			this.id = msg.id;
			this.key = key;
			this.nonce = msg.nonce;
		} else if (msg.id !== this.id) {
			throw new Error(`secret ID mismatch: ${JSON.stringify(msg.id)} != ${JSON.stringify(this.id)}`);
		}
		const seq = this.decSeq;
		const pt = openMessage(this.key, this.nonce, seq, msg);
		this.decSeq++;
		this.log.push({ dir: "req", seq, field: where, ...(this.keepPlaintext ? { plaintext: pt } : {}) });
		return pt;
	}

	encrypt(plaintext, where = "") {
		if (this.id === null) throw new Error("can't encrypt a response before decrypting a request");
		if (this.skipSeq > 0) { this.encSeq += this.skipSeq; this.skipSeq = 0; }
		const seq = this.encSeq++;
		this.log.push({ dir: "resp", seq, field: where });
		return sealMessage(this.key, this.id, this.nonce, seq, Buffer.from(plaintext));
	}
}
