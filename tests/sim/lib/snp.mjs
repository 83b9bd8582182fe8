// Synthetic SEV-SNP attestation reports (attestation spec §2.3-§2.4).
//
// A report is kept as a plain object whose members mirror the sevsnp.Report
// protobuf fields; toAbiBytes() lays it out in the 0x4A0-byte firmware ABI,
// which is what the VCEK signs and what a verifier rebuilds from the proto.
import { createSign } from "node:crypto";

export const REPORT_SIZE = 0x4a0;
export const SIGNATURE_OFFSET = 0x2a0;

// TCB_VERSION (Milan/Genoa layout): byte0 BL, byte1 TEE, bytes 2-5 reserved
// (spl4..spl7), byte6 SNP, byte7 microcode.
export function tcb({ bl = 0, tee = 0, snp = 0, ucode = 0, spl4 = 0, spl5 = 0, spl6 = 0, spl7 = 0 }) {
	return BigInt(bl) | (BigInt(tee) << 8n) | (BigInt(spl4) << 16n) | (BigInt(spl5) << 24n) |
		(BigInt(spl6) << 32n) | (BigInt(spl7) << 40n) | (BigInt(snp) << 48n) | (BigInt(ucode) << 56n);
}

export function tcbParts(v) {
	v = BigInt(v);
	const byte = (i) => Number((v >> BigInt(8 * i)) & 0xffn);
	return { bl: byte(0), tee: byte(1), snp: byte(6), ucode: byte(7) };
}

// CPUID Fn0000_0001_EAX for a family/model/stepping, and back.
export function fmsToEax(family, model, stepping) {
	const baseFamily = Math.min(family, 0xf);
	const extFamily = family - baseFamily;
	return ((extFamily & 0xff) << 20) | (((model >> 4) & 0xf) << 16) | (baseFamily << 8) | ((model & 0xf) << 4) | (stepping & 0xf);
}

export function eaxToFms(eax) {
	return {
		family: ((eax >>> 20) & 0xff) + ((eax >>> 8) & 0xf),
		model: (((eax >>> 16) & 0xf) << 4) | ((eax >>> 4) & 0xf),
		stepping: eax & 0xf,
	};
}

// Genoa B1: family 0x19, model 0x11, stepping 1 -> EAX 0x00A10F11.
export const GENOA_FMS = fmsToEax(0x19, 0x11, 1);

function fixed(buf, off, len, val) {
	const b = Buffer.alloc(len);
	if (val) Buffer.from(val).copy(b, 0, 0, len);
	b.copy(buf, off);
}

// Serialise the report the way the firmware lays it out; every byte not
// covered by a field stays zero.  For version >= 3 the CPUID family, model
// and stepping go to 0x188..0x18A (derived from cpuid1eax_fms).
export function toAbiBytes(r) {
	const b = Buffer.alloc(REPORT_SIZE);
	b.writeUInt32LE(r.version >>> 0, 0x000);
	b.writeUInt32LE(r.guestSvn >>> 0, 0x004);
	b.writeBigUInt64LE(BigInt(r.policy), 0x008);
	fixed(b, 0x010, 16, r.familyId);
	fixed(b, 0x020, 16, r.imageId);
	b.writeUInt32LE(r.vmpl >>> 0, 0x030);
	b.writeUInt32LE(r.signatureAlgo >>> 0, 0x034);
	b.writeBigUInt64LE(BigInt(r.currentTcb), 0x038);
	b.writeBigUInt64LE(BigInt(r.platformInfo), 0x040);
	b.writeUInt32LE(r.signerInfo >>> 0, 0x048);
	fixed(b, 0x050, 64, r.reportData);
	fixed(b, 0x090, 48, r.measurement);
	fixed(b, 0x0c0, 32, r.hostData);
	fixed(b, 0x0e0, 48, r.idKeyDigest);
	fixed(b, 0x110, 48, r.authorKeyDigest);
	fixed(b, 0x140, 32, r.reportId);
	fixed(b, 0x160, 32, r.reportIdMa);
	b.writeBigUInt64LE(BigInt(r.reportedTcb), 0x180);
	if (r.version >= 3) {
		const f = eaxToFms(r.cpuid1eaxFms >>> 0);
		b[0x188] = f.family;
		b[0x189] = f.model;
		b[0x18a] = f.stepping;
	}
	fixed(b, 0x1a0, 64, r.chipId);
	b.writeBigUInt64LE(BigInt(r.committedTcb), 0x1e0);
	b[0x1e8] = r.currentBuild;
	b[0x1e9] = r.currentMinor;
	b[0x1ea] = r.currentMajor;
	b[0x1ec] = r.committedBuild;
	b[0x1ed] = r.committedMinor;
	b[0x1ee] = r.committedMajor;
	b.writeBigUInt64LE(BigInt(r.launchTcb), 0x1f0);
	b.writeBigUInt64LE(BigInt(r.launchMitVector), 0x1f8);
	b.writeBigUInt64LE(BigInt(r.currentMitVector), 0x200);
	fixed(b, SIGNATURE_OFFSET, 512, r.signature);
	return b;
}

// ECDSA P-384/SHA-384 over bytes [0, 0x2A0); AMD stores R and S as 72-byte
// little-endian integers at 0x2A0 and 0x2E8 (the rest of the 512-byte
// signature field is zero).
export function signReport(r, vcekKey) {
	const tbs = toAbiBytes(r).subarray(0, SIGNATURE_OFFSET);
	const sig = createSign("sha384").update(tbs).sign({ key: vcekKey, dsaEncoding: "ieee-p1363" });
	const rBE = sig.subarray(0, 48), sBE = sig.subarray(48, 96);
	const field = Buffer.alloc(512);
	Buffer.from(rBE).reverse().copy(field, 0x00);
	Buffer.from(sBE).reverse().copy(field, 0x48);
	r.signature = field;
	return r;
}
