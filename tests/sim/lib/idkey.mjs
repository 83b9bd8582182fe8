// Deterministic SEV-SNP ID-key digest of a Contrast guest (attestation spec §4.3).
//
// Contrast launches its VMs with an ID block "signed" by a key nobody holds:
// the signature is fixed (r = 2, s = 1) and the public key is whatever ECDSA
// public-key recovery yields for that signature over the ID block.  A
// verifier can therefore recompute the ID key from the launch digest and
// guest policy alone.  This is an independent BigInt implementation of that
// derivation on P-384 (the C verifier uses OpenSSL's EC_POINT API).
import { createHash } from "node:crypto";

// NIST P-384 domain parameters (FIPS 186-4 D.1.2.4).
const P = 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n;
const N = 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n;
const A = P - 3n;
const B = 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn;
const G = {
	x: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
	y: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
};

const mod = (a, m) => ((a % m) + m) % m;

function modPow(b, e, m) {
	let r = 1n;
	b = mod(b, m);
	while (e > 0n) {
		if (e & 1n) r = (r * b) % m;
		b = (b * b) % m;
		e >>= 1n;
	}
	return r;
}

function modInv(a, m) {
	// Extended Euclid; a is never 0 mod m for the values used here.
	let [r0, r1] = [mod(a, m), m];
	let [s0, s1] = [1n, 0n];
	while (r1 !== 0n) {
		const q = r0 / r1;
		[r0, r1] = [r1, r0 - q * r1];
		[s0, s1] = [s1, s0 - q * s1];
	}
	return mod(s0, m);
}

// Affine point arithmetic; null is the point at infinity.  Only a handful
// of scalar multiplications run per simulator start, so clarity wins.
function add(p1, p2) {
	if (p1 === null) return p2;
	if (p2 === null) return p1;
	if (p1.x === p2.x) {
		if (mod(p1.y + p2.y, P) === 0n) return null;
		const l = mod((3n * p1.x * p1.x + A) * modInv(2n * p1.y, P), P);
		const x = mod(l * l - 2n * p1.x, P);
		return { x, y: mod(l * (p1.x - x) - p1.y, P) };
	}
	const l = mod((p2.y - p1.y) * modInv(p2.x - p1.x, P), P);
	const x = mod(l * l - p1.x - p2.x, P);
	return { x, y: mod(l * (p1.x - x) - p1.y, P) };
}

function mul(k, pt) {
	let r = null;
	let q = pt;
	k = mod(k, N);
	while (k > 0n) {
		if (k & 1n) r = add(r, q);
		q = add(q, q);
		k >>= 1n;
	}
	return r;
}

const neg = (pt) => ({ x: pt.x, y: mod(-pt.y, P) });

function bigFromBytesBE(buf) {
	return buf.length ? BigInt("0x" + Buffer.from(buf).toString("hex")) : 0n;
}

function bytesLE(v, len) {
	const out = Buffer.alloc(len);
	for (let i = 0; i < len; i++) {
		out[i] = Number(v & 0xffn);
		v >>= 8n;
	}
	return out;
}

// Guest policy bits from the manifest's GuestPolicy (attestation spec §2.4);
// bit 17 is reserved and must always be set.
export function guestPolicyBits(gp = {}) {
	let v = 1n << 17n;
	v |= BigInt(gp.ABIMinor ?? 0) & 0xffn;
	v |= (BigInt(gp.ABIMajor ?? 0) & 0xffn) << 8n;
	const bit = (name, n) => { if (gp[name]) v |= 1n << n; };
	bit("SMT", 16n);
	bit("MigrateMA", 18n);
	bit("Debug", 19n);
	bit("SingleSocket", 20n);
	bit("CXLAllowed", 21n);
	bit("MemAES256XTS", 22n);
	bit("RAPLDis", 23n);
	bit("CipherTextHidingDRAM", 24n);
	bit("PageSwapDisable", 25n);
	return v;
}

// Fixed ID-block contents Contrast uses alongside the launch digest.
export const ID_BLOCK_FAMILY_ID = Buffer.concat([Buffer.from([1]), Buffer.alloc(15)]);
export const ID_BLOCK_IMAGE_ID = Buffer.concat([Buffer.from([2]), Buffer.alloc(15)]);
export const ID_BLOCK_VERSION = 1;
export const ID_BLOCK_GUEST_SVN = 2;

export function idBlock(launchDigest, policy) {
	if (launchDigest.length !== 48) throw new Error("launch digest must be 48 bytes");
	const b = Buffer.alloc(0x60);
	Buffer.from(launchDigest).copy(b, 0);
	ID_BLOCK_FAMILY_ID.copy(b, 0x30);
	ID_BLOCK_IMAGE_ID.copy(b, 0x40);
	b.writeUInt32LE(ID_BLOCK_VERSION, 0x50);
	b.writeUInt32LE(ID_BLOCK_GUEST_SVN, 0x54);
	b.writeBigUInt64LE(BigInt(policy), 0x58);
	return b;
}

// Public-key recovery for signature (r = 2, s = 1) over SHA-384(ID block).
// Both square roots of R.y give a valid key; Contrast sorts the candidates
// by (X, Y) ascending and takes the first.
export function recoverIdKey(launchDigest, policy) {
	const z = mod(bigFromBytesBE(createHash("sha384").update(idBlock(launchDigest, policy)).digest()), N);
	const r = 2n, s = 1n;
	const x = r;
	const y2 = mod(x * x * x + A * x + B, P);
	const y = modPow(y2, (P + 1n) / 4n, P); // P = 3 mod 4
	if (mod(y * y, P) !== y2) throw new Error("x = 2 is not on P-384");
	const rInv = modInv(r, N);
	const zG = mul(z, G);
	const cands = [{ x, y }, { x, y: mod(-y, P) }].map((R) => mul(rInv, add(mul(s, R), neg(zG))));
	cands.sort((a, b) => (a.x < b.x ? -1 : a.x > b.x ? 1 : a.y < b.y ? -1 : a.y > b.y ? 1 : 0));
	return cands[0];
}

// SEV-SNP ID_KEY structure (0x404 bytes): curve id 2 (P-384), Qx and Qy as
// 72-byte little-endian integers, rest zero.  Its SHA-384 is ID_KEY_DIGEST.
export function idKeyDigest(launchDigest, policy) {
	const q = recoverIdKey(launchDigest, policy);
	const k = Buffer.alloc(0x404);
	k.writeUInt32LE(2, 0);
	bytesLE(q.x, 72).copy(k, 4);
	bytesLE(q.y, 72).copy(k, 4 + 72);
	return createHash("sha384").update(k).digest();
}
