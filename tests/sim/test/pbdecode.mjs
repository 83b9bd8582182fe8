// Minimal proto3 decoder for the test client (independent of the
// simulator's encoder): returns Map(field -> [values]) where a value is a
// BigInt (varint) or a Buffer (length-delimited); other wire types are
// skipped as proto3 requires.
export function decode(buf) {
	const out = new Map();
	let p = 0;
	const varint = () => {
		let v = 0n, shift = 0n;
		for (;;) {
			if (p >= buf.length) throw new Error("protobuf: truncated varint");
			const b = buf[p++];
			v |= BigInt(b & 0x7f) << shift;
			if (!(b & 0x80)) return v;
			shift += 7n;
			if (shift > 63n) throw new Error("protobuf: varint too long");
		}
	};
	while (p < buf.length) {
		const key = varint();
		const field = Number(key >> 3n), wire = Number(key & 7n);
		if (field === 0) throw new Error("protobuf: field 0");
		let val;
		if (wire === 0) val = varint();
		else if (wire === 2) {
			const n = Number(varint());
			if (p + n > buf.length) throw new Error("protobuf: truncated bytes");
			val = buf.subarray(p, p + n);
			p += n;
		} else if (wire === 1) { p += 8; continue; } else if (wire === 5) { p += 4; continue; } else throw new Error(`protobuf: wire type ${wire}`);
		if (p > buf.length) throw new Error("protobuf: truncated");
		if (!out.has(field)) out.set(field, []);
		out.get(field).push(val);
	}
	return out;
}

export const last = (m, f, dflt) => (m.has(f) ? m.get(f)[m.get(f).length - 1] : dflt);
