// The secret service's user API (protocol spec §2.4, attestation spec §6):
// HPKE sender to the client's X-Wing key, export of the inference secret,
// and a mesh-key signature binding the client's key to our encapsulation.
import { createHash, createSign } from "node:crypto";
import { CipherSuite, ExportOnly, HkdfSha256 } from "@hpke/core";
import { XWing } from "@hpke/hybridkem-x-wing";

export const PUBLIC_KEY_SIZE = 1216;
export const SECRET_FAULTS = ["bad-mesh-signature", "mesh-cert-foreign-ca", "enc-short"];

const suite = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new ExportOnly() });

export const secretIdOf = (pk) => createHash("sha256").update(pk).digest("base64");

export class SecretStore {
	constructor(ttlSeconds = 3600) {
		this.ttlMs = ttlSeconds * 1000;
		this.map = new Map();
	}
	put(id, secret) {
		const now = Date.now();
		this.map.set(id, { secret, createdAt: now, expiresAt: now + this.ttlMs });
	}
	get(id) {
		const e = this.map.get(id);
		if (!e) return null;
		if (Date.now() >= e.expiresAt) { this.map.delete(id); return null; }
		return e.secret;
	}
	delete(id) { return this.map.delete(id); }
	clear() { this.map.clear(); }
	// Test-only view (GET /__sim/secrets); the only place secrets leave.
	dump() {
		return [...this.map].map(([id, e]) => ({
			id, secret: e.secret.toString("hex"),
			createdAt: new Date(e.createdAt).toISOString(), expiresAt: new Date(e.expiresAt).toISOString(),
		}));
	}
}

// Returns {status, body, secretId?}.  `has(name)` tells which faults fire.
export async function exchange(st, store, pkB64, has) {
	if (typeof pkB64 !== "string") return { status: 400, text: "missing PublicKey" };
	const pk = Buffer.from(pkB64, "base64");
	if (pk.length !== PUBLIC_KEY_SIZE || pk.toString("base64") !== pkB64)
		return { status: 400, text: `invalid public key: expected ${PUBLIC_KEY_SIZE} bytes of standard base64` };
	let sender;
	try {
		sender = await suite.createSenderContext({ recipientPublicKey: await suite.kem.deserializePublicKey(pk) });
	} catch (e) {
		return { status: 400, text: `invalid public key: ${e.message}` };
	}
	const secret = Buffer.from(await sender.export(new Uint8Array(0), 32));
	let enc = Buffer.from(sender.enc);
	if (has("enc-short")) enc = enc.subarray(0, enc.length - 1);
	const id = secretIdOf(pk);
	store.put(id, secret);

	// The signature is ECDSA over the 32-byte digest SHA-256(pk || enc) used
	// directly as the message hash (Go's ecdsa.SignASN1).  For a digest no
	// longer than the curve order, that is exactly ECDSA-with-SHA-256 over the
	// message pk || enc, so node:crypto's ordinary signer produces it.
	const signer = createSign("sha256").update(pk).update(enc);
	if (has("bad-mesh-signature")) signer.update("tampered");
	const signature = signer.sign({ key: st.keys.meshLeaf, dsaEncoding: "der" });
	const meshCert = has("mesh-cert-foreign-ca") ? st.der.meshLeafRogue : st.der.meshLeaf;
	return {
		status: 200,
		secretId: id,
		body: {
			EncapsulatedKey: enc.toString("base64"),
			Signature: signature.toString("base64"),
			MeshCert: meshCert.toString("base64"),
		},
	};
}
