// TDX: Intel's own sample quote and PCS answers verify with the test
// client written from the spec (tdxclient.mjs, node:crypto), as they do
// with the C verifier (tests/attest/test_attest_intel); the simulator's
// Coordinator on TDX gives documents that verify, over its fake Intel PCS,
// and each TDX fault is refused for its reason.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startSim } from "./harness.mjs";
import { expectedReportData } from "./client.mjs";
import { quoteFromAbi, quoteFromProto, verifyTdxQuote, validateTdx, TdxError } from "./tdxclient.mjs";

const TOP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const INTEL = path.join(TOP, "tests", "attest", "intel");
const intel = (f) => fs.readFileSync(path.join(INTEL, f));

test("Intel's production sample: quote, PCK chain, signatures, collateral verify at 2023-07-01; no TCB level matches", async () => {
	const q = quoteFromAbi(intel("tdx_prod_quote_SPR_E4.dat"));
	const pcs = async (k) => ({
		tcb: { body: intel("sample_tcbInfo_response"), chain: intel("tcbinfo-issuer-chain").toString() },
		qe: { body: intel("sample_qeIdentity_response"), chain: intel("qeidentity-issuer-chain").toString() },
		pckcrl: { body: intel("pckcrl"), chain: intel("pckcrl-issuer-chain").toString() },
		rootcrl: { body: intel("rootcrl.der") },
	})[k];
	const trustedRoot = fs.readFileSync(path.join(TOP, "data", "intel", "sgx-root-ca.pem"));
	const now = new Date("2023-07-01T01:00:00Z");
	const r = await verifyTdxQuote(q, { trustedRoot, pcs, now, judgeTcb: false });
	assert.equal(r.ext.fmspc.toString("hex"), "50806f000000");
	assert.equal(r.ext.pceid.toString("hex"), "0000");
	assert.deepEqual(r.ext.comp, [3, 3, 2, 2, 2, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
	assert.equal(r.ext.pcesvn, 11);
	assert.equal(r.ext.piid.toString("hex"), "8c314d17d205dfafcbecbb00fc87eff7");
	assert.equal(r.evaluationDataNumber, 15);
	assert.equal(r.qeStatus, "UpToDate");
	assert.equal(r.tdxStatus, null, "no TCB level of Intel's sample TCB info matches the sample platform");
	await assert.rejects(verifyTdxQuote(q, { trustedRoot, pcs, now }), /TDX TCB status \(no matching TCB level\)/);
	await assert.rejects(verifyTdxQuote(q, { trustedRoot, pcs, now: new Date("2023-07-09T00:00:00Z"), judgeTcb: false }), /nextUpdate/);
	// A changed byte of the body, of the signature, of the PCK chain.
	for (const [name, off] of [["body", 0x100], ["signature", 0x27c + 5], ["PCK chain", 0x27c + 0x86 + 450 + 32 + 6 + 200]]) {
		const raw = Buffer.from(intel("tdx_prod_quote_SPR_E4.dat"));
		raw[off] ^= 1;
		await assert.rejects(verifyTdxQuote(quoteFromAbi(raw), { trustedRoot, pcs, now, judgeTcb: false }), TdxError, name);
	}
});

let sim;
before(async () => { sim = await startSim(["--platform", "tdx"]); });
after(async () => { await sim?.stop(); });

// One attestation on TDX, verified by the test client; the PCS answers
// come from the simulator like a daemon would fetch them.
async function attestTdx(faults = {}) {
	await sim.faults(faults);
	try {
		const nonce = randomBytes(32);
		const r = await sim.req("POST", "/privatemode/v1/attest", { headers: { Authorization: `Bearer ${sim.info.api_key}` }, body: JSON.stringify({ Nonce: nonce.toString("base64") }) });
		assert.equal(r.status, 200);
		const doc = JSON.parse(Buffer.from(JSON.parse(r.body).AttestationDoc, "base64"));
		const q = quoteFromProto(Buffer.from(doc.raw_attestation_doc, "base64"));
		const manifests = doc.manifests.map((m) => Buffer.from(m, "base64"));
		const manifest = JSON.parse(manifests.at(-1));
		const ref = manifest.ReferenceValues.tdx[0];
		const fetched = [];
		const get = async (p, header) => {
			fetched.push(p);
			const a = await sim.req("GET", p);
			if (a.status !== 200) throw new TdxError(`PCS ${p}: ${a.status}`);
			return { body: a.body, chain: header && a.headers[header.toLowerCase()] };
		};
		const pcs = (k) => ({
			tcb: () => get(`/tdx/certification/v4/tcb?fmspc=50806f000000&tcbEvaluationDataNumber=${ref.MinTCBEvaluationDataNumber}`, "TCB-Info-Issuer-Chain"),
			qe: () => get("/tdx/certification/v4/qe/identity", "SGX-Enclave-Identity-Issuer-Chain"),
			pckcrl: () => get("/sgx/certification/v4/pckcrl?ca=platform&encoding=der", "SGX-PCK-CRL-Issuer-Chain"),
			rootcrl: () => get("/IntelSGXRootCA.der"),
		})[k]();
		const v = await verifyTdxQuote(q, { trustedRoot: fs.readFileSync(sim.info.intel_root_ca), pcs, minEval: ref.MinTCBEvaluationDataNumber });
		const policyHash = Buffer.from(Object.entries(manifest.Policies).find(([, p]) => p.Role === "coordinator")[0], "hex");
		validateTdx(q, v.ext, ref, { reportData: expectedReportData(nonce, manifests, Buffer.from(doc.root_ca, "base64"), Buffer.from(doc.mesh_ca, "base64")), policyHash });
		return { v, fetched, doc };
	} finally { await sim.faults({}); }
}

test("--platform tdx: the Coordinator's evidence is a TDX quote that verifies over the fake Intel PCS", async () => {
	const { v, fetched, doc } = await attestTdx();
	assert.equal(v.tdxStatus, "UpToDate");
	assert.equal(v.qeStatus, "UpToDate");
	assert.equal(v.evaluationDataNumber, 21);
	assert.equal(fetched.length, 4);
	assert.equal(doc.manifests.length, 1);
	assert.ok(Buffer.from(doc.manifests[0], "base64").equals(sim.manifest));
	assert.equal((await sim.req("GET", "/__sim/platform")).status, 200);
});

test("the PCS answers carry Intel's issuer chain headers, URL-escaped", async () => {
	const t = await sim.req("GET", "/tdx/certification/v4/tcb?fmspc=50806f000000");
	assert.equal(t.status, 200);
	assert.match(t.headers["tcb-info-issuer-chain"], /^-----BEGIN%20CERTIFICATE-----%0A/);
	assert.match(t.body.toString(), /^\{"tcbInfo":\{"id":"TDX","version":3,/);
	const q = await sim.req("GET", "/tdx/certification/v4/qe/identity");
	assert.ok(q.headers["sgx-enclave-identity-issuer-chain"]);
	const c = await sim.req("GET", "/sgx/certification/v4/pckcrl?ca=platform&encoding=der");
	assert.equal(c.headers["content-type"], "application/pkix-crl");
	assert.ok(c.headers["sgx-pck-crl-issuer-chain"]);
	assert.equal((await sim.req("GET", "/tdx/certification/v4/tcb?fmspc=xyz")).status, 400);
});

const TDX_CASES = [
	["tdx-wrong-mrtd", /MR_TD/],
	["tdx-wrong-rtmr", /RTMR\[2\]/],
	["tdx-wrong-mrseam", /MR_SEAM/],
	["tdx-debug", /TD_ATTRIBUTES/],
	["tdx-quote-bitflip", /quote signature/],
	["tdx-tcb-out-of-date", /TDX TCB status OutOfDate/],
	["tdx-collateral-bad-signature", /tcbInfo: signature/],
	["tdx-stale-crl", /PCK CRL: past its nextUpdate/],
	["tdx-stale-tcb-info", /tcbInfo: past its nextUpdate/],
	["tdx-wrong-fmspc", /FMSPC/],
	["tdx-pck-revoked", /PCK certificate revoked/],
	["tdx-pcs-down", /PCS .*: 503/],
	["wrong-nonce", /REPORT_DATA/],
];
for (const [fault, re] of TDX_CASES)
	test(`TDX fault ${fault} is refused (${re.source})`, async () => {
		await assert.rejects(attestTdx({ [fault]: true }), re);
	});

test("PUT /__sim/platform switches between snp and tdx; reset goes back to the start value", async () => {
	const put = async (p) => JSON.parse((await sim.req("PUT", "/__sim/platform", { body: JSON.stringify({ platform: p }) })).body);
	assert.deepEqual(await put("snp"), { platform: "snp" });
	assert.equal((await sim.req("PUT", "/__sim/platform", { body: '{"platform":"sgx"}' })).status, 400);
	await sim.reset();
	assert.equal(JSON.parse((await sim.req("GET", "/__sim/platform")).body).platform, "tdx");
});
