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
