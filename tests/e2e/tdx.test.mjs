// Issue 18: the deployment's Coordinator on Intel TDX.  The real daemon
// against the simulator started with --platform tdx (a TDX quote, a fake
// Intel PKI and PCS): attest, exchange, infer; the Intel PCS collateral
// fetched, cached in the workspace and used from there only while it is
// fresh; /readyz and the metrics name the platform; and the TDX rows of
// the negative matrix, each failing closed for its reason.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startSim, startDaemon, mkTemp, request, sha256, daemonForTest as daemonFor, withLog } from "./lib/harness.mjs";

const CHAT = { model: "gpt-oss-120b", messages: [{ role: "user", content: "a confidential prompt on TDX" }] };
const kinds = (recs) => recs.reduce((a, r) => ((a[r.kind] = (a[r.kind] ?? 0) + 1), a), {});

let sim;
before(async () => { sim = await startSim(["--platform", "tdx"]); });
after(async () => { await sim?.stop(); });


const PCS_PATHS = [
	/^\/tdx\/certification\/v4\/tcb\?fmspc=50806f000000&tcbEvaluationDataNumber=21$/,
	/^\/tdx\/certification\/v4\/qe\/identity$/,
	/^\/sgx\/certification\/v4\/pckcrl\?ca=platform&encoding=der$/,
	/^\/IntelSGXRootCA\.der$/,
];

function cacheFiles(ws) {
	const dir = path.join(ws, "contrast");
	return fs.existsSync(dir) ? fs.readdirSync(dir).map((f) => path.join(dir, f)) : [];
}

test("TDX happy path: attest over the fake Intel PCS (four answers), exchange, infer; /readyz says tdx, metrics count it", async (t) => {
	await sim.reset();
	const d = await daemonFor(t, sim);
	const rz = await d.readyz();
	assert.equal(rz.status, 200, rz.text);
	assert.equal(rz.json.platform, "tdx");
	assert.equal(rz.json.manifest_sha256, sha256(sim.manifest).toString("hex"));
	assert.deepEqual(rz.json.tdx, { fmspc: "50806f000000", tee_tcb_svn: "05000200000000000000000000000000", tcb_status: "UpToDate", qe_tcb_status: "UpToDate", tcb_evaluation_data_number: 21 });
	assert.equal(rz.json.tcb, undefined, "no SNP TCB for a TDX attestation");
	assert.equal(rz.json.test_trust_anchors, true);
	assert.match(d.log(), /TEST-ONLY SETTING test_intel_root_ca IS ACTIVE/);

	const recs = await sim.requests();
	const k = kinds(recs);
	assert.equal(k.attest, 1, JSON.stringify(k));
	assert.equal(k.pcs, 4, `the four PCS answers, once each: ${JSON.stringify(k)}`);
	assert.equal(k.kds ?? 0, 0, "no AMD KDS on TDX");
	const pcs = recs.filter((r) => r.kind === "pcs").map((r) => r.path + r.query);
	for (const re of PCS_PATHS) assert.ok(pcs.some((p) => re.test(p)), `${re}: ${JSON.stringify(pcs)}`);
	assert.match(d.log(), /attestation verified: TDX quote v4, FMSPC 50806f000000, TCB UpToDate \(tcbEvaluationDataNumber 21\)/);

	const r = await d.post("/v1/chat/completions", CHAT);
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json().choices[0].message.content, "Echo: a confidential prompt on TDX");
	const secrets = await sim.secrets();
	assert.equal((await sim.requests("inference"))[0].headers["privatemode-secret-id"], secrets[0].id);

	const m = (await request(`http://127.0.0.1:${d.mport}/metrics`)).text;
	assert.match(m, /^privatemode_attestations_verified_total\{platform="tdx"\} 1$/m);
	assert.match(m, /^privatemode_attestations_verified_total\{platform="sev-snp"\} 0$/m);
	assert.match(m, /^privatemode_attested_platform\{platform="tdx"\} 1$/m);
	assert.match(m, /^privatemode_attested_platform\{platform="sev-snp"\} 0$/m);
	// Each answer cached once, body and issuer chain together.
	assert.equal(cacheFiles(d.ws).length, 4, JSON.stringify(cacheFiles(d.ws)));
	assert.ok(cacheFiles(d.ws).every((f) => fs.readFileSync(f).subarray(0, 6).toString() === "PMPCS1"));
});

test("the same daemon on SNP: platform sev-snp, no PCS request", async (t) => {
	await sim.reset();
	await sim.ctl("PUT", "/platform", { platform: "snp" });
	t.after(() => sim.ctl("PUT", "/platform", { platform: "tdx" }));
	const d = await daemonFor(t, sim);
	const rz = await d.readyz();
	assert.equal(rz.json.platform, "sev-snp");
	assert.deepEqual(rz.json.tcb, { bootloader: 10, tee: 0, snp: 28, microcode: 88 });
	assert.equal(rz.json.tdx, undefined);
	assert.equal(kinds(await sim.requests()).pcs ?? 0, 0);
});

test("Intel PCS down: the cached collateral, before its nextUpdate, is enough", async (t) => {
	await sim.reset();
	const dir = mkTemp("pm-e2e-");
	const d1 = await startDaemon(sim, { dir });
	await d1.stop();
	assert.equal(cacheFiles(d1.ws).length, 4);
	await sim.reset();
	await sim.faults({ "tdx-pcs-down": true });
	const d2 = await daemonFor(t, sim, { dir });
	const rz = await d2.readyz();
	assert.equal(rz.status, 200, withLog(d2, rz.text));
	const pcs = await sim.requests("pcs");
	assert.equal(pcs.length, 4, "each answer was asked for");
	assert.ok(pcs.every((r) => r.status === 503));
	assert.equal(d2.countLog(/fetching the Intel PCS .* failed .*: trying the cache/), 4);
	assert.equal((await d2.post("/v1/chat/completions", CHAT)).status, 200);
});

test("Intel PCS down and nothing cached: fails closed, 503 not_attested, nothing forwarded", async (t) => {
	await sim.reset();
	await sim.faults({ "tdx-pcs-down": true });
	const d = await daemonFor(t, sim, { waitReady: false });
	const chat = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 30000 });
	assert.equal(chat.status, 503, chat.text);
	assert.equal(chat.json().error.code, "not_attested");
	const rz = await d.waitNotReadyReason(15000);
	assert.match(rz.json.reason, /no valid Intel PCS TCB info: fetch failed and none is cached/);
	assert.equal((await sim.requests("secret")).length, 0);
	assert.equal((await sim.requests("inference")).length, 0);
});

test("a cached answer past its nextUpdate is not used: PCS down, stale TCB info in the cache → fails closed", async (t) => {
	await sim.reset();
	const dir = mkTemp("pm-e2e-");
	// The PCS serves a TCB info past its nextUpdate: refused, but cached as
	// received (the cache holds answers, the verifier judges them).
	await sim.faults({ "tdx-stale-tcb-info": true });
	const d1 = await startDaemon(sim, { dir, waitReady: false });
	const r1 = await d1.waitNotReadyReason(15000);
	await d1.stop();
	assert.match(r1.json.reason, /TCB info is past its nextUpdate/);
	assert.equal(cacheFiles(d1.ws).length, 4);
	// Same workspace, PCS down: the stale copy does not stand in.
	await sim.reset();
	await sim.faults({ "tdx-pcs-down": true });
	const d2 = await daemonFor(t, sim, { dir, waitReady: false });
	const rz = await d2.waitNotReadyReason(15000);
	assert.match(rz.json.reason, /no valid Intel PCS TCB info: fetch failed and the cached copy is past its nextUpdate/, withLog(d2, rz.text));
	const chat = await d2.post("/v1/chat/completions", CHAT, { timeoutMs: 30000 });
	assert.equal(chat.status, 503, chat.text);
	assert.equal((await sim.requests("secret")).length, 0);
	assert.equal((await sim.requests("inference")).length, 0);
});

// --- the TDX rows of the negative matrix ---------------------------------------

// fault → what the readiness reason must say (the first check that fails).
const TDX_MATRIX = {
	"tdx-wrong-mrtd": /MR_TD is not the reference value/,
	"tdx-wrong-rtmr": /RTMR\[3\] is not the reference value/,
	"tdx-wrong-mrseam": /MR_SEAM is not the reference value/,
	"tdx-debug": /TD_ATTRIBUTES .* \(a debug TD\)/,
	"tdx-quote-bitflip": /quote signature does not verify/,
	"tdx-tcb-out-of-date": /TDX TCB status is not UpToDate: OutOfDate/,
	"tdx-collateral-bad-signature": /TCB info signature does not verify/,
	"tdx-stale-crl": /PCK CRL is past its nextUpdate/,
	"tdx-stale-tcb-info": /TCB info is past its nextUpdate/,
	"tdx-wrong-fmspc": /FMSPC 50806f000000 of the PCK certificate is not the TCB info's/,
	"tdx-pck-revoked": /PCK certificate is revoked/,
	"tdx-pcs-down": /no valid Intel PCS TCB info/,
	"wrong-nonce": /REPORT_DATA does not bind/,
};

describe("negative matrix on TDX: every tampering fails closed", { concurrency: 4 }, () => {
	test("the matrix covers every TDX fault the simulator knows", async () => {
		const known = (await sim.ctl("GET", "/faults")).known.filter((f) => f.startsWith("tdx-"));
		assert.ok(known.length >= 12);
		assert.deepEqual(known.filter((f) => !(f in TDX_MATRIX)), [], "TDX faults without a negative test");
	});
	for (const [fault, reason] of Object.entries(TDX_MATRIX)) {
		test(`${fault} → /readyz 503 (${reason.source}), chat 503 not_attested, zero inference requests`, async (t) => {
			const s = await startSim(["--platform", "tdx", "--fault", fault]);
			t.after(() => s.stop());
			const d = await daemonFor(t, s, { waitReady: false });
			const chat = await d.post("/v1/chat/completions", CHAT, { timeoutMs: 30000 });
			assert.equal(chat.status, 503, withLog(d, chat.text));
			assert.equal(chat.json().error.code, "not_attested", chat.text);
			const rz = await d.waitNotReadyReason(15000);
			assert.equal(rz.json.ready, false);
			assert.match(rz.json.reason, reason, withLog(d, rz.text));
			const k = kinds(await s.requests());
			assert.equal(k.inference ?? 0, 0, "no inference request reached the deployment");
			assert.equal(k.secret ?? 0, 0, "no secret exchange after a failed attestation");
			assert.ok(k.attest >= 1);
		});
	}
});
