// JSON field traversal (protocol spec §3.3-§3.5) for plain sets of depth 1,
// which is all the endpoints use: every top-level member (or array element)
// not in the plain set is one unit, visited in bytewise-sorted order of its
// (gjson-escaped) name, and replaced in place by f(raw JSON text of value).
// The rest of the document stays byte-for-byte unchanged.

// Scan one JSON value starting at i (after whitespace); returns its end.
function skipWs(s, i) {
	while (i < s.length && (s[i] === " " || s[i] === "\t" || s[i] === "\n" || s[i] === "\r")) i++;
	return i;
}

function scanString(s, i) {
	if (s[i] !== '"') throw new Error("invalid JSON data");
	for (i++; i < s.length; i++) {
		if (s[i] === "\\") i++;
		else if (s[i] === '"') return i + 1;
	}
	throw new Error("invalid JSON data");
}

function scanValue(s, i) {
	const c = s[i];
	if (c === '"') return scanString(s, i);
	if (c === "{" || c === "[") {
		const close = c === "{" ? "}" : "]";
		i = skipWs(s, i + 1);
		if (s[i] === close) return i + 1;
		for (;;) {
			if (c === "{") {
				i = skipWs(s, scanString(s, i));
				if (s[i] !== ":") throw new Error("invalid JSON data");
				i = skipWs(s, i + 1);
			}
			i = skipWs(s, scanValue(s, i));
			if (s[i] === ",") { i = skipWs(s, i + 1); continue; }
			if (s[i] === close) return i + 1;
			throw new Error("invalid JSON data");
		}
	}
	const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(s.slice(i, i + 400));
	if (!m) throw new Error("invalid JSON data");
	return i + m[0].length;
}

// gjson path escaping of a member name, used both for sorting and for
// matching the plain set.
export const escapeName = (k) => k.replace(/[.?*]/g, (m) => "\\" + m);

// Top-level units of a JSON text: [{name, start, end}] in document order.
export function units(text) {
	JSON.parse(text); // strict validity first; the scanner then only locates spans
	let i = skipWs(text, 0);
	const out = [];
	if (text[i] === "{") {
		i = skipWs(text, i + 1);
		if (text[i] === "}") return out;
		for (;;) {
			const ke = scanString(text, i);
			const name = escapeName(JSON.parse(text.slice(i, ke)));
			i = skipWs(text, ke);
			i = skipWs(text, i + 1); // ':'
			const end = scanValue(text, i);
			out.push({ name, start: i, end });
			i = skipWs(text, end);
			if (text[i] === ",") { i = skipWs(text, i + 1); continue; }
			return out;
		}
	}
	if (text[i] === "[") {
		i = skipWs(text, i + 1);
		if (text[i] === "]") return out;
		for (let n = 0; ; n++) {
			const end = scanValue(text, i);
			out.push({ name: String(n), start: i, end });
			i = skipWs(text, end);
			if (text[i] === ",") { i = skipWs(text, i + 1); continue; }
			return out;
		}
	}
	return null; // a scalar or null: nothing to traverse
}

const byteOrder = (a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));

// Apply f(rawValueText, name) -> replacementText to every unit not in
// `plain`, in sorted order.  Empty input is returned unchanged.  With
// duplicate names, the first occurrence is addressed each time (gjson).
export function mutate(text, plain, f) {
	if (text.length === 0) return text;
	const us = units(text);
	if (!us) return text;
	const seen = new Set();
	const work = [];
	for (const u of us) if (!seen.has(u.name)) { seen.add(u.name); work.push(u); }
	work.sort((a, b) => byteOrder(a.name, b.name));
	const repl = new Map();
	for (const u of work) {
		if (plain.has(u.name)) continue;
		try {
			repl.set(u, f(text.slice(u.start, u.end), u.name));
		} catch (e) {
			e.message = `mutating field "${u.name}": ${e.message}`;
			throw e;
		}
	}
	// Splice replacements back in document order.
	let out = "", pos = 0;
	for (const u of us) {
		if (!repl.has(u)) continue;
		out += text.slice(pos, u.start) + repl.get(u);
		pos = u.end;
	}
	return out + text.slice(pos);
}

// Server-side helpers bound to a ServerCipher.
export function decryptJson(cipher, text, plain) {
	if (cipher.passthrough) return text; // sim --plain
	return mutate(text, plain, (raw, name) => {
		let s;
		try { s = JSON.parse(raw); } catch { s = null; }
		if (typeof s !== "string") throw new Error(`invalid message format: expected format '"id:nonce:iv:cipher"'`);
		const pt = cipher.decrypt(raw, name).toString("utf8");
		JSON.parse(pt); // the plaintext of a JSON unit is itself raw JSON
		return pt;
	});
}

export function encryptJson(cipher, text, plain) {
	if (cipher.passthrough) return text; // sim --plain
	return mutate(text, plain, (raw, name) => cipher.encrypt(raw, name));
}
