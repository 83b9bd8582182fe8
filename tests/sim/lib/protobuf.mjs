// Hand-written proto3 encoder for sevsnp.Attestation (attestation spec §1.4).
// Field numbers follow go-sev-guest's proto/sevsnp.proto.  proto3 omits
// zero scalars and empty bytes; we do the same so the encoding matches what
// Go's proto.Marshal would emit for the same values (field order ascending).

function varint(v) {
	v = BigInt(v);
	if (v < 0n) v &= (1n << 64n) - 1n; // negative ints are 10-byte two's complement
	const out = [];
	do {
		let byte = Number(v & 0x7fn);
		v >>= 7n;
		if (v > 0n) byte |= 0x80;
		out.push(byte);
	} while (v > 0n);
	return Buffer.from(out);
}

const tag = (field, wire) => varint((BigInt(field) << 3n) | BigInt(wire));

export class Writer {
	constructor() { this.parts = []; }
	uint(field, v) {
		if (v === undefined || v === null || BigInt(v) === 0n) return this;
		this.parts.push(tag(field, 0), varint(v));
		return this;
	}
	bytes(field, v) {
		if (v === undefined || v === null || v.length === 0) return this;
		const b = typeof v === "string" ? Buffer.from(v, "utf8") : Buffer.from(v);
		this.parts.push(tag(field, 2), varint(b.length), b);
		return this;
	}
	// Embedded messages are emitted even when empty if present (like Go for
	// non-nil message pointers).
	message(field, w) {
		if (w === undefined || w === null) return this;
		const b = w instanceof Writer ? w.finish() : Buffer.from(w);
		this.parts.push(tag(field, 2), varint(b.length), b);
		return this;
	}
	finish() { return Buffer.concat(this.parts); }
}

// sevsnp.Report field numbers.
export const REPORT_FIELDS = {
	version: 1, guestSvn: 2, policy: 3, familyId: 4, imageId: 5, vmpl: 6, signatureAlgo: 7,
	currentTcb: 8, platformInfo: 9, signerInfo: 10, reportData: 11, measurement: 12, hostData: 13,
	idKeyDigest: 14, authorKeyDigest: 15, reportId: 16, reportIdMa: 17, reportedTcb: 18, chipId: 19,
	committedTcb: 20, currentBuild: 21, currentMinor: 22, currentMajor: 23, committedBuild: 24,
	committedMinor: 25, committedMajor: 26, launchTcb: 27, signature: 28, cpuid1eaxFms: 29,
	launchMitVector: 30, currentMitVector: 31,
};
const BYTES_FIELDS = new Set(["familyId", "imageId", "reportData", "measurement", "hostData", "idKeyDigest",
	"authorKeyDigest", "reportId", "reportIdMa", "chipId", "signature"]);

export function encodeReport(r) {
	const w = new Writer();
	for (const [name, num] of Object.entries(REPORT_FIELDS).sort((a, b) => a[1] - b[1])) {
		if (BYTES_FIELDS.has(name)) w.bytes(num, r[name]);
		else w.uint(num, r[name]);
	}
	return w.finish();
}

// Key under which Contrast stores the product CRL in CertificateChain.extras.
export const CRL_EXTRAS_KEY = "00569ee4-e480-4fba-bbf4-45b629901180";
export const PRODUCT_GENOA = 2;

// Attestation{1 report, 2 certificate_chain{1 vcek, 2 ask, 3 ark, 6 vlek,
// 7 extras map<string,bytes>}, 3 product{1 name, 3 machine_stepping{1 value}}}.
export function encodeAttestation({ report, vcek, ask, ark, vlek, crl, product = PRODUCT_GENOA }) {
	const chain = new Writer().bytes(1, vcek).bytes(2, ask).bytes(3, ark).bytes(6, vlek);
	if (crl && crl.length) chain.message(7, new Writer().bytes(1, CRL_EXTRAS_KEY).bytes(2, crl));
	// machine_stepping is a google.protobuf.UInt32Value set to 0: a present
	// but empty wrapper message, exactly what the Contrast issuer produces.
	const prod = new Writer().uint(1, product).message(3, new Writer());
	return new Writer()
		.message(1, encodeReport(report))
		.message(2, chain)
		.message(3, prod)
		.finish();
}
