// The simulator's building blocks against the specs' published and derived
// values (no server needed).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createHash, createPublicKey, verify as cverify } from "node:crypto";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";
import { idKeyDigest, guestPolicyBits, recoverIdKey, idBlock } from "../lib/idkey.mjs";
import { reportData, transitionDigest } from "../lib/coordinator.mjs";
import { ServerCipher } from "../lib/fieldcipher.mjs";
import { mutate } from "../lib/traverse.mjs";
import { encodeAttestation, Writer } from "../lib/protobuf.mjs";
import { GENOA_FMS, toAbiBytes } from "../lib/snp.mjs";
import { parseMultipart, formOrder } from "../lib/multipart.mjs";
import { ClientCipher, hpkeExport, ocspHeaders, decodeReport, abiBytes } from "./client.mjs";
import { decode } from "./pbdecode.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const VECTORS = process.env.PM_VECTORS || path.resolve(here, "../../vectors");

test("ID-key digest: attestation spec §4.3 regression values", () => {
	const ld = Buffer.from(Array.from({ length: 48 }, (_, i) => i + 1));
	assert.equal(idKeyDigest(ld, 0x2030000n).toString("hex"), "0904c1ac37e2399a216aacea6f4a15e82817dd0ec0018d39bb3356ab1e30e5c2bdb366f4e897f132c0ffe7c7e581c8ea");
	assert.equal(idKeyDigest(ld, 0x20000n).toString("hex"), "bd81f942a7c4fc8c227da5b621b6b185e4369d0b44e21253d6d0b090b45c084b2d64bef3f7cdc990ab97d4ad5cfb3e34");
	assert.equal(idKeyDigest(ld, 0x30000n).toString("hex"), "509a5e09cffe0f5dd47d401e719f2d1b72a5e5bd8f3a92ffd9b3a436c3f461102b2e8ed95579e467e112f98a5adea4d3");
	assert.equal(guestPolicyBits({ SMT: true, PageSwapDisable: true }), 0x2030000n);
});

test("ID-key recovery: OpenSSL accepts (r=2, s=1) over the ID block under the recovered key", () => {
	const ld = createHash("sha384").update("any launch digest").digest();
	const q = recoverIdKey(ld, 0x2030000n);
	const b64u = (v) => Buffer.from(v.toString(16).padStart(96, "0"), "hex").toString("base64url");
	const key = createPublicKey({ key: { kty: "EC", crv: "P-384", x: b64u(q.x), y: b64u(q.y) }, format: "jwk" });
	const der = Buffer.from("3006020102020101", "hex"); // SEQUENCE { INTEGER 2, INTEGER 1 }
	assert.ok(cverify("sha384", idBlock(ld, 0x2030000n), key, der));
	assert.ok(!cverify("sha384", idBlock(ld, 0x20000n), key, der));
});

test("REPORT_DATA: attestation spec §1.3 example", () => {
	const nonce = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
	const m = Buffer.from('{"example":"manifest"}');
	const root = Buffer.from("-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n");
	const mesh = Buffer.from("-----BEGIN CERTIFICATE-----\nmesh\n-----END CERTIFICATE-----\n");
	assert.equal(transitionDigest([m]).toString("hex"), "52d8478c46febbc477b03fcf2060eaad4bff9aa6f2d66a160b40d00d971a90bb");
	assert.equal(reportData(nonce, [m], root, mesh).toString("hex"), "0f5436428d0d8efa14d8acab151f0f9f12cd9b23c2176200b3e6eb933e078c67" + "00".repeat(32));
	assert.equal(transitionDigest([m, Buffer.from('{"v":2}')]).toString("hex"), "0cac6bf90975c038359dee66f114a557a43e00c8d526ec0792c8abc52070d783");
});

test("field cipher: protocol spec §3.10 vectors, decrypted by the server cipher", () => {
	const key = Buffer.alloc(32, 0x42);
	const id = createHash("sha256").update(Buffer.alloc(1216)).digest("base64");
	assert.equal(id, "l9Nk4tPTXwMKA4xBu63ELQwV+o15ulaZh+Gf3bLoD5o=");
	const c = new ClientCipher(key, id, Buffer.from("000102030405060708090a0b", "hex"));
	const m0 = c.encrypt(Buffer.from('"p1234567890123456789012345678912"'), Buffer.from("101112131415161718191a1b", "hex"));
	const m1 = c.encrypt(Buffer.from('[{"role":"user","content":"Hello"}]'), Buffer.from("202122232425262728292a2b", "hex"));
	assert.equal(m0, '"l9Nk4tPTXwMKA4xBu63ELQwV+o15ulaZh+Gf3bLoD5o=:000102030405060708090a0b:101112131415161718191a1b:7089989a9c3e0a1391a765f64d0172eb36d404795aaae0501282f86d5ac861d5d532e3c2e91325e363558c95e4a5eb640569"');
	assert.equal(m1, '"l9Nk4tPTXwMKA4xBu63ELQwV+o15ulaZh+Gf3bLoD5o=:000102030405060708090a0b:202122232425262728292a2b:69ed61718b85ca1d8bc50ab49ab812da630b22bb374e674cba26ea1b35a6908ae4a00db2dee31ba4fdc4fe1c5ed0fa773b396f"');
	const srv = new ServerCipher((x) => (x === id ? key : null));
	assert.throws(() => srv.encrypt("x"), /before decrypting/);
	assert.throws(() => srv.decrypt(m1), /authentication/); // seq 0 expected
	assert.equal(srv.decrypt(m0).toString(), '"p1234567890123456789012345678912"');
	assert.equal(srv.decrypt(m1).toString(), '[{"role":"user","content":"Hello"}]');
	const r0 = srv.encrypt('"resp"');
	assert.equal(c.decrypt(r0).toString(), '"resp"');
	assert.throws(() => c.encrypt(Buffer.from("x")), /after decrypting/);
	const other = new ServerCipher(() => key);
	other.decrypt(m0);
	assert.throws(() => other.decrypt(m1.replace(id, "b3RoZXI=")), /secret ID mismatch/);
	assert.throws(() => new ServerCipher(() => null).decrypt(m0), /no secret for ID "l9Nk/);
	// Hex is checked in every part, wherever the bad digit or odd length is.
	const [q, nonceHex, ivHex, ctHex] = m0.slice(1, -1).split(":");
	for (const [part, bad] of [[1, nonceHex.slice(0, -1) + "g"], [2, ivHex + "0"], [3, "zz" + ctHex.slice(2)], [3, ctHex.slice(0, 40) + " " + ctHex.slice(41)], [3, ctHex.slice(0, -1)]]) {
		const parts = [q, nonceHex, ivHex, ctHex];
		parts[part] = bad;
		assert.throws(() => new ServerCipher(() => key).decrypt(`"${parts.join(":")}"`), /bad hex/, `part ${part}: ${bad.slice(0, 12)}`);
	}
	// Response IVs come from a pool: each one different, and each opens.
	const ivs = new Set();
	for (let i = 0; i < 700; i++) {
		const r = srv.encrypt(`"r${i}"`);
		ivs.add(r.split(":")[2]);
		assert.equal(c.decrypt(r).toString(), `"r${i}"`);
	}
	assert.equal(ivs.size, 700);
});

test("OCSP policy MAC: protocol spec §6 derived vector", () => {
	const h = ocspHeaders(Buffer.alloc(32, 0x42), "rules=allow-good,allow-revoked,allow-unknown; revocation-time-not-before=1700000000");
	assert.equal(h["Privatemode-NVIDIA-OCSP-Policy-MAC"], "83c41a390ef80d5784aa31a562d90c20e19f2dfc11e018f18913277c49722369");
});

test("traversal: protocol spec §3.5 worked example order, raw splicing", () => {
	const order = [];
	const out = mutate('{"model":"m", "messages":[{"a":1}],"stream":true,"temperature":0.2,"tools":[],"cache_salt":"s"}',
		new Set(["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"]), (raw, name) => { order.push(name); return `"<${raw.length}>"`; });
	assert.deepEqual(order, ["cache_salt", "messages", "temperature", "tools"]);
	assert.equal(out, '{"model":"m", "messages":"<9>","stream":true,"temperature":"<3>","tools":"<2>","cache_salt":"<3>"}');
	const arr = [];
	mutate(JSON.stringify(Array.from({ length: 12 }, (_, i) => i)), new Set(), (r, n) => { arr.push(n); return r; });
	assert.deepEqual(arr, ["0", "1", "10", "11", "2", "3", "4", "5", "6", "7", "8", "9"]);
	const esc = [];
	mutate('{"a.b":1,"Z":2,"_x":3,"a":4}', new Set(["a\\.b"]), (r, n) => { esc.push(n); return r; });
	assert.deepEqual(esc, ["Z", "_x", "a"]);
	assert.throws(() => mutate("{", new Set(), (r) => r), /JSON/);
	assert.equal(mutate("", new Set(), () => "x"), "");
});

test("HPKE ExportOnly: attestation spec §5.2 derived value from the hpke-pq 0x647a vector", () => {
	const v = JSON.parse(fs.readFileSync(path.join(VECTORS, "hpke-pq-test-vectors.json"))).find((x) => x.kem_id === 0x647a && x.kdf_id === 1);
	const ss = ml_kem768_x25519.decapsulate(Buffer.from(v.enc, "hex"), Buffer.from(v.skRm, "hex"));
	assert.equal(Buffer.from(ss).toString("hex"), v.shared_secret);
	assert.equal(hpkeExport(Buffer.from(v.shared_secret, "hex")).toString("hex"), "0005644c57f5a89757f9cec2a399a3ccac6a77b15da049db4e46c025f20fc3ec");
});

test("protobuf: proto3 encoding rules and a decode round trip", () => {
	assert.deepEqual(new Writer().uint(1, 3).uint(2, 0).bytes(11, [1, 2]).uint(3, 300).finish(), Buffer.from([0x08, 3, 0x5a, 2, 1, 2, 0x18, 0xac, 0x02]));
	const report = {
		version: 3, guestSvn: 2, policy: 0x2030000n, familyId: Buffer.alloc(16, 1), imageId: Buffer.alloc(16, 2), vmpl: 0, signatureAlgo: 1,
		currentTcb: 0x5800_1c00_0000_000an, platformInfo: 0x24n, signerInfo: 0, reportData: Buffer.alloc(64, 3), measurement: Buffer.alloc(48, 4),
		hostData: Buffer.alloc(32, 5), idKeyDigest: Buffer.alloc(48, 6), authorKeyDigest: Buffer.alloc(48), reportId: Buffer.alloc(32, 7),
		reportIdMa: Buffer.alloc(32, 0xff), reportedTcb: 0x5800_1c00_0000_000an, cpuid1eaxFms: GENOA_FMS, chipId: Buffer.alloc(64, 8),
		committedTcb: 1n, currentBuild: 21, currentMinor: 55, currentMajor: 1, committedBuild: 21, committedMinor: 55, committedMajor: 1,
		launchTcb: 2n, launchMitVector: 0xfn, currentMitVector: 0xfn, signature: Buffer.alloc(512, 9),
	};
	assert.equal(GENOA_FMS, 0x00a10f11);
	const att = decode(encodeAttestation({ report, vcek: Buffer.from("v"), ask: Buffer.from("s"), ark: Buffer.from("a"), crl: Buffer.from("c") }));
	const back = decodeReport(att.get(1)[0]);
	// The client's ABI rebuild of the decoded proto equals the simulator's layout.
	assert.ok(abiBytes(back).equals(toAbiBytes(report)));
	const abi = toAbiBytes(report);
	assert.deepEqual([abi[0x188], abi[0x189], abi[0x18a]], [0x19, 0x11, 0x01]);
	const chain = decode(att.get(2)[0]);
	assert.deepEqual([chain.get(1)[0], chain.get(2)[0], chain.get(3)[0]].map(String), ["v", "s", "a"]);
	const extra = decode(chain.get(7)[0]);
	assert.equal(String(extra.get(1)[0]), "00569ee4-e480-4fba-bbf4-45b629901180");
	const prod = decode(att.get(3)[0]);
	assert.equal(prod.get(1)[0], 2n);
	assert.equal(prod.get(3)[0].length, 0); // machine_stepping {value: 0}
});

test("multipart: values by name, then files by name, first of each", () => {
	const b = "B";
	const body = Buffer.from(`--B\r\nContent-Disposition: form-data; name="z"\r\n\r\n1\r\n--B\r\nContent-Disposition: form-data; name="file"; filename="x.mp3"\r\n\r\nAA\r\n--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n2\r\n--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n3\r\n--B--\r\n`);
	const { values, files } = formOrder(parseMultipart(body, `multipart/form-data; boundary=${b}`));
	assert.deepEqual(values.map((p) => [p.name, String(p.data)]), [["a", "2"], ["z", "1"]]);
	assert.deepEqual(files.map((p) => [p.name, p.filename, String(p.data)]), [["file", "x.mp3", "AA"]]);
	assert.throws(() => parseMultipart(body, "application/json"), /isn't multipart/);
	assert.throws(() => parseMultipart(body, "multipart/form-data"), /no multipart boundary/);
});
