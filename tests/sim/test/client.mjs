// A Privatemode client written from the specifications (protocol spec and
// attestation spec), used to prove the simulator and, later, as the
// reference the C daemon's behaviour is compared with.  It deliberately
// does not import the simulator's report, protobuf or crypto code; the
// only shared pieces are the JSON traversal (checked separately against
// the spec's worked example) and the ID-key derivation (checked against the
// spec's regression values).
import https from "node:https";
import http from "node:http";
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, verify as cverify, X509Certificate, constants } from "node:crypto";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";
import { certExtensions, certSerial, certSigAlg, parseCrl, intOf, PSS_OID } from "./asn1.mjs";
import { decode, last } from "./pbdecode.mjs";
import { idKeyDigest, guestPolicyBits } from "../lib/idkey.mjs";
import { mutate } from "../lib/traverse.mjs";

const sha256 = (...p) => { const h = createHash("sha256"); for (const x of p) h.update(x); return h.digest(); };

// --- HTTP ---------------------------------------------------------------

export function request(base, method, path, { headers = {}, body, ca, timeoutMs = 10000, raw = false } = {}) {
	const u = new URL(path, base);
	const mod = u.protocol === "https:" ? https : http;
	return new Promise((resolve, reject) => {
		const req = mod.request(u, { method, headers, ca, agent: false }, (res) => {
			if (raw) return resolve(res);
			const chunks = [];
			res.on("data", (c) => chunks.push(c));
			res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
			res.on("error", reject);
		});
		req.setTimeout(timeoutMs, () => req.destroy(new Error("client timeout")));
		req.on("error", reject);
		if (body !== undefined) req.write(body);
		req.end();
	});
}

const strictB64 = (s, what) => {
	if (typeof s !== "string" || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) throw new VerifyError(`${what}: illegal base64 data`);
	return Buffer.from(s, "base64");
};

export class VerifyError extends Error {}
const fail = (m) => { throw new VerifyError(m); };

// --- attestation (attestation spec §1-§2, §4) ---------------------------

export function transitionDigest(manifests) {
	let prev = Buffer.alloc(32);
	for (const m of manifests) prev = sha256(sha256(m), prev);
	return prev;
}

export function expectedReportData(nonce, manifests, rootCa, meshCa) {
	return Buffer.concat([sha256(nonce, transitionDigest(manifests), sha256(rootCa), sha256(meshCa)), Buffer.alloc(32)]);
}

const REPORT_BYTES = new Set([4, 5, 11, 12, 13, 14, 15, 16, 17, 19, 28]);

export function decodeReport(buf) {
	const m = decode(buf);
	const f = (n) => {
		const v = last(m, n, undefined);
		if (REPORT_BYTES.has(n)) return v === undefined ? Buffer.alloc(0) : Buffer.from(v);
		if (v !== undefined && Buffer.isBuffer(v)) fail(`report field ${n}: wrong wire type`);
		return v ?? 0n;
	};
	return {
		version: Number(f(1)), guestSvn: Number(f(2)), policy: f(3), familyId: f(4), imageId: f(5), vmpl: Number(f(6)),
		signatureAlgo: Number(f(7)), currentTcb: f(8), platformInfo: f(9), signerInfo: Number(f(10)), reportData: f(11),
		measurement: f(12), hostData: f(13), idKeyDigest: f(14), authorKeyDigest: f(15), reportId: f(16), reportIdMa: f(17),
		reportedTcb: f(18), chipId: f(19), committedTcb: f(20), currentBuild: Number(f(21)), currentMinor: Number(f(22)),
		currentMajor: Number(f(23)), committedBuild: Number(f(24)), committedMinor: Number(f(25)), committedMajor: Number(f(26)),
		launchTcb: f(27), signature: f(28), cpuid1eaxFms: Number(f(29)), launchMitVector: f(30), currentMitVector: f(31),
	};
}

// Rebuild the firmware's 0x4A0 report from the proto (spec §2.3 step 5).
export function abiBytes(r) {
	const b = Buffer.alloc(0x4a0);
	const put = (off, len, v) => {
		if (v.length !== len) fail(`report field at 0x${off.toString(16)} has ${v.length} bytes, want ${len}`);
		v.copy(b, off);
	};
	b.writeUInt32LE(r.version, 0); b.writeUInt32LE(r.guestSvn, 4); b.writeBigUInt64LE(r.policy, 8);
	put(0x10, 16, r.familyId); put(0x20, 16, r.imageId);
	b.writeUInt32LE(r.vmpl, 0x30); b.writeUInt32LE(r.signatureAlgo, 0x34);
	b.writeBigUInt64LE(r.currentTcb, 0x38); b.writeBigUInt64LE(r.platformInfo, 0x40); b.writeUInt32LE(r.signerInfo, 0x48);
	put(0x50, 64, r.reportData); put(0x90, 48, r.measurement); put(0xc0, 32, r.hostData); put(0xe0, 48, r.idKeyDigest);
	put(0x110, 48, r.authorKeyDigest); put(0x140, 32, r.reportId); put(0x160, 32, r.reportIdMa);
	b.writeBigUInt64LE(r.reportedTcb, 0x180);
	if (r.version >= 3) {
		const e = r.cpuid1eaxFms;
		b[0x188] = ((e >>> 20) & 0xff) + ((e >>> 8) & 0xf);
		b[0x189] = (((e >>> 16) & 0xf) << 4) | ((e >>> 4) & 0xf);
		b[0x18a] = e & 0xf;
	}
	put(0x1a0, 64, r.chipId); b.writeBigUInt64LE(r.committedTcb, 0x1e0);
	b[0x1e8] = r.currentBuild; b[0x1e9] = r.currentMinor; b[0x1ea] = r.currentMajor;
	b[0x1ec] = r.committedBuild; b[0x1ed] = r.committedMinor; b[0x1ee] = r.committedMajor;
	b.writeBigUInt64LE(r.launchTcb, 0x1f0); b.writeBigUInt64LE(r.launchMitVector, 0x1f8); b.writeBigUInt64LE(r.currentMitVector, 0x200);
	put(0x2a0, 512, r.signature);
	return b;
}

const tcbBytes = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
// Componentwise a <= b over the 8 TCB bytes.
const tcbLE = (a, b) => { const x = tcbBytes(a), y = tcbBytes(b); for (let i = 0; i < 8; i++) if (x[i] > y[i]) return false; return true; };

function productLine(eax) {
	const fam = ((eax >>> 20) & 0xff) + ((eax >>> 8) & 0xf), model = (((eax >>> 16) & 0xf) << 4) | ((eax >>> 4) & 0xf);
	if (fam === 0x19 && model === 0x01) return "Milan";
	if (fam === 0x19 && model === 0x11) return "Genoa";
	if (fam === 0x1a && model === 0x02) return "Turin";
	return "Unknown";
}

const AMD = "1.3.6.1.4.1.3704.1.";
function vcekTcbAndHwid(der) {
	const ext = certExtensions(der);
	const int = (k) => {
		const e = ext.get(AMD + k);
		if (!e || e.value[0] !== 0x02) fail(`VCEK extension ${AMD + k} missing or not an INTEGER`);
		const v = Number(intOf(e.value.subarray(2, 2 + e.value[1])));
		if (v < 0 || v > 255) fail(`VCEK extension ${AMD + k} out of range`);
		return v;
	};
	const [bl, tee, s4, s5, s6, s7, snp, ucode] = ["3.1", "3.2", "3.4", "3.5", "3.6", "3.7", "3.3", "3.8"].map(int);
	const tcb = [bl, tee, s4, s5, s6, s7, snp, ucode].reduce((acc, v, i) => acc | (BigInt(v) << BigInt(8 * i)), 0n);
	const hw = ext.get(AMD + "4");
	if (!hw) fail("VCEK has no hwID extension");
	let hwid = hw.value;
	if (hwid.length === 66 && hwid[0] === 0x04 && hwid[1] === 64) hwid = hwid.subarray(2);
	if (hwid.length !== 64) fail("VCEK hwID is not 64 bytes");
	if (ext.has(AMD + "5")) fail("VCEK carries a cspID (VLEK-only extension)");
	return { tcb, hwid: Buffer.from(hwid) };
}

const cn = (dn, want) => new RegExp(`(^|\\n)CN=${want}(\\n|$)`).test(dn);
const validNow = (c, now) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);

// Verify an AttestationDoc for `nonce` against the expected manifest bytes
// and the trust anchors; returns the Coordinator state.  `fetchKds(path)`
// is used for a VCEK or CRL the document omits.
export async function verifyAttestation(attestationDocB64, nonce, expectedManifest, anchors, { fetchKds, now = new Date() } = {}) {
	const docBytes = strictB64(attestationDocB64, "AttestationDoc");
	let doc;
	try { doc = JSON.parse(docBytes.toString("utf8")); } catch (e) { fail(`parsing attestation document: ${e.message}`); }
	if (nonce.length !== 32) fail("nonce must be 32 bytes");
	const manifests = (doc.manifests ?? []).map((m, i) => strictB64(m, `manifests[${i}]`));
	if (!manifests.length) fail("no manifests in attestation document");
	const rootCa = strictB64(doc.root_ca, "root_ca"), meshCa = strictB64(doc.mesh_ca, "mesh_ca");
	const raw = strictB64(doc.raw_attestation_doc, "raw_attestation_doc");
	let att, report, chain = new Map(), extras = new Map(), product;
	try {
		att = decode(raw);
		if (!att.has(1)) fail("attestation has no report");
		report = decodeReport(last(att, 1));
		if (att.has(2)) chain = decode(last(att, 2));
		for (const e of chain.get(7) ?? []) { const kv = decode(e); extras.set(Buffer.from(last(kv, 1, Buffer.alloc(0))).toString(), Buffer.from(last(kv, 2, Buffer.alloc(0)))); }
		if (att.has(3)) product = Number(last(decode(last(att, 3)), 1, 0n));
	} catch (e) { if (e instanceof VerifyError) throw e; fail(`parsing protobuf: ${e.message}`); }

	const manifest = JSON.parse(manifests[manifests.length - 1]);
	const ref = manifest.ReferenceValues.snp[0];
	const coordHash = Object.entries(manifest.Policies).find(([, p]) => p.Role === "coordinator")?.[0];
	if (!coordHash) fail("manifest has no coordinator policy");

	// Parse-level checks.
	if (report.version < 3 || report.version > 5) fail(`unsupported report version ${report.version}`);
	if (report.signatureAlgo !== 1) fail(`unknown signature algorithm ${report.signatureAlgo}`);
	if (!(report.policy & (1n << 17n)) || report.policy >> 26n) fail("malformed guest policy");
	if (report.platformInfo >> 8n || report.platformInfo & 0x40n) fail("malformed platform info");
	const line = productLine(report.cpuid1eaxFms);
	if (line !== ref.ProductName) fail(`product line ${line} does not match manifest ${ref.ProductName}`);
	const si = report.signerInfo;
	if (si >>> 5) fail("signer info reserved bits set");
	if (((si >>> 2) & 7) !== 0) fail(`report not signed by a VCEK (signing key ${(si >>> 2) & 7})`);

	// Trust chain: trusted ARK -> trusted ASK -> VCEK (doc's ASK/ARK ignored).
	const ark = new X509Certificate(anchors.ark), ask = new X509Certificate(anchors.ask);
	let vcekDer = chain.has(1) ? Buffer.from(last(chain, 1)) : null;
	if (!vcekDer) {
		const t = Buffer.alloc(8); t.writeBigUInt64LE(report.reportedTcb);
		vcekDer = await fetchKds(`/vcek/v1/${line}/${report.chipId.toString("hex")}?blSPL=${t[0]}&teeSPL=${t[1]}&snpSPL=${t[6]}&ucodeSPL=${t[7]}`);
	}
	const vcek = new X509Certificate(vcekDer);
	if (!ask.verify(ark.publicKey) || !ark.verify(ark.publicKey)) fail("trust anchors do not chain");
	if (certSigAlg(vcekDer) !== PSS_OID) fail("VCEK not signed with RSASSA-PSS");
	if (!vcek.verify(ask.publicKey)) fail("VCEK signature does not verify with the trusted ASK");
	if (!cn(vcek.subject, "SEV-VCEK") || !cn(vcek.issuer, `SEV-${line}`)) fail("VCEK subject/issuer names");
	if (!validNow(vcek, now) || !validNow(ask, now) || !validNow(ark, now)) fail("certificate expired or not yet valid");
	if (vcek.publicKey.asymmetricKeyDetails?.namedCurve !== "secp384r1") fail("VCEK key is not P-384");
	const vx = vcekTcbAndHwid(vcekDer);

	// Revocation: CRL signed by the ARK (PSS/SHA-384), must not list the ASK.
	const crlDer = extras.get("00569ee4-e480-4fba-bbf4-45b629901180") ?? await fetchKds(`/vcek/v1/${line}/crl`);
	const crl = parseCrl(crlDer);
	if (crl.sigAlg !== PSS_OID) fail("CRL not signed with RSASSA-PSS");
	if (!cverify("sha384", crl.tbs, { key: ark.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, crl.signature)) fail("CRL signature does not verify with the ARK");
	if (crl.nextUpdate && crl.nextUpdate < now) fail("CRL expired");
	if (crl.revoked.includes(certSerial(ask.raw))) fail("ASK is revoked");

	// Report signature: R, S little-endian 72-byte fields.
	const abi = abiBytes(report);
	const sig = Buffer.concat([Buffer.from(abi.subarray(0x2a0, 0x2a0 + 48)).reverse(), Buffer.from(abi.subarray(0x2e8, 0x2e8 + 48)).reverse()]);
	if (abi.subarray(0x2a0 + 48, 0x2e8).some((x) => x) || abi.subarray(0x2e8 + 48, 0x4a0).some((x) => x)) fail("signature field has non-zero padding");
	if (!cverify("sha384", abi.subarray(0, 0x2a0), { key: vcek.publicKey, dsaEncoding: "ieee-p1363" }, sig)) fail("report signature does not verify with the VCEK");

	// Field checks against the manifest (spec §2.5).
	const gp = guestPolicyBits(ref.GuestPolicy);
	const allowed = { 16: "SMT", 18: "MigrateMA", 19: "Debug", 21: "CXLAllowed" };
	for (const [bit, name] of Object.entries(allowed)) if (report.policy & (1n << BigInt(bit)) && !ref.GuestPolicy[name]) fail(`guest policy bit ${name} not allowed`);
	for (const bit of [20, 22, 23, 24, 25]) if (gp & (1n << BigInt(bit)) && !(report.policy & (1n << BigInt(bit)))) fail(`guest policy bit ${bit} required`);
	if (!report.reportData.equals(expectedReportData(nonce, manifests, rootCa, meshCa))) fail("REPORT_DATA does not bind the nonce and Coordinator state");
	if (!report.hostData.equals(Buffer.from(coordHash, "hex"))) fail("HOST_DATA is not the coordinator policy hash");
	if (!report.measurement.equals(Buffer.from(ref.TrustedMeasurement, "hex"))) fail("MEASUREMENT mismatch");
	const min = BigInt(ref.MinimumTCB.BootloaderVersion) | (BigInt(ref.MinimumTCB.TEEVersion) << 8n) | (BigInt(ref.MinimumTCB.SNPVersion) << 48n) | (BigInt(ref.MinimumTCB.MicrocodeVersion) << 56n);
	if (!tcbLE(report.committedTcb, report.currentTcb)) fail("committed TCB above current TCB");
	if (!tcbLE(min, report.launchTcb)) fail("launch TCB below minimum");
	if (report.reportedTcb !== vx.tcb) fail("reported TCB differs from the VCEK's TCB");
	if (!tcbLE(vx.tcb, report.currentTcb)) fail("VCEK TCB above current TCB");
	if (!tcbLE(min, report.reportedTcb)) fail("reported TCB below minimum");
	if (report.committedBuild > report.currentBuild && report.committedMajor === report.currentMajor && report.committedMinor === report.currentMinor) fail("committed firmware build above current");
	const pi = ref.PlatformInfo, pInfo = report.platformInfo;
	if (pInfo & 1n && !pi.SMTEnabled) fail("platform info: SMT enabled but not allowed");
	if (pInfo & 2n && !pi.TSMEEnabled) fail("platform info: TSME enabled but not allowed");
	if (pInfo & 0x80n && !pi.TIOEnabled) fail("platform info: TIO enabled but not allowed");
	if (pi.ECCEnabled && !(pInfo & 4n)) fail("platform info: ECC required");
	if (pi.AliasCheckComplete && !(pInfo & 0x20n)) fail("platform info: alias check required");
	if (!report.idKeyDigest.equals(idKeyDigest(Buffer.from(ref.TrustedMeasurement, "hex"), gp))) fail("ID_KEY_DIGEST mismatch");
	const mv = BigInt(ref.MinimumMitigationVector ?? 0);
	if ((report.launchMitVector & mv) !== mv || (report.currentMitVector & mv) !== mv) fail("mitigation vector below minimum");
	if (report.vmpl !== 0) fail(`VMPL ${report.vmpl} is not 0`);
	if (report.chipId.some((x) => x) && !report.chipId.equals(vx.hwid)) fail("CHIP_ID is not the VCEK's hwID");
	const allowedIds = (ref.AllowedChipIDs ?? []).map((h) => h.toLowerCase());
	if (allowedIds.length && !allowedIds.includes(report.chipId.toString("hex"))) fail("CHIP_ID not allowed by the manifest");

	// Privatemode's own checks (protocol spec §2.3).
	if (manifests.length !== 1) fail("expected exactly one manifest");
	if (!manifests[0].equals(expectedManifest)) fail("active manifest does not match expected manifest");
	const meshCaCert = new X509Certificate(meshCa);
	return { report, manifests, rootCa, meshCa, meshCaCert, product, vcek, usedKds: !chain.has(1) || !extras.size };
}

// --- secret exchange (attestation spec §5-§6) ----------------------------

function hkdfExtract(salt, ikm) { return createHmac("sha256", salt.length ? salt : Buffer.alloc(32)).update(ikm).digest(); }
function hkdfExpand(prk, info, L) {
	let t = Buffer.alloc(0), out = Buffer.alloc(0);
	for (let i = 1; out.length < L; i++) { t = createHmac("sha256", prk).update(Buffer.concat([t, info, Buffer.from([i])])).digest(); out = Buffer.concat([out, t]); }
	return out.subarray(0, L);
}
const SUITE = Buffer.from("48504b45647a0001ffff", "hex");
const HPKE_V1 = Buffer.from("HPKE-v1");
const labeledExtract = (salt, label, ikm) => hkdfExtract(salt, Buffer.concat([HPKE_V1, SUITE, Buffer.from(label), ikm]));
const labeledExpand = (prk, label, info, L) => { const l = Buffer.alloc(2); l.writeUInt16BE(L); return hkdfExpand(prk, Buffer.concat([l, HPKE_V1, SUITE, Buffer.from(label), info]), L); };

// RFC 9180 base mode, info "", ExportOnly; Export("", 32).
export function hpkeExport(sharedSecret) {
	const e = Buffer.alloc(0);
	const ctx = Buffer.concat([Buffer.from([0]), labeledExtract(e, "psk_id_hash", e), labeledExtract(e, "info_hash", e)]);
	const secret = labeledExtract(Buffer.from(sharedSecret), "secret", e);
	const exporter = labeledExpand(secret, "exp", ctx, 32);
	return labeledExpand(exporter, "sec", e, 32);
}

// send(method, path, opts): another transport (an HTTP/2 client) instead of request().
export async function secretExchange(base, { apiKey, ca, meshCaCert, now = new Date(), send = (m, p, o) => request(base, m, p, o) }) {
	const kp = ml_kem768_x25519.keygen();
	const pk = Buffer.from(kp.publicKey);
	const res = await send("POST", "/privatemode/v1/secret", { ca, headers: { Authorization: `Bearer ${apiKey}`, "Privatemode-Version": "v1.40.0" }, body: JSON.stringify({ PublicKey: pk.toString("base64") }) });
	if (res.status === 401) fail(`Unauthorized: ${res.body}`);
	if (res.status !== 200) fail(`unexpected status code: ${res.status}: ${res.body}`);
	const j = JSON.parse(res.body);
	const enc = strictB64(j.EncapsulatedKey, "EncapsulatedKey"), sig = strictB64(j.Signature, "Signature");
	let leaf;
	try { leaf = new X509Certificate(strictB64(j.MeshCert, "MeshCert")); } catch (e) { fail(`getting public key: parsing certificate: ${e.message}`); }
	if (!leaf.checkIssued(meshCaCert) || !leaf.verify(meshCaCert.publicKey)) fail("getting public key: verifying certificate: not issued by the mesh CA");
	if (!validNow(leaf, now)) fail("getting public key: verifying certificate: expired");
	if (Array.isArray(leaf.keyUsage) && !leaf.keyUsage.includes("1.3.6.1.5.5.7.3.1")) fail("getting public key: verifying certificate: no serverAuth EKU");
	if (leaf.publicKey.asymmetricKeyType !== "ec") fail("public key is not ECDSA");
	if (!cverify("sha256", Buffer.concat([pk, enc]), { key: leaf.publicKey, dsaEncoding: "der" }, sig)) fail("invalid signature");
	if (enc.length !== 1120) fail(`creating recipient: invalid encapsulated key length ${enc.length}`);
	const ss = ml_kem768_x25519.decapsulate(enc, kp.secretKey);
	return { secret: hpkeExport(ss), id: sha256(pk).toString("base64"), pk, enc };
}

// --- field encryption (protocol spec §3) ---------------------------------

export class ClientCipher {
	constructor(secret, id, nonce = randomBytes(12)) { Object.assign(this, { secret, id, nonce, encSeq: 0, decSeq: 0, decrypted: false }); }
	aad(seq) { const b = Buffer.alloc(16); this.nonce.copy(b); b.writeUInt32LE(seq, 12); return b; }
	encrypt(pt, iv = randomBytes(12)) {
		if (this.decrypted) throw new Error("can't encrypt another request after decrypting a response");
		const c = createCipheriv("aes-256-gcm", this.secret, iv);
		c.setAAD(this.aad(this.encSeq++));
		const ct = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
		return `"${this.id}:${this.nonce.toString("hex")}:${iv.toString("hex")}:${ct.toString("hex")}"`;
	}
	decrypt(msg) {
		const parts = msg.replace(/^"+|"+$/g, "").split(":");
		if (parts.length !== 4) throw new Error(`invalid message format: expected format '"id:nonce:iv:cipher"'`);
		const iv = Buffer.from(parts[2], "hex"), ct = Buffer.from(parts[3], "hex");
		const d = createDecipheriv("aes-256-gcm", this.secret, iv);
		d.setAAD(this.aad(this.decSeq));
		d.setAuthTag(ct.subarray(ct.length - 16));
		const pt = Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
		this.decSeq++;
		this.decrypted = true;
		return pt;
	}
	encryptJson(text, plain) { return mutate(text, plain, (raw) => this.encrypt(Buffer.from(raw))); }
	decryptJson(text, plain) {
		return mutate(text, plain, (raw) => {
			if (typeof JSON.parse(raw) !== "string") throw new Error(`invalid message format: expected format '"id:nonce:iv:cipher"'`);
			return this.decrypt(raw).toString("utf8");
		});
	}
}

export function ocspHeaders(secret, policy = `rules=allow-good,allow-revoked,allow-unknown; revocation-time-not-before=${Math.floor(Date.now() / 1000) - 172800}`) {
	return { "Privatemode-NVIDIA-OCSP-Policy": policy, "Privatemode-NVIDIA-OCSP-Policy-MAC": createHmac("sha256", secret.subarray(0, 32)).update(policy).digest("hex") };
}

// Decrypt an SSE body the way the proxy does (spec §3.6): line by line,
// `event` lines and [DONE] untouched, every other payload is JSON.
export function decryptSse(cipher, text, plain) {
	const events = [];
	let ev = null;
	for (const line of text.split("\n")) {
		if (line === "") continue;
		const i = line.indexOf(": ");
		const head = i >= 0 ? line.slice(0, i) : null, payload = i >= 0 ? line.slice(i + 2) : line;
		if (head === "event") { ev = payload; continue; }
		if (payload.toUpperCase() === "[DONE]") { events.push({ event: ev, done: true }); ev = null; continue; }
		events.push({ event: ev, data: JSON.parse(cipher.decryptJson(payload, plain)) });
		ev = null;
	}
	return events;
}
