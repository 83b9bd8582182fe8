// Minimal multipart/form-data parsing and writing (protocol spec §3.8).

export function boundaryOf(contentType) {
	if (!contentType) throw new Error("request Content-Type isn't multipart/form-data");
	const [type, ...params] = contentType.split(";").map((s) => s.trim());
	if (!/^multipart\/(form-data|mixed)$/i.test(type)) throw new Error("request Content-Type isn't multipart/form-data");
	for (const p of params) {
		const m = /^boundary=(?:"([^"]+)"|(.+))$/i.exec(p);
		if (m) return m[1] ?? m[2];
	}
	throw new Error("no multipart boundary param in Content-Type");
}

function dispositionParams(value) {
	const out = {};
	const re = /;\s*([A-Za-z*]+)=(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
	let m;
	while ((m = re.exec(value))) out[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3].trim();
	return out;
}

// Returns [{name, filename|null, contentType|null, data: Buffer}] in order.
export function parseMultipart(body, contentType) {
	const boundary = boundaryOf(contentType);
	const delim = Buffer.from("--" + boundary);
	const parts = [];
	let pos = body.indexOf(delim);
	if (pos < 0) throw new Error("multipart: NextPart: EOF");
	for (;;) {
		pos += delim.length;
		if (body.subarray(pos, pos + 2).toString() === "--") break; // closing delimiter
		pos = body.indexOf("\r\n", pos) + 2;
		const headEnd = body.indexOf("\r\n\r\n", pos);
		if (headEnd < 0) throw new Error("multipart: malformed part headers");
		const headers = {};
		for (const line of body.subarray(pos, headEnd).toString("utf8").split("\r\n")) {
			const c = line.indexOf(":");
			if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
		}
		const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delim]), headEnd + 4);
		if (next < 0) throw new Error("multipart: unexpected EOF");
		const disp = dispositionParams(headers["content-disposition"] ?? "");
		parts.push({
			name: disp.name ?? "",
			filename: disp.filename ?? null,
			contentType: headers["content-type"] ?? null,
			data: body.subarray(headEnd + 4, next),
		});
		pos = next + 2;
	}
	return parts;
}

// Values first, then files, each sorted bytewise by name, first occurrence
// per name only: the order in which the proxy encrypts and we decrypt.
export function formOrder(parts) {
	const cmp = (a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
	const firstOf = (list) => {
		const seen = new Set();
		return list.filter((p) => (seen.has(p.name) ? false : (seen.add(p.name), true)));
	};
	return {
		values: firstOf(parts.filter((p) => p.filename === null)).sort(cmp),
		files: firstOf(parts.filter((p) => p.filename !== null)).sort(cmp),
	};
}

// Rebuild a form the way Go's multipart.Writer does for the proxy: values
// without part Content-Type, files with filename = field name.
export function buildMultipart(values, files, boundary) {
	const chunks = [];
	for (const v of values) {
		chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${v.name}"\r\n\r\n`), Buffer.from(v.data), Buffer.from("\r\n"));
	}
	for (const f of files) {
		chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"; filename="${f.filename ?? f.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(f.data), Buffer.from("\r\n"));
	}
	chunks.push(Buffer.from(`--${boundary}--\r\n`));
	return Buffer.concat(chunks);
}
