// Just enough DER for the test client: walk TLVs, read the AMD VCEK
// extensions, and take a CRL apart for signature and serial checks.

export function tlv(buf, pos = 0) {
	const tag = buf[pos];
	let len = buf[pos + 1];
	let hdr = 2;
	if (len & 0x80) {
		const n = len & 0x7f;
		len = 0;
		for (let i = 0; i < n; i++) len = len * 256 + buf[pos + 2 + i];
		hdr = 2 + n;
	}
	return { tag, start: pos, hdr, len, end: pos + hdr + len, body: buf.subarray(pos + hdr, pos + hdr + len), raw: buf.subarray(pos, pos + hdr + len) };
}

export function children(t) {
	const out = [];
	for (let p = 0; p < t.body.length;) {
		const c = tlv(t.body, p);
		out.push(c);
		p = c.end;
	}
	return out;
}

export function oidString(body) {
	const parts = [Math.floor(body[0] / 40), body[0] % 40];
	let v = 0;
	for (let i = 1; i < body.length; i++) {
		v = v * 128 + (body[i] & 0x7f);
		if (!(body[i] & 0x80)) { parts.push(v); v = 0; }
	}
	return parts.join(".");
}

export const intOf = (body) => BigInt("0x" + (Buffer.from(body).toString("hex") || "0"));

// Extensions of an X.509 certificate: Map(oid -> {critical, value Buffer}).
export function certExtensions(der) {
	const cert = tlv(der);
	const tbs = children(cert)[0];
	const out = new Map();
	for (const c of children(tbs)) {
		if (c.tag !== 0xa3) continue;
		const seq = children(c)[0];
		for (const ext of children(seq)) {
			const [oid, ...rest] = children(ext);
			const key = oidString(oid.body);
			if (out.has(key)) throw new Error(`duplicate extension ${key}`);
			const critical = rest.length === 2 && rest[0].tag === 0x01 && rest[0].body[0] !== 0;
			out.set(key, { critical, value: rest[rest.length - 1].body });
		}
	}
	return out;
}

export const PSS_OID = "1.2.840.113549.1.1.10";

export function certSigAlg(der) {
	const [, alg] = children(tlv(der));
	return oidString(children(alg)[0].body);
}

function time(t) {
	const s = t.body.toString("ascii");
	if (t.tag === 0x17) { // UTCTime YYMMDDHHMMSSZ
		const y = Number(s.slice(0, 2));
		return new Date(Date.UTC(y < 50 ? 2000 + y : 1900 + y, Number(s.slice(2, 4)) - 1, Number(s.slice(4, 6)), Number(s.slice(6, 8)), Number(s.slice(8, 10)), Number(s.slice(10, 12))));
	}
	return new Date(Date.UTC(Number(s.slice(0, 4)), Number(s.slice(4, 6)) - 1, Number(s.slice(6, 8)), Number(s.slice(8, 10)), Number(s.slice(10, 12)), Number(s.slice(12, 14))));
}

// CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signature BIT STRING }
export function parseCrl(der) {
	const top = tlv(der);
	const [tbs, alg, sig] = children(top);
	const f = children(tbs);
	let i = 0;
	if (f[i].tag === 0x02) i++; // version
	i++; // signature algorithm
	const issuer = f[i++].raw;
	const thisUpdate = time(f[i++]);
	let nextUpdate = null;
	if (f[i] && (f[i].tag === 0x17 || f[i].tag === 0x18)) nextUpdate = time(f[i++]);
	const revoked = [];
	if (f[i] && f[i].tag === 0x30) for (const e of children(f[i])) revoked.push(intOf(children(e)[0].body));
	return { tbs: tbs.raw, sigAlg: oidString(children(alg)[0].body), signature: sig.body.subarray(1), issuer, thisUpdate, nextUpdate, revoked };
}

export function certSerial(der) {
	const tbs = children(tlv(der))[0];
	const f = children(tbs);
	return intOf((f[0].tag === 0xa0 ? f[1] : f[0]).body);
}
