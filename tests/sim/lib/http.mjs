// Small HTTP helpers shared by the handlers.

// Go's forwarder.HTTPError shape (protocol spec §2.10): JSON error, or the
// SSE form when the request's Accept is exactly text/event-stream.  Every
// error the simulated deployment produces itself is marked unencrypted.
export function httpError(req, res, status, message) {
	const json = JSON.stringify({ error: { message, type: "" } });
	const sse = req.headers.accept === "text/event-stream";
	res.writeHead(status, {
		"Content-Type": sse ? "text/event-stream" : "application/json",
		"X-Content-Type-Options": "nosniff",
		"Privatemode-Encrypted": "false",
	});
	res.end(sse ? `event: error\n\ndata: ${json}\n\n` : json);
}

export function sendText(res, status, text, headers = {}) {
	res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...headers });
	res.end(text);
}

export function sendJson(res, status, obj, headers = {}) {
	const body = typeof obj === "string" ? obj : JSON.stringify(obj);
	res.writeHead(status, { "Content-Type": "application/json", ...headers });
	res.end(body);
}

// A TCP RST rather than a FIN, so the peer sees "connection reset by peer"
// (the proxy's retry marker).  On TLS the reset goes to the raw TCP socket
// underneath.
export function resetSocket(sock) {
	if (!sock) return;
	for (const s of [sock._parent, sock]) {
		if (s && typeof s.resetAndDestroy === "function") {
			try { s.resetAndDestroy(); if (s !== sock) sock.destroy(); return; } catch { /* not a TCP handle */ }
		}
	}
	sock.destroy();
}

// HTTP/2 error codes (RFC 9113 §7) by name.
export const H2_ERRORS = Object.freeze({
	NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, INTERNAL_ERROR: 0x2, FLOW_CONTROL_ERROR: 0x3, SETTINGS_TIMEOUT: 0x4,
	STREAM_CLOSED: 0x5, FRAME_SIZE_ERROR: 0x6, REFUSED_STREAM: 0x7, CANCEL: 0x8, COMPRESSION_ERROR: 0x9,
	CONNECT_ERROR: 0xa, ENHANCE_YOUR_CALM: 0xb, INADEQUATE_SECURITY: 0xc, HTTP_1_1_REQUIRED: 0xd,
});

export function h2ErrorName(code) {
	return Object.keys(H2_ERRORS).find((k) => H2_ERRORS[k] === code) ?? `0x${code.toString(16)}`;
}

// A code given as a number or a name ("CANCEL", "NGHTTP2_CANCEL", "cancel").
export function h2ErrorCode(v, dflt = H2_ERRORS.INTERNAL_ERROR) {
	if (v === undefined || v === null) return dflt;
	if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
	const n = typeof v === "string" ? v.toUpperCase().replace(/^NGHTTP2_/, "") : null;
	if (n !== null && Object.hasOwn(H2_ERRORS, n)) return H2_ERRORS[n];
	throw new Error(`unknown HTTP/2 error code ${JSON.stringify(v)}`);
}

// Cut one answer short.  HTTP/2: RST_STREAM with `code` (default
// INTERNAL_ERROR) on this stream only, the session and its other streams go
// on; the stream is marked so the record says the server sent it.
// HTTP/1.1: a TCP RST of the connection (resetSocket).
export function resetResponse(res, code) {
	const st = res.stream;
	if (st) {
		const c = h2ErrorCode(code);
		st.simRstCode = c;
		if (!st.closed && !st.destroyed) st.close(c);
		return;
	}
	resetSocket(res.socket);
}
