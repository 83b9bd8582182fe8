// The Contrast Coordinator's attestation document (attestation spec §1),
// built per request for the client's nonce, with the attestation faults of
// spec §10 step 6 applied at the point where a real attacker or a broken
// deployment would introduce them.
import { createHash, randomBytes } from "node:crypto";
import { encodeAttestation } from "./protobuf.mjs";
import { GENOA_FMS, fmsToEax, signReport, tcb } from "./snp.mjs";
import { ID_BLOCK_FAMILY_ID, ID_BLOCK_GUEST_SVN, ID_BLOCK_IMAGE_ID } from "./idkey.mjs";
import { buildQuote } from "./tdx.mjs";

const sha256 = (...parts) => {
	const h = createHash("sha256");
	for (const p of parts) h.update(p);
	return h.digest();
};

export const COORDINATOR_VERSION = "v1.20.0";

// Manifest history digest: T_i = H(H(m_i) || T_{i-1}), T_{-1} = 32 zero bytes.
export function transitionDigest(manifests) {
	let prev = Buffer.alloc(32);
	for (const m of manifests) prev = sha256(sha256(m), prev);
	return prev;
}

// REPORT_DATA (v1.20-era) = H(nonce || T || H(root_ca PEM) || H(mesh_ca PEM)) || 32 zero bytes.
export function reportData(nonce, manifests, rootCaPem, meshCaPem) {
	return Buffer.concat([
		sha256(nonce, transitionDigest(manifests), sha256(rootCaPem), sha256(meshCaPem)),
		Buffer.alloc(32),
	]);
}

// PLATFORM_INFO bits: 0 SMT_EN, 2 ECC_EN, 5 ALIAS_CHECK_COMPLETE.
export const PLATFORM_INFO = 0x24n;
export const MIT_VECTOR = 0xfn;

// A genuine report for this deployment (before faults).
export function honestReport(st, reportDataBytes, version = 3) {
	return {
		version,
		guestSvn: ID_BLOCK_GUEST_SVN,
		policy: st.policy,
		familyId: ID_BLOCK_FAMILY_ID,
		imageId: ID_BLOCK_IMAGE_ID,
		vmpl: 0,
		signatureAlgo: 1, // ECDSA P-384 with SHA-384
		currentTcb: st.vcekTcb,
		platformInfo: PLATFORM_INFO,
		signerInfo: 0, // VCEK, no author key, chip key not masked
		reportData: reportDataBytes,
		measurement: st.measurement,
		hostData: st.policyHash,
		idKeyDigest: st.idKeyDigest,
		authorKeyDigest: Buffer.alloc(48),
		reportId: randomBytes(32),
		reportIdMa: Buffer.alloc(32, 0xff), // no migration agent
		reportedTcb: st.vcekTcb,
		cpuid1eaxFms: GENOA_FMS,
		chipId: st.hwid,
		committedTcb: st.vcekTcb,
		currentBuild: 21, currentMinor: 55, currentMajor: 1,
		committedBuild: 21, committedMinor: 55, committedMajor: 1,
		launchTcb: st.vcekTcb,
		launchMitVector: MIT_VECTOR,
		currentMitVector: MIT_VECTOR,
	};
}

// Faults that change what the firmware would have signed.
const PRE_SIGN = {
	"wrong-nonce": (r, ctx) => { r.reportData = reportData(randomBytes(32), ctx.manifests, ctx.st.pem.rootCa, ctx.st.pem.meshCa); },
	"wrong-measurement": (r) => { r.measurement = Buffer.from(r.measurement); r.measurement[0] ^= 0x01; },
	"wrong-host-data": (r) => { r.hostData = Buffer.from(r.hostData); r.hostData[31] ^= 0x80; },
	"wrong-id-key-digest": (r) => { r.idKeyDigest = Buffer.from(r.idKeyDigest); r.idKeyDigest[0] ^= 0x01; },
	// Reported TCB below the manifest minimum, with a VCEK certified for it.
	"tcb-too-low": (r, ctx) => { r.reportedTcb = ctx.st.vcekTcbLow; r.launchTcb = ctx.st.vcekTcbLow; r.committedTcb = ctx.st.vcekTcbLow; r.currentTcb = ctx.st.vcekTcbLow; },
	// Reported TCB above the minimum but different from the VCEK's TCB.
	"tcb-mismatch": (r) => { r.reportedTcb = tcb({ bl: 10, tee: 0, snp: 29, ucode: 88 }); r.currentTcb = r.reportedTcb; },
	// CHIP_ID allowed by the manifest, but not the VCEK's hwID.
	"wrong-chip-id": (r, ctx) => { r.chipId = ctx.st.hwidOther; },
	// CHIP_ID = hwID of a VCEK the manifest does not allow.
	"chip-id-not-allowed": (r, ctx) => { r.chipId = ctx.st.hwidStranger; },
	"policy-debug": (r) => { r.policy = BigInt(r.policy) | (1n << 19n); },
	"platform-smt": (r) => { r.platformInfo = BigInt(r.platformInfo) | 1n; },
	"vmpl1": (r) => { r.vmpl = 1; },
	"signer-vlek": (r) => { r.signerInfo = 1 << 2; },
	"report-version-1": (r) => { r.version = 1; },
	"mitigation-vector-low": (r) => { r.currentMitVector = 0x7n; },
	"product-milan": (r) => { r.cpuid1eaxFms = fmsToEax(0x19, 0x01, 1); },
};

// Faults that change bytes after signing (only the signature can catch them).
const POST_SIGN = {
	"report-bitflip": (r) => { r.imageId = Buffer.from(r.imageId); r.imageId[15] ^= 0x01; },
};

// The Coordinator on TDX (--platform tdx): faults of the quote, and of the
// Intel PCS answers (served by lib/tdx.mjs, which reads the same switches).
const TDX_PRE_SIGN = {
	"tdx-wrong-mrtd": (q) => { q.mrTd = Buffer.from(q.mrTd); q.mrTd[0] ^= 0x01; },
	"tdx-wrong-rtmr": (q) => { q.rtmrs[2][7] ^= 0x01; },
	"tdx-debug": (q) => { q.tdAttributes = Buffer.from(q.tdAttributes); q.tdAttributes[0] |= 0x01; },
	"tdx-wrong-mrseam": (q) => { q.mrSeam = Buffer.from(q.mrSeam); q.mrSeam[47] ^= 0x01; },
};
export const TDX_PCS_FAULTS = [
	"tdx-tcb-out-of-date", "tdx-collateral-bad-signature", "tdx-stale-crl", "tdx-wrong-fmspc",
	"tdx-stale-tcb-info", "tdx-pck-revoked", "tdx-pcs-down",
];
export const TDX_FAULTS = [...Object.keys(TDX_PRE_SIGN), "tdx-quote-bitflip", ...TDX_PCS_FAULTS];

export const ATTESTATION_FAULTS = [
	...Object.keys(PRE_SIGN), ...Object.keys(POST_SIGN),
	"vcek-expired", "ask-revoked", "vcek-foreign-ask", "crl-wrong-key",
	"two-manifests", "manifest-mismatch", "omit-vcek", "omit-crl",
	"attest-bad-base64", "attest-bad-json", "attest-bad-protobuf",
	...TDX_FAULTS,
];

// Which VCEK / ASK / CRL a (possibly faulty) deployment presents; shared by
// the attestation document and the fake KDS so both tell the same story.
export function vendorMaterial(st, has) {
	let vcek = st.der.vcek, ask = st.der.ask, crl = st.der.crl;
	if (has("vcek-expired")) vcek = st.der.vcekExpired;
	if (has("tcb-too-low")) vcek = st.der.vcekLowTcb;
	if (has("chip-id-not-allowed")) vcek = st.der.vcekStranger;
	if (has("vcek-foreign-ask")) { vcek = st.der.vcekForeign; ask = st.der.foreignAsk; }
	if (has("ask-revoked")) crl = st.der.crlAskRevoked;
	if (has("crl-wrong-key")) crl = st.der.crlWrongKey;
	return { vcek, ask, ark: st.der.ark, crl };
}

// Same length, still valid JSON, one byte different: an indentation space
// becomes a tab.
export function oneByteOff(manifest) {
	const b = Buffer.from(manifest);
	const i = b.indexOf("\n ");
	if (i < 0) throw new Error("manifest has no indentation to alter");
	b[i + 1] = 0x09;
	return b;
}

// The raw_attestation_doc of a Coordinator on TDX: a tdx.QuoteV4 whose
// REPORT_DATA is the same binding as SNP's, MR_CONFIG_ID the coordinator
// policy hash followed by 16 zero bytes.
function tdxEvidence(st, rd, has) {
	const quote = buildQuote(st, {
		reportData: rd,
		mrConfigId: Buffer.concat([st.policyHash, Buffer.alloc(16)]),
		change: (q) => { for (const [name, f] of Object.entries(TDX_PRE_SIGN)) if (has(name)) f(q); },
		after: (p) => { if (has("tdx-quote-bitflip")) { p.b = Buffer.from(p.b); p.b[0x90] ^= 0x01; } },
	});
	return quote.proto;
}

// Build {AttestationDoc} for a nonce.  `has(name)` tells which faults fire.
export function attest(st, nonce, has, { reportVersion = 3, platform = "snp" } = {}) {
	let manifests = [st.manifest];
	if (has("manifest-mismatch")) manifests = [oneByteOff(st.manifest)];
	if (has("two-manifests")) manifests = [oneByteOff(st.manifest), st.manifest];
	const ctx = { st, manifests };
	if (platform === "tdx") {
		const rd = reportData(has("wrong-nonce") ? randomBytes(32) : nonce, manifests, st.pem.rootCa, st.pem.meshCa);
		return coordinatorDoc(st, manifests, tdxEvidence(st, rd, has), has, { report: null });
	}

	const report = honestReport(st, reportData(nonce, manifests, st.pem.rootCa, st.pem.meshCa), reportVersion);
	for (const [name, f] of Object.entries(PRE_SIGN)) if (has(name)) f(report, ctx);
	signReport(report, st.keys.vcek);
	for (const [name, f] of Object.entries(POST_SIGN)) if (has(name)) f(report, ctx);

	const v = vendorMaterial(st, has);
	let raw = encodeAttestation({
		report,
		vcek: has("omit-vcek") ? null : v.vcek,
		ask: v.ask,
		ark: v.ark,
		crl: has("omit-crl") ? null : v.crl,
	});
	return coordinatorDoc(st, manifests, raw, has, { report });
}

function coordinatorDoc(st, manifests, raw, has, { report }) {
	if (has("attest-bad-protobuf")) raw = raw.subarray(0, 200); // cut inside the first message

	const doc = {
		version: COORDINATOR_VERSION,
		raw_attestation_doc: raw.toString("base64"),
		manifests: manifests.map((m) => m.toString("base64")),
		policies: [st.policyBytes.toString("base64")],
		root_ca: st.pem.rootCa.toString("base64"),
		mesh_ca: st.pem.meshCa.toString("base64"),
	};
	let docBytes = Buffer.from(JSON.stringify(doc));
	if (has("attest-bad-json")) docBytes = docBytes.subarray(0, docBytes.length - 7);
	const AttestationDoc = has("attest-bad-base64") ? "%%not*base64%%" + docBytes.toString("base64").slice(14) : docBytes.toString("base64");
	return { body: { AttestationDoc }, report, docBytes };
}
