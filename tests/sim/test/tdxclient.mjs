// A TDX quote verifier written from the attestation spec (§1.4, §3) and
// Intel's public formats, with node:crypto: the second implementation
// the C verifier (keyd/attest/tdx_*.c) is compared with, on Intel's own
// sample (tests/attest/intel) and on the simulator's documents.  It does
// not import the simulator's TDX code (lib/tdx.mjs).
//
// Deliberately plain: a PCS answer's signed bytes are taken as the text
// between "{"tcbInfo":" and ","signature":" (Intel writes no whitespace and
// that order), PEM is split on its BEGIN lines.
import { createPublicKey, verify, X509Certificate, createHash } from "node:crypto";
import { tlv, children, oidString, certExtensions, parseCrl } from "./asn1.mjs";
import { decode, last } from "./pbdecode.mjs";

export class TdxError extends Error {}
const fail = (m) => { throw new TdxError(m); };
const sha256 = (...p) => { const h = createHash("sha256"); for (const x of p) h.update(x); return h.digest(); };

// --- the quote, from the raw ABI or from tdx.QuoteV4 -----------------------------

// Raw quote v4 (Intel's layout) -> the signed images and the parts.
export function quoteFromAbi(buf) {
	if (buf.readUInt16LE(0) !== 4) fail(`quote version ${buf.readUInt16LE(0)}`);
	const sds = buf.readUInt32LE(0x278);
	const sd = buf.subarray(0x27c, 0x27c + sds);
	if (sd.length !== sds) fail("signed data truncated");
	const certSize = sd.readUInt32LE(0x82);
	if (sd.readUInt16LE(0x80) !== 6 || certSize !== sds - 0x86) fail("certification data");
	const c = sd.subarray(0x86);
	const authLen = c.readUInt16LE(448);
	const pckOff = 450 + authLen;
	if (c.readUInt16LE(pckOff) !== 5) fail("PCK chain data type");
	const pckLen = c.readUInt32LE(pckOff + 2);
	const pck = c.subarray(pckOff + 6);
	if (pck.length !== pckLen) fail("PCK chain size");
	return { header: buf.subarray(0, 48), body: buf.subarray(48, 632), signature: sd.subarray(0, 64), attestationKey: sd.subarray(64, 128),
		qeReport: c.subarray(0, 384), qeSignature: c.subarray(384, 448), authData: c.subarray(450, 450 + authLen), pckChain: pck };
}

// tdx.QuoteV4 protobuf (Contrast's raw_attestation_doc) -> the same.
export function quoteFromProto(buf) {
	const q = decode(buf);
	const h = decode(last(q, 1)), b = decode(last(q, 2)), sd = decode(last(q, 4));
	const cert = decode(last(sd, 3)), qc = decode(last(cert, 3));
	const rep = decode(last(qc, 1)), auth = decode(last(qc, 3)), pck = decode(last(qc, 4));
	const bytes = (m, f, n) => { const v = Buffer.from(last(m, f, Buffer.alloc(0))); if (n !== undefined && v.length !== n) fail(`field ${f} is ${v.length} bytes, want ${n}`); return v; };
	const u = (m, f) => Number(last(m, f, 0n));
	const header = Buffer.alloc(48);
	if (u(h, 1) !== 4 || u(h, 2) !== 2 || u(h, 3) !== 0x81) fail("quote header: not a v4 ECDSA P-256 TDX quote");
	header.writeUInt16LE(u(h, 1), 0); header.writeUInt16LE(u(h, 2), 2); header.writeUInt32LE(u(h, 3), 4);
	bytes(h, 5, 2).copy(header, 8); bytes(h, 4, 2).copy(header, 10); bytes(h, 6, 16).copy(header, 12); bytes(h, 7, 20).copy(header, 28);
	const body = Buffer.alloc(584);
	[[1, 0x000, 16], [2, 0x010, 48], [3, 0x040, 48], [4, 0x070, 8], [5, 0x078, 8], [6, 0x080, 8], [7, 0x088, 48], [8, 0x0b8, 48],
		[9, 0x0e8, 48], [10, 0x118, 48], [12, 0x208, 64]].forEach(([f, off, n]) => bytes(b, f, n).copy(body, off));
	const rtmrs = b.get(11) ?? [];
	if (rtmrs.length !== 4) fail(`${rtmrs.length} RTMRs`);
	rtmrs.forEach((r, i) => { if (r.length !== 48) fail("RTMR size"); Buffer.from(r).copy(body, 0x148 + 48 * i); });
	const qe = Buffer.alloc(384);
	[[1, 0x00, 16], [3, 0x14, 28], [4, 0x30, 16], [5, 0x40, 32], [6, 0x60, 32], [7, 0x80, 32], [8, 0xa0, 96], [11, 0x104, 60], [12, 0x140, 64]]
		.forEach(([f, off, n]) => bytes(rep, f, n).copy(qe, off));
	qe.writeUInt32LE(u(rep, 2), 0x10); qe.writeUInt16LE(u(rep, 9), 0x100); qe.writeUInt16LE(u(rep, 10), 0x102);
	if (u(cert, 1) !== 6 || u(pck, 1) !== 5) fail("certification data types");
	const authData = bytes(auth, 2);
	if (u(auth, 1) !== authData.length) fail("QE auth data size");
	const chain = bytes(pck, 3);
	if (u(pck, 2) !== chain.length) fail("PCK chain size");
	return { header, body, signature: bytes(sd, 1, 64), attestationKey: bytes(sd, 2, 64), qeReport: qe, qeSignature: bytes(qc, 2, 64), authData, pckChain: chain };
}

// --- helpers -------------------------------------------------------------------

const p256 = (raw) => createPublicKey({ key: { kty: "EC", crv: "P-256", x: raw.subarray(0, 32).toString("base64url"), y: raw.subarray(32).toString("base64url") }, format: "jwk" });
const verifyRaw = (key, data, sig) => verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, sig);
const pems = (text) => text.toString().split(/(?=-----BEGIN CERTIFICATE-----)/).filter((s) => s.startsWith("-----BEGIN")).map((s) => new X509Certificate(s.replace(/\0+$/, "")));
const cnIs = (dn, cn) => dn.split("\n").includes(`CN=${cn}`);
const alive = (c, now) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);

function sgxExtension(cert) {
	const ext = certExtensions(cert.raw).get("1.2.840.113741.1.13.1");
	if (!ext) fail("PCK certificate has no SGX extension");
	const out = { comp: [] };
	for (const e of children(tlv(ext.value))) {
		const [o, v] = children(e);
		const id = oidString(o.body);
		if (id === "1.2.840.113741.1.13.1.2") {
			for (const t of children(v)) {
				const [to, tv] = children(t);
				const k = Number(oidString(to.body).split(".").pop());
				if (k <= 16) out.comp[k - 1] = tv.body.length ? tv.body[tv.body.length - 1] : 0;
				else if (k === 17) out.pcesvn = tv.body.reduce((a, x) => a * 256 + x, 0);
			}
		} else if (id === "1.2.840.113741.1.13.1.3") out.pceid = Buffer.from(v.body);
		else if (id === "1.2.840.113741.1.13.1.4") out.fmspc = Buffer.from(v.body);
		else if (id === "1.2.840.113741.1.13.1.5") out.sgxType = v.body[0];
		else if (id === "1.2.840.113741.1.13.1.6") out.piid = Buffer.from(v.body);
	}
	if (!out.fmspc || !out.pceid || out.comp.length !== 16) fail("SGX extension incomplete");
	return out;
}

function subjectDer(cert) {
	const f = children(children(tlv(cert.raw))[0]);
	return f[f[0].tag === 0xa0 ? 5 : 4].raw;
}

function checkCrl(der, issuer, now, what) {
	const c = parseCrl(der);
	if (!c.issuer.equals(subjectDer(issuer))) fail(`${what}: issuer`);
	if (!verify("sha256", c.tbs, issuer.publicKey, c.signature)) fail(`${what}: signature`);
	if (!c.nextUpdate || now > c.nextUpdate) fail(`${what}: past its nextUpdate`);
	return c;
}

// A TCB info / QE identity answer: issuer chain to the trusted root, the
// signature over the raw member, id, version, freshness.
function pcsJson(answer, name, trusted, rootCrl, now) {
	const text = answer.body.toString();
	const head = `{"${name}":`, tail = text.lastIndexOf(',"signature":"');
	if (!text.startsWith(head) || tail < 0) fail(`${name}: unexpected layout`);
	const raw = text.slice(head.length, tail);
	const doc = JSON.parse(text);
	const [signer, root] = pems(decodeURIComponent(answer.chain));
	if (!root.raw.equals(trusted.raw)) fail(`${name}: issuer chain root is not the trusted root`);
	if (!cnIs(signer.subject, "Intel SGX TCB Signing") || !signer.verify(root.publicKey) || !alive(signer, now)) fail(`${name}: signing certificate`);
	if (rootCrl.revoked.includes(BigInt("0x" + signer.serialNumber))) fail(`${name}: signing certificate revoked`);
	if (!/^[0-9a-f]{128}$/.test(doc.signature) || !verifyRaw(signer.publicKey, Buffer.from(raw), Buffer.from(doc.signature, "hex"))) fail(`${name}: signature`);
	const v = doc[name];
	if (now > new Date(v.nextUpdate)) fail(`${name}: past its nextUpdate`);
	return v;
}

const ge = (a, b) => a.every((x, i) => x >= b[i]);

// --- the whole of verify.TdxQuote ------------------------------------------------

// Returns what was found; throws TdxError on anything refused.  `pcs(kind)`
// returns {body, chain} for "tcb", "qe", "pckcrl", "rootcrl".  With
// judgeTcb false, the TCB statuses are returned instead of judged.
export async function verifyTdxQuote(q, { trustedRoot, pcs, now = new Date(), minEval = 0, judgeTcb = true }) {
	const trusted = new X509Certificate(trustedRoot);
	// PCK chain: leaf, platform CA, root = the trusted root.
	const [pck, pca, root, ...more] = pems(q.pckChain);
	if (more.length || !root) fail("PCK chain is not three certificates");
	if (!root.raw.equals(trusted.raw)) fail("PCK chain root is not the trusted root");
	if (!cnIs(pca.subject, "Intel SGX PCK Platform CA") || !cnIs(pck.subject, "Intel SGX PCK Certificate")) fail("PCK chain names");
	if (!pca.verify(root.publicKey) || !pck.verify(pca.publicKey)) fail("PCK chain signatures");
	if (![pck, pca, root].every((c) => alive(c, now))) fail("PCK chain not valid now");
	const ext = sgxExtension(pck);
	// Quote and QE report.
	if (!verifyRaw(p256(q.attestationKey), Buffer.concat([q.header, q.body]), q.signature)) fail("quote signature");
	if (!verifyRaw(pck.publicKey, q.qeReport, q.qeSignature)) fail("QE report signature");
	if (!q.qeReport.subarray(0x140).equals(Buffer.concat([sha256(q.attestationKey, q.authData), Buffer.alloc(32)]))) fail("QE report does not bind the attestation key");
	// Collateral.
	const rootCrl = checkCrl((await pcs("rootcrl")).body, trusted, now, "root CA CRL");
	const pckCrlAnswer = await pcs("pckcrl");
	const pckCrl = checkCrl(pckCrlAnswer.body, pca, now, "PCK CRL");
	if (pckCrl.revoked.includes(BigInt("0x" + pck.serialNumber))) fail("PCK certificate revoked");
	if (rootCrl.revoked.includes(BigInt("0x" + pca.serialNumber))) fail("platform CA revoked");
	const tcb = pcsJson(await pcs("tcb"), "tcbInfo", trusted, rootCrl, now);
	const qe = pcsJson(await pcs("qe"), "enclaveIdentity", trusted, rootCrl, now);
	if (tcb.id !== "TDX" || tcb.version !== 3 || qe.id !== "TD_QE" || qe.version !== 2) fail("collateral id or version");
	if (minEval > 0 && tcb.tcbEvaluationDataNumber < minEval) fail("TCB info older than asked for");
	if (tcb.fmspc.toLowerCase() !== ext.fmspc.toString("hex")) fail("FMSPC of the PCK is not the TCB info's");
	if (tcb.pceId !== ext.pceid.toString("hex")) fail("PCEID of the PCK is not the TCB info's");
	const body = q.body;
	if (!Buffer.from(tcb.tdxModule.mrsigner, "hex").equals(body.subarray(0x40, 0x70))) fail("MRSIGNERSEAM");
	const mask = Buffer.from(tcb.tdxModule.attributesMask, "hex"), attrs = Buffer.from(tcb.tdxModule.attributes, "hex");
	for (let i = 0; i < 8; i++) if ((body[0x70 + i] & mask[i]) !== attrs[i]) fail("SEAM attributes");
	// TCB level: SGX components and PCESVN from the PCK, TEE_TCB_SVN from the body.
	const svn = [...body.subarray(0, 16)];
	const sgx = (l) => l.tcb.sgxtcbcomponents?.map((c) => c.svn) ?? [];
	const tdx = (l) => l.tcb.tdxtcbcomponents?.map((c) => c.svn) ?? [];
	const level = tcb.tcbLevels.find((l) => sgx(l).length === 16 && ge(ext.comp, sgx(l)) && ext.pcesvn >= l.tcb.pcesvn &&
		tdx(l).length === 16 && ge(svn.slice(svn[1] > 0 ? 2 : 0), tdx(l).slice(svn[1] > 0 ? 2 : 0)));
	let tdxStatus = level?.tcbStatus ?? null;
	if (level && svn[1] > 0) {
		const id = "TDX_" + svn[1].toString(16).padStart(2, "0");
		const m = (tcb.tdxModuleIdentities ?? []).find((x) => x.id === id);
		tdxStatus = m?.tcbLevels.find((l) => svn[0] >= l.tcb.isvsvn)?.tcbStatus ?? null;
	}
	// QE identity.
	const rep = q.qeReport;
	if ((rep.readUInt32LE(0x10) & Buffer.from(qe.miscselectMask, "hex").readUInt32LE(0)) !== Buffer.from(qe.miscselect, "hex").readUInt32LE(0)) fail("QE MISCSELECT");
	const am = Buffer.from(qe.attributesMask, "hex"), av = Buffer.from(qe.attributes, "hex");
	for (let i = 0; i < 16; i++) if ((rep[0x30 + i] & am[i]) !== av[i]) fail("QE attributes");
	if (!Buffer.from(qe.mrsigner, "hex").equals(rep.subarray(0x80, 0xa0))) fail("QE MRSIGNER");
	if (rep.readUInt16LE(0x100) !== qe.isvprodid) fail("QE product ID");
	const qeStatus = qe.tcbLevels.find((l) => l.tcb.isvsvn <= rep.readUInt16LE(0x102))?.tcbStatus ?? null;
	if (judgeTcb) {
		if (tdxStatus !== "UpToDate") fail(`TDX TCB status ${tdxStatus ?? "(no matching TCB level)"}`);
		if (qeStatus !== "UpToDate") fail(`QE TCB status ${qeStatus ?? "(no matching level)"}`);
	}
	return { ext, tdxStatus, qeStatus, evaluationDataNumber: tcb.tcbEvaluationDataNumber, pck };
}

// validate.TdxQuote with Contrast's options and AllowedPIIDs, against one
// manifest tdx[] entry.
export function validateTdx(q, ext, ref, { reportData, policyHash }) {
	const b = q.body;
	const eq = (off, n, hex, what) => { if (!b.subarray(off, off + n).equals(Buffer.from(hex, "hex"))) fail(what); };
	eq(0x010, 48, ref.MrSeam, "MR_SEAM");
	eq(0x078, 8, "0000001000000000", "TD_ATTRIBUTES");
	eq(0x080, 8, ref.Xfam, "XFAM");
	eq(0x088, 48, ref.MrTd, "MR_TD");
	eq(0x0b8, 48, policyHash.toString("hex") + "00".repeat(16), "MR_CONFIG_ID");
	ref.Rtmrs.forEach((r, i) => eq(0x148 + 48 * i, 48, r, `RTMR[${i}]`));
	eq(0x208, 64, reportData.toString("hex"), "REPORT_DATA");
	if (!q.header.subarray(12, 28).equals(Buffer.from("939a7233f79c4ca9940a0db3957f0607", "hex"))) fail("QE vendor");
	const xfam = b.readBigUInt64LE(0x80);
	if ((xfam & 3n) !== 3n || (xfam & ~0x6dbe7n) !== 0n) fail("XFAM fixed bits");
	if ((ref.AllowedPIIDs ?? []).length && !ref.AllowedPIIDs.some((p) => ext.piid && Buffer.from(p, "hex").equals(ext.piid))) fail("PIID not allowed");
	if (ref.MemoryIntegrity && ext.sgxType !== 2) fail("PCK SGX type");
}
