// The Coordinator on "Intel TDX" (attestation spec §1.4, §3): a fake Intel
// PKI (pki.sh: SGX root, PCK platform CA, PCK leaf with its SGX extension,
// TCB signing certificate, CRLs), quotes v4 built per request for the
// client's REPORT_DATA and signed with an attestation key the fake quoting
// enclave certifies, and the Intel PCS answers a verifier fetches (TCB
// info, QE identity, PCK CRL, root CA CRL), signed by the fake TCB signing
// key.  Only the keys differ from Intel's: names, layouts, extensions and
// encodings follow the real ones (go-tdx-guest's production sample), so a
// client runs its real verification code against them.
import { createHash, createSign, generateKeyPairSync, createPrivateKey } from "node:crypto";
import { Writer } from "./protobuf.mjs";

const sha = (alg, ...p) => { const h = createHash(alg); for (const x of p) h.update(x); return h.digest(); };

// --- the platform's fixed identity (what the manifest's tdx[] entry pins) ---

export const TDX = {
	mrTd: sha("sha384", "privatemoded-sim TD"),
	mrSeam: sha("sha384", "privatemoded-sim TDX module"),
	mrSignerSeam: Buffer.alloc(48),			// Intel's TDX module
	rtmrs: [0, 1, 2, 3].map((i) => sha("sha384", `privatemoded-sim RTMR${i}`)),
	xfam: Buffer.from("e71a060000000000", "hex"),
	tdAttributes: Buffer.from("0000001000000000", "hex"),	// SEPT_VE_DISABLE
	seamAttributes: Buffer.alloc(8),
	teeTcbSvn: Buffer.from("05000200000000000000000000000000", "hex"),
	qeVendorId: Buffer.from("939a7233f79c4ca9940a0db3957f0607", "hex"),
	// The PCK certificate's SGX extension.
	fmspc: Buffer.from("50806f000000", "hex"),
	pceId: Buffer.from("0000", "hex"),
	sgxComponents: [3, 3, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
	pceSvn: 13,
	sgxType: 1,			// scalable
	piid: sha("sha256", "privatemoded-sim PIID").subarray(0, 16),
	ppid: sha("sha256", "privatemoded-sim PPID").subarray(0, 16),
	dynamicPlatform: true, cachedKeys: false, smtEnabled: true,
	// The quoting enclave.
	qeMrSigner: Buffer.from("dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5", "hex"),
	qeMrEnclave: sha("sha256", "privatemoded-sim QE"),
	qeIsvProdId: 2,
	qeIsvSvn: 4,
	qeAttributes: Buffer.from("11000000000000000700000000000000", "hex"),
	tcbEvaluationDataNumber: 21,
};

// --- DER for the SGX extension (1.2.840.113741.1.13.1) ------------------------

function der(tag, body) {
	const n = body.length;
	const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
	return Buffer.concat([Buffer.from([tag]), len, body]);
}
const SGX_OID = Buffer.from("2a864886f84d010d01", "hex");
const oid = (...arcs) => der(0x06, Buffer.concat([SGX_OID, Buffer.from(arcs)]));
const int = (v) => { const b = []; do { b.unshift(v & 0xff); v >>= 8; } while (v > 0); if (b[0] & 0x80) b.unshift(0); return der(0x02, Buffer.from(b)); };
const attr = (o, v) => der(0x30, Buffer.concat([o, v]));

// The extension's value (an SGXExtensions SEQUENCE), hex, for pki.sh.
export function sgxExtensionHex(t = TDX) {
	const tcb = [];
	for (let i = 0; i < 16; i++) tcb.push(attr(oid(2, i + 1), int(t.sgxComponents[i])));
	tcb.push(attr(oid(2, 17), int(t.pceSvn)));
	tcb.push(attr(oid(2, 18), der(0x04, Buffer.from(t.sgxComponents))));
	const cfg = [
		attr(oid(7, 1), der(0x01, Buffer.from([t.dynamicPlatform ? 0xff : 0]))),
		attr(oid(7, 2), der(0x01, Buffer.from([t.cachedKeys ? 0xff : 0]))),
		attr(oid(7, 3), der(0x01, Buffer.from([t.smtEnabled ? 0xff : 0]))),
	];
	return der(0x30, Buffer.concat([
		attr(oid(1), der(0x04, t.ppid)),
		attr(oid(2), der(0x30, Buffer.concat(tcb))),
		attr(oid(3), der(0x04, t.pceId)),
		attr(oid(4), der(0x04, t.fmspc)),
		attr(oid(5), der(0x0a, Buffer.from([t.sgxType]))),
		attr(oid(6), der(0x04, t.piid)),
		attr(oid(7), der(0x30, Buffer.concat(cfg))),
	])).toString("hex");
}

// --- signatures as r || s ---------------------------------------------------

const sign256 = (key, ...data) => { const s = createSign("sha256"); for (const d of data) s.update(d); return s.sign({ key, dsaEncoding: "ieee-p1363" }); };

// The attestation key of the fake quoting enclave, new per simulator run.
let attestationKey = null;
function ak() {
	if (!attestationKey) {
		const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
		const jwk = publicKey.export({ format: "jwk" });
		attestationKey = { privateKey, raw: Buffer.concat([Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]) };
	}
	return attestationKey;
}

// --- the quote (go-tdx-guest abi.go layouts) ------------------------------------

function header() {
	const h = Buffer.alloc(48);
	h.writeUInt16LE(4, 0);			// version
	h.writeUInt16LE(2, 2);			// ECDSA-256 with P-256
	h.writeUInt32LE(0x81, 4);		// TDX
	h.writeUInt16LE(TDX.pceSvn, 8);		// go-tdx-guest's pce_svn slot
	h.writeUInt16LE(0, 10);
	TDX.qeVendorId.copy(h, 12);
	return h;
}

function body(q) {
	const b = Buffer.alloc(584);
	q.teeTcbSvn.copy(b, 0x000); q.mrSeam.copy(b, 0x010); q.mrSignerSeam.copy(b, 0x040);
	q.seamAttributes.copy(b, 0x070); q.tdAttributes.copy(b, 0x078); q.xfam.copy(b, 0x080);
	q.mrTd.copy(b, 0x088); q.mrConfigId.copy(b, 0x0b8);
	q.rtmrs.forEach((r, i) => r.copy(b, 0x148 + 48 * i));
	q.reportData.copy(b, 0x208);
	return b;
}

function qeReport(reportData) {
	const r = Buffer.alloc(384);
	Buffer.from(TDX.sgxComponents).copy(r, 0x00);	// CPUSVN
	TDX.qeAttributes.copy(r, 0x30);
	TDX.qeMrEnclave.copy(r, 0x40);
	TDX.qeMrSigner.copy(r, 0x80);
	r.writeUInt16LE(TDX.qeIsvProdId, 0x100);
	r.writeUInt16LE(TDX.qeIsvSvn, 0x102);
	reportData.copy(r, 0x140);
	return r;
}

// A signed quote as raw bytes and as the tdx.QuoteV4 protobuf Contrast
// sends.  `change(q)` alters the body before signing, `after(parts)` after.
export function buildQuote(st, { reportData, mrConfigId, change, after }) {
	const q = {
		teeTcbSvn: TDX.teeTcbSvn, mrSeam: TDX.mrSeam, mrSignerSeam: TDX.mrSignerSeam, seamAttributes: TDX.seamAttributes,
		tdAttributes: TDX.tdAttributes, xfam: TDX.xfam, mrTd: TDX.mrTd, mrConfigId, rtmrs: TDX.rtmrs.map((r) => Buffer.from(r)), reportData,
	};
	change?.(q);
	const h = header(), b = body(q);
	const key = ak();
	const signature = sign256(key.privateKey, h, b);
	const authData = sha("sha256", "privatemoded-sim QE auth data");
	const qeRd = Buffer.concat([sha("sha256", key.raw, authData), Buffer.alloc(32)]);
	const qe = qeReport(qeRd);
	const qeSignature = sign256(st.tdx.pckKey, qe);
	const parts = { h, b, signature, attestationKey: key.raw, qe, qeSignature, authData, pckChain: st.tdx.pckChainPem };
	after?.(parts);
	return { ...parts, proto: quoteProto(parts) };
}

function quoteProto(p) {
	const h = p.h, b = p.b;
	const header = new Writer().uint(1, h.readUInt16LE(0)).uint(2, h.readUInt16LE(2)).uint(3, h.readUInt32LE(4))
		.bytes(4, h.subarray(10, 12)).bytes(5, h.subarray(8, 10)).bytes(6, h.subarray(12, 28)).bytes(7, h.subarray(28, 48));
	const body = new Writer().bytes(1, b.subarray(0, 16)).bytes(2, b.subarray(0x10, 0x40)).bytes(3, b.subarray(0x40, 0x70))
		.bytes(4, b.subarray(0x70, 0x78)).bytes(5, b.subarray(0x78, 0x80)).bytes(6, b.subarray(0x80, 0x88))
		.bytes(7, b.subarray(0x88, 0xb8)).bytes(8, b.subarray(0xb8, 0xe8)).bytes(9, b.subarray(0xe8, 0x118))
		.bytes(10, b.subarray(0x118, 0x148));
	for (let i = 0; i < 4; i++) body.bytes(11, b.subarray(0x148 + 48 * i, 0x178 + 48 * i));
	body.bytes(12, b.subarray(0x208, 0x248));
	const q = p.qe;
	const report = new Writer().bytes(1, q.subarray(0, 16)).uint(2, q.readUInt32LE(0x10)).bytes(3, q.subarray(0x14, 0x30))
		.bytes(4, q.subarray(0x30, 0x40)).bytes(5, q.subarray(0x40, 0x60)).bytes(6, q.subarray(0x60, 0x80))
		.bytes(7, q.subarray(0x80, 0xa0)).bytes(8, q.subarray(0xa0, 0x100)).uint(9, q.readUInt16LE(0x100))
		.uint(10, q.readUInt16LE(0x102)).bytes(11, q.subarray(0x104, 0x140)).bytes(12, q.subarray(0x140, 0x180));
	const pck = Buffer.from(p.pckChain);
	const qeCert = new Writer().message(1, report).bytes(2, p.qeSignature)
		.message(3, new Writer().uint(1, p.authData.length).bytes(2, p.authData))
		.message(4, new Writer().uint(1, 5).uint(2, pck.length).bytes(3, pck));
	const certSize = 384 + 64 + 2 + p.authData.length + 6 + pck.length;
	const cert = new Writer().uint(1, 6).uint(2, certSize).message(3, qeCert);
	const signed = new Writer().bytes(1, p.signature).bytes(2, p.attestationKey).message(3, cert);
	return new Writer().message(1, header).message(2, body).uint(3, 128 + 6 + certSize).message(4, signed).finish();
}

// --- Intel PCS answers ---------------------------------------------------------

const iso = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z");
const DAY = 86400e3;
// URL-escaped PEM, as the PCS sends issuer chains in its headers.
const escapeChain = (pem) => encodeURIComponent(pem.toString()).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

const comps = (svns, first) => svns.map((svn, i) => (i === 0 && first ? { svn, category: "BIOS", type: first } : { svn }));

// {"tcbInfo": ..., "signature": ...}: the signature is over the exact
// bytes of the tcbInfo value, which is why the body is assembled as text.
function signed(name, value, key) {
	const text = JSON.stringify(value);
	return `{"${name}":${text},"signature":"${sign256(key, text).toString("hex")}"}`;
}

export function tcbInfo(st, has, now = Date.now()) {
	const status = has("tdx-tcb-out-of-date") ? "OutOfDate" : "UpToDate";
	const stale = has("tdx-stale-tcb-info");
	const value = {
		id: "TDX", version: 3, issueDate: iso(now - (stale ? 40 : 1) * DAY), nextUpdate: iso(now + (stale ? -10 : 30) * DAY),
		fmspc: has("tdx-wrong-fmspc") ? "00906ed50000" : TDX.fmspc.toString("hex"), pceId: TDX.pceId.toString("hex").toUpperCase(),
		tcbType: 0, tcbEvaluationDataNumber: TDX.tcbEvaluationDataNumber,
		tdxModule: { mrsigner: TDX.mrSignerSeam.toString("hex").toUpperCase(), attributes: "0000000000000000", attributesMask: "FFFFFFFFFFFFFFFF" },
		tdxModuleIdentities: [{
			id: "TDX_01", mrsigner: TDX.mrSignerSeam.toString("hex").toUpperCase(), attributes: "0000000000000000", attributesMask: "FFFFFFFFFFFFFFFF",
			tcbLevels: [{ tcb: { isvsvn: 5 }, tcbDate: "2024-03-13T00:00:00Z", tcbStatus: "UpToDate" }],
		}],
		tcbLevels: [
			{ tcb: { sgxtcbcomponents: comps([2, 2, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0], "Early Microcode Update"), pcesvn: 13,
				tdxtcbcomponents: comps([5, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "TDX Module") },
			tcbDate: "2024-03-13T00:00:00Z", tcbStatus: status },
			{ tcb: { sgxtcbcomponents: comps(Array(16).fill(0)), pcesvn: 0, tdxtcbcomponents: comps(Array(16).fill(0)) },
				tcbDate: "2018-01-04T00:00:00Z", tcbStatus: "OutOfDate", advisoryIDs: ["INTEL-SA-00106"] },
		],
	};
	const key = has("tdx-collateral-bad-signature") ? st.tdx.foreignKey : st.tdx.signingKey;
	return { body: signed("tcbInfo", value, key), chain: escapeChain(st.tdx.signingChainPem) };
}

export function qeIdentity(st, has, now = Date.now()) {
	const value = {
		id: "TD_QE", version: 2, issueDate: iso(now - DAY), nextUpdate: iso(now + 30 * DAY),
		tcbEvaluationDataNumber: TDX.tcbEvaluationDataNumber,
		miscselect: "00000000", miscselectMask: "FFFFFFFF",
		attributes: "11000000000000000000000000000000", attributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
		mrsigner: TDX.qeMrSigner.toString("hex").toUpperCase(), isvprodid: TDX.qeIsvProdId,
		tcbLevels: [{ tcb: { isvsvn: 4 }, tcbDate: "2024-03-13T00:00:00Z", tcbStatus: "UpToDate" }],
	};
	return { body: signed("enclaveIdentity", value, st.tdx.signingKey), chain: escapeChain(st.tdx.signingChainPem) };
}

export function pckCrl(st, has) {
	const der = has("tdx-stale-crl") ? st.tdx.pckCrlStale : has("tdx-pck-revoked") ? st.tdx.pckCrlRevoked : st.tdx.pckCrl;
	return { body: der, chain: escapeChain(st.tdx.pckCrlChainPem) };
}

export const PCS_ROOT_CRL_PATH = "/IntelSGXRootCA.der";

export const isPcsPath = (p) => p.startsWith("/tdx/certification/v4/") || p.startsWith("/sgx/certification/v4/") || p === PCS_ROOT_CRL_PATH;

// The PCS routes; null if the path is none of them.
export function pcsAnswer(st, pathname, query, has) {
	if (pathname === "/tdx/certification/v4/tcb") {
		if (!/^[0-9a-fA-F]{12}$/.test(query.get("fmspc") ?? "")) return { status: 400, text: "bad fmspc\n" };
		const a = tcbInfo(st, has);
		return { status: 200, type: "application/json", body: a.body, headers: { "TCB-Info-Issuer-Chain": a.chain } };
	}
	if (pathname === "/tdx/certification/v4/qe/identity") {
		const a = qeIdentity(st, has);
		return { status: 200, type: "application/json", body: a.body, headers: { "SGX-Enclave-Identity-Issuer-Chain": a.chain } };
	}
	if (pathname === "/sgx/certification/v4/pckcrl") {
		if (query.get("ca") !== "platform" && query.get("ca") !== "processor") return { status: 400, text: "bad ca\n" };
		const a = pckCrl(st, has);
		return { status: 200, type: "application/pkix-crl", body: a.body, headers: { "SGX-PCK-CRL-Issuer-Chain": a.chain } };
	}
	if (pathname === PCS_ROOT_CRL_PATH) return { status: 200, type: "application/pkix-crl", body: st.tdx.rootCrl };
	return null;
}

// The fake Intel material pki.sh made, for loadState().
export function loadTdx(read) {
	return {
		pckKey: createPrivateKey(read("intel-pck.key")),
		signingKey: createPrivateKey(read("intel-signing.key")),
		foreignKey: createPrivateKey(read("intel-foreign.key")),
		rootPem: read("intel-root.pem"),
		pckChainPem: Buffer.concat([read("intel-pck.pem"), read("intel-pca.pem"), read("intel-root.pem")]),
		signingChainPem: Buffer.concat([read("intel-signing.pem"), read("intel-root.pem")]),
		pckCrlChainPem: Buffer.concat([read("intel-pca.pem"), read("intel-root.pem")]),
		pckCrl: read("intel-pckcrl.der"), pckCrlStale: read("intel-pckcrl-stale.der"), pckCrlRevoked: read("intel-pckcrl-revoked.der"),
		rootCrl: read("intel-rootcrl.der"),
	};
}
