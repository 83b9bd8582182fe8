// A minimal reference encryption proxy in JS (protocol spec §2.6-§4), only
// for tests: it lets the official OpenAI/Anthropic SDKs talk to the
// simulator through the spec-written client's cipher, proving that what the
// simulator sends decrypts into exactly what SDKs expect.  It is also the
// behaviour the C daemon is compared with (minus retries, shard keys and
// the many details the daemon implements for real).
import http from "node:http";
import { randomBytes } from "node:crypto";
import { ClientCipher, request } from "./client.mjs";
import { encryptedHeaders } from "./harness.mjs";

const CHAT = { req: new Set(["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"]), resp: new Set(["id", "usage"]), salt: true };
const ROUTES = {
	"/v1/chat/completions": CHAT,
	"/v1/completions": CHAT,
	"/v1/messages": { req: new Set(["model", "stream"]), resp: new Set(["id", "type", "usage"]), salt: true },
	"/v1/embeddings": { req: new Set(["model"]), resp: new Set(["id", "usage"]), salt: false },
};

export async function startRefProxy(sim, session) {
	const server = http.createServer(async (req, res) => {
		const chunks = [];
		for await (const c of req) chunks.push(c);
		const path = new URL(req.url, "http://x").pathname;
		const route = ROUTES[path];
		if (path === "/v1/models") {
			const r = await sim.req("GET", path, { headers: { Authorization: `Bearer ${session.apiKey}` } });
			res.writeHead(r.status, { "Content-Type": r.headers["content-type"] });
			return res.end(r.body);
		}
		if (!route) { res.writeHead(404); return res.end("404 page not found\n"); }
		let text = Buffer.concat(chunks).toString("utf8");
		if (route.salt) {
			const obj = JSON.parse(text);
			if (!obj.cache_salt) text = text.replace(/\}\s*$/, `,"cache_salt":"${randomBytes(32).toString("base64")}"}`);
		}
		const cipher = new ClientCipher(session.secret, session.id);
		const body = cipher.encryptJson(text, route.req);
		const up = await sim.req(req.method, path, { raw: true, body, headers: { "Content-Type": "application/json", ...(req.headers.accept ? { Accept: req.headers.accept } : {}), ...encryptedHeaders(session) } });
		const headers = { "Content-Type": up.headers["content-type"] ?? "application/json" };
		if (up.headers["privatemode-encrypted"] === "false") { res.writeHead(up.statusCode, headers); return up.pipe(res); }
		if (/event-stream/.test(headers["Content-Type"])) {
			res.writeHead(up.statusCode, headers);
			let buf = "";
			up.on("data", (d) => {
				buf += d;
				let nl;
				while ((nl = buf.indexOf("\n")) >= 0) {
					const line = buf.slice(0, nl).replace(/\r$/, "");
					buf = buf.slice(nl + 1);
					if (line === "") continue;
					const i = line.indexOf(": ");
					const head = i >= 0 ? line.slice(0, i + 2) : "", payload = i >= 0 ? line.slice(i + 2) : line;
					if (head === "event: ") res.write(line + "\n");
					else if (payload.toUpperCase() === "[DONE]") res.write(line + "\n\n");
					else res.write(head + cipher.decryptJson(payload, route.resp) + "\n\n");
				}
			});
			up.on("end", () => res.end());
			return;
		}
		const out = [];
		for await (const c of up) out.push(c);
		const plain = cipher.decryptJson(Buffer.concat(out).toString("utf8"), route.resp);
		res.writeHead(up.statusCode, headers);
		res.end(plain);
	});
	await new Promise((r) => server.listen(0, "127.0.0.1", r));
	return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}
