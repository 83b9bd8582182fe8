// Attestation: the honest document verifies with a spec-written client, and
// every attestation fault of attestation spec §10 step 6 is refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startSim, attestAndExchange } from "./harness.mjs";
import { verifyAttestation, VerifyError } from "./client.mjs";

let sim;
before(async () => { sim = await startSim(); });
after(async () => { await sim?.stop(); });

async function attestWith(faults, { apiKey = sim.info.api_key } = {}) {
	await sim.faults(faults);
	const nonce = randomBytes(32);
	const r = await sim.req("POST", "/privatemode/v1/attest", { headers: { Authorization: `Bearer ${apiKey}` }, body: JSON.stringify({ Nonce: nonce.toString("base64") }) });
	assert.equal(r.status, 200, String(r.body));
	const kdsCalls = [];
	const fetchKds = async (p) => { kdsCalls.push(p); const k = await sim.req("GET", p); if (k.status !== 200) throw new VerifyError(`KDS ${p}: ${k.status}`); return k.body; };
	try {
		return { state: await verifyAttestation(JSON.parse(r.body).AttestationDoc, nonce, sim.manifest, sim.anchors, { fetchKds }), kdsCalls };
	} finally { await sim.faults({}); }
}

test("JSON line names everything a daemon needs", () => {
	const i = sim.info;
	for (const k of ["port", "base_url", "api_endpoint", "api_key", "control_url", "cdn_base_url", "kds_base_url", "ca_file", "manifest_path", "root_ca", "mesh_ca"]) assert.ok(i[k], k);
	assert.ok(i.trust_anchors.Genoa.ark && i.trust_anchors.Genoa.ask);
	assert.match(i.base_url, /^https:\/\/127\.0\.0\.1:\d+$/);
});

test("honest attestation verifies; report fields as documented", async () => {
	const { state, kdsCalls } = await attestWith({});
	assert.equal(kdsCalls.length, 0);
	const r = state.report;
	assert.equal(r.version, 3);
	assert.equal(r.policy, 0x2030000n);
	assert.equal(r.platformInfo, 0x24n);
	assert.equal(r.cpuid1eaxFms, 0x00a10f11);
	assert.equal(state.product, 2);
	assert.equal(r.hostData.toString("hex"), sim.info.coordinator_policy_hash);
	assert.equal(r.idKeyDigest.toString("hex"), sim.info.id_key_digest);
	assert.equal(r.chipId.toString("hex").toUpperCase(), sim.info.chip_id);
	assert.ok(state.meshCaCert.subject.includes("CN=system:coordinator:meshCA"));
});

test("CDN serves the manifest bytes, ignoring ?t=", async () => {
	const r = await sim.req("GET", `/manifest.json?t=${Date.now()}`);
	assert.equal(r.status, 200);
	assert.ok(r.body.equals(sim.manifest));
	const m = JSON.parse(r.body);
	assert.deepEqual(m.ReferenceValues.snp[0].MinimumTCB, { BootloaderVersion: 10, TEEVersion: 0, SNPVersion: 28, MicrocodeVersion: 88 });
	assert.ok(m.ReferenceValues.snp[0].AllowedChipIDs.includes(sim.info.chip_id));
});

test("omit-vcek / omit-crl: client fetches from the KDS and succeeds", async () => {
	const a = await attestWith({ "omit-vcek": true });
	assert.equal(a.kdsCalls.length, 1);
	assert.match(a.kdsCalls[0], /^\/vcek\/v1\/Genoa\/[0-9a-f]{128}\?blSPL=10&teeSPL=0&snpSPL=28&ucodeSPL=88$/);
	const b = await attestWith({ "omit-crl": true });
	assert.deepEqual(b.kdsCalls, ["/vcek/v1/Genoa/crl"]);
	const c = await attestWith({ "omit-vcek": true, "omit-crl": true });
	assert.equal(c.kdsCalls.length, 2);
	const chain = await sim.req("GET", "/vcek/v1/Genoa/cert_chain");
	assert.match(String(chain.body), /BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE/);
});

// fault -> expected client failure
const NEGATIVE = {
	"report-bitflip": /report signature does not verify/,
	"wrong-nonce": /REPORT_DATA/,
	"wrong-measurement": /MEASUREMENT/,
	"wrong-host-data": /HOST_DATA/,
	"wrong-id-key-digest": /ID_KEY_DIGEST/,
	"tcb-too-low": /below minimum/,
	"tcb-mismatch": /reported TCB differs/,
	"wrong-chip-id": /CHIP_ID is not the VCEK's hwID/,
	"chip-id-not-allowed": /CHIP_ID not allowed/,
	"policy-debug": /Debug not allowed/,
	"platform-smt": /SMT enabled but not allowed/,
	"vmpl1": /VMPL 1/,
	"signer-vlek": /not signed by a VCEK/,
	"report-version-1": /unsupported report version 1/,
	"mitigation-vector-low": /mitigation vector/,
	"product-milan": /product line Milan/,
	"vcek-expired": /expired/,
	"ask-revoked": /ASK is revoked/,
	"vcek-foreign-ask": /VCEK signature does not verify/,
	"crl-wrong-key": /CRL signature does not verify/,
	"two-manifests": /exactly one manifest/,
	"manifest-mismatch": /does not match expected manifest/,
	"attest-bad-base64": /illegal base64/,
	"attest-bad-json": /parsing attestation document/,
	"attest-bad-protobuf": /protobuf/,
};
for (const [fault, why] of Object.entries(NEGATIVE)) {
	test(`attestation fault ${fault} is refused`, async () => {
		await assert.rejects(attestWith({ [fault]: true }), (e) => e instanceof VerifyError && why.test(e.message));
	});
}

test("fault with times=1 fires once, then the deployment is honest again", async () => {
	await sim.faults({ "wrong-measurement": { times: 1 } });
	const nonce = randomBytes(32);
	const post = () => sim.req("POST", "/privatemode/v1/attest", { headers: { Authorization: `Bearer ${sim.info.api_key}` }, body: JSON.stringify({ Nonce: nonce.toString("base64") }) });
	const [a, b] = [await post(), await post()];
	await assert.rejects(verifyAttestation(JSON.parse(a.body).AttestationDoc, nonce, sim.manifest, sim.anchors), /MEASUREMENT/);
	await verifyAttestation(JSON.parse(b.body).AttestationDoc, nonce, sim.manifest, sim.anchors);
});

test("attest and secret need the API key (401, plaintext, unencrypted marker)", async () => {
	for (const p of ["/privatemode/v1/attest", "/privatemode/v1/secret"]) {
		const r = await sim.req("POST", p, { headers: { Authorization: "Bearer wrong" }, body: "{}" });
		assert.equal(r.status, 401);
		assert.equal(String(r.body), "Unauthorized");
		assert.equal(r.headers["privatemode-encrypted"], "false");
	}
});

test("secret exchange: both sides derive the same secret under the same ID", async () => {
	const s = await attestAndExchange(sim);
	const stored = (await sim.secrets()).find((x) => x.id === s.id);
	assert.ok(stored, "secret stored under base64(SHA-256(pk))");
	assert.equal(stored.secret, s.secret.toString("hex"));
	assert.equal(s.id.length, 44);
	const ttl = Date.parse(stored.expiresAt) - Date.parse(stored.createdAt);
	assert.equal(ttl, 3600_000);
});

for (const [fault, why] of Object.entries({ "bad-mesh-signature": /invalid signature/, "mesh-cert-foreign-ca": /not issued by the mesh CA/, "enc-short": /encapsulated key length 1119/ })) {
	test(`secret fault ${fault} is refused`, async () => {
		await sim.faults({ [fault]: true });
		try { await assert.rejects(attestAndExchange(sim), why); } finally { await sim.faults({}); }
	});
}

test("fetch path with a times-limited fault: the KDS serves the faulty VCEK for that document", async () => {
	await assert.rejects(attestWith({ "omit-vcek": true, "vcek-expired": { times: 1 } }), (e) => e instanceof VerifyError && /expired/.test(e.message));
});
