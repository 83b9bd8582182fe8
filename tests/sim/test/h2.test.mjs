// HTTP/2 and HTTP/1.1 on the same TLS port: every route over both, the
// records' protocol fields, GET /__sim/sessions, the transport faults over
// HTTP/2, and the HTTP/2 switches (goaway, rst-refused, rst-stream,
// max-streams-1, window-stall, huge-head), each producing exactly what
// README.md says.  The client is node's own http2.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import tls from "node:tls";
import { startSim, attestAndExchange, encryptedJson, encryptedHeaders, SALT } from "./harness.mjs";
import { ClientCipher, decryptSse } from "./client.mjs";
import { H2, h1, over } from "./h2client.mjs";
import { RawH2, T, goawayOf, rstCodeOf, settingsOf } from "./h2frames.mjs";

const K = http2.constants;
// The simulator records a stream's end (a client's RST_STREAM, a closed
// session) when node tells it, after the client has sent it: poll the
// record until it shows the end, instead of sleeping and hoping (30 s is
// a hang's bound).
async function recordWhen(t, id, ready) {
	const end = Date.now() + 30000;
	for (;;) {
		const rec = await t.h2.record(sim, id);
		if (ready(rec) || Date.now() > end) return rec;
		await sleep(50);
	}
}
const CHAT_REQ = new Set(["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"]);
const CHAT_RESP = new Set(["id", "usage"]);
const ANTH_REQ = new Set(["model", "stream"]);
const ANTH_RESP = new Set(["id", "type", "usage"]);
const CHAT = { model: "m", messages: [{ role: "user", content: "Hello h2" }], cache_salt: SALT };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let sim, s;
// Drop records and faults, keep the secret `s` (and the live sessions).
const resetKeep = () => sim.req("POST", "/__sim/reset?secrets=keep");
before(async () => {
	sim = await startSim(["--stream-chunks", "4"]);
	s = await attestAndExchange(sim);
});
after(async () => { await sim?.stop(); });

const chatOver = (t, extra = {}, opts = {}) => encryptedJson(t, s, "/v1/chat/completions", { ...CHAT, ...extra }, CHAT_REQ, opts);
const records = async () => sim.requests();

const events = (text) => (text.match(/^data: /gm) ?? []).length;

function alpnOf(offer) {
	return new Promise((resolve, reject) => {
		const c = tls.connect({ host: "127.0.0.1", port: sim.info.port, ca: sim.ca, ...(offer ? { ALPNProtocols: offer } : {}) }, () => { resolve(c.alpnProtocol); c.destroy(); });
		c.on("error", reject);
	});
}

test("ALPN: h2 for a client offering h2, http/1.1 for one offering only http/1.1 or nothing; SETTINGS_MAX_CONCURRENT_STREAMS 250", async () => {
	assert.deepEqual(sim.info.protocols, ["h2", "http/1.1"]);
	assert.equal(await alpnOf(["h2", "http/1.1"]), "h2");
	assert.equal(await alpnOf(["http/1.1"]), "http/1.1");
	assert.equal(await alpnOf(null), false);
	const c = new H2(sim.info.base_url, { ca: sim.ca });
	try {
		assert.equal((await c.remoteSettings).maxConcurrentStreams, 250);
	} finally { await c.close(); }
});

for (const proto of ["h2", "http/1.1"]) {
	test(`every route over ${proto}: attest, secret, CDN, KDS, inference (unary, SSE, all endpoints), models, /__sim; records say ${proto}`, async () => {
		const t = over(sim, proto);
		try {
			await resetKeep();
			const ss = await attestAndExchange(t);
			// CDN and KDS
			const man = await t.req("GET", "/manifest.json?t=123");
			assert.equal(man.status, 200);
			assert.deepEqual(man.body, sim.manifest);
			const chip = sim.info.chip_id.toLowerCase();
			const vcek = await t.req("GET", `/vcek/v1/Genoa/${chip}?blSPL=10&teeSPL=0&snpSPL=28&ucodeSPL=88`);
			assert.equal(vcek.status, 200);
			assert.equal(vcek.headers["content-type"], "application/pkix-cert");
			assert.equal((await t.req("GET", "/vcek/v1/Genoa/crl")).status, 200);
			assert.match(String((await t.req("GET", "/vcek/v1/Genoa/cert_chain")).body), /BEGIN CERTIFICATE/);
			// inference, unary and streamed
			const u = await encryptedJson(t, ss, "/v1/chat/completions", CHAT, CHAT_REQ);
			assert.equal(u.res.status, 200, String(u.res.body));
			assert.equal(JSON.parse(u.cipher.decryptJson(String(u.res.body), CHAT_RESP)).choices[0].message.content, "Echo: Hello h2");
			const st = await encryptedJson(t, ss, "/v1/chat/completions", { ...CHAT, stream: true }, CHAT_REQ);
			assert.equal(st.res.headers["content-type"], "text/event-stream");
			const evs = decryptSse(st.cipher, String(st.res.body), CHAT_RESP);
			assert.equal(evs.filter((e) => e.data).flatMap((e) => e.data.choices.map((c) => c.delta?.content ?? "")).join(""), "Echo: Hello h2");
			assert.ok(evs.at(-1).done);
			const cmp = await encryptedJson(t, ss, "/v1/completions", { model: "m", prompt: "p", cache_salt: SALT }, CHAT_REQ);
			assert.equal(JSON.parse(cmp.cipher.decryptJson(String(cmp.res.body), CHAT_RESP)).choices[0].text, "Echo: p");
			const msg = await encryptedJson(t, ss, "/v1/messages", { model: "m", max_tokens: 5, messages: [{ role: "user", content: "hi" }], cache_salt: SALT, stream: true }, ANTH_REQ);
			const mev = decryptSse(msg.cipher, String(msg.res.body), ANTH_RESP);
			assert.equal(mev.at(-1).event, "message_stop");
			const emb = await encryptedJson(t, ss, "/v1/embeddings", { model: "e", input: "x" }, new Set(["model"]));
			assert.equal(JSON.parse(emb.cipher.decryptJson(String(emb.res.body), new Set(["id", "usage"]))).data[0].embedding.length, 8);
			const ac = new ClientCipher(ss.secret, ss.id);
			const b = "h2form";
			const form = Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-large-v3\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(ac.encrypt(Buffer.from("spoken"))), Buffer.from(`\r\n--${b}--\r\n`)]);
			const tr = await t.req("POST", "/v1/audio/transcriptions", { headers: { ...encryptedHeaders(ss), "Content-Type": `multipart/form-data; boundary=${b}` }, body: form });
			assert.equal(JSON.parse(ac.decryptJson(String(tr.body), new Set(["duration", "usage"]))).text, "Echo: spoken");
			const uc = new ClientCipher(ss.secret, ss.id);
			const un = await t.req("POST", "/unstructured/general/v0/general", { headers: { ...encryptedHeaders(ss), "Content-Type": "application/json" }, body: uc.encrypt(Buffer.from('{"a":"b"}')) });
			assert.deepEqual(JSON.parse(uc.decryptJson(String(un.body), new Set())).map((e) => e.text), ["b"]);
			const models = await t.req("GET", "/v1/models", { headers: { Authorization: `Bearer ${ss.apiKey}` } });
			assert.ok(JSON.parse(models.body).data.length > 0);
			// the control API
			assert.equal(JSON.parse((await t.req("GET", "/__sim/info")).body).port, sim.info.port);
			const recs = JSON.parse((await t.req("GET", "/__sim/requests")).body);
			assert.deepEqual([...new Set(recs.map((r) => r.kind))].sort(), ["attest", "cdn", "inference", "kds", "secret"]);
			assert.ok(recs.length >= 13);
			for (const r of recs) {
				assert.equal(r.protocol, proto, `${r.path} over ${r.protocol}`);
				assert.equal(r.httpVersion, proto === "h2" ? "2.0" : "1.1");
				assert.equal(typeof r.sessionId, "number");
				assert.equal(r.rstCode, null);
				if (proto === "h2") {
					assert.equal(r.streamId % 2, 1, "client streams are odd");
					assert.equal(r.headers[":path"], r.path + r.query, "pseudo-headers are recorded");
				} else assert.equal(r.streamId, null);
			}
			if (proto === "h2") {
				assert.equal(new Set(recs.map((r) => r.sessionId)).size, 1, "one session carried everything");
				const ids = recs.map((r) => r.streamId);
				assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
				assert.equal(new Set(ids).size, ids.length);
				const sess = (await sim.sessions()).find((x) => x.id === recs[0].sessionId);
				assert.equal(sess.protocol, "h2");
				assert.equal(sess.alpn, "h2");
				assert.equal(sess.streams, recs.length);
				assert.equal(sess.controlStreams, 2);
				assert.deepEqual(sess.settings, { maxConcurrentStreams: 250 });
			} else {
				assert.ok(new Set(recs.map((r) => r.sessionId)).size >= 13, "one connection per request (agent: false)");
			}
		} finally { await t.close(); }
	});
}

test("--no-h2: ALPN http/1.1 only, an HTTP/2 client is refused, records and sessions say http/1.1", async (t) => {
	const s1 = await startSim(["--no-h2"]);
	t.after(() => s1.stop());
	assert.deepEqual(s1.info.protocols, ["http/1.1"]);
	const alpn = await new Promise((resolve, reject) => {
		const c = tls.connect({ host: "127.0.0.1", port: s1.info.port, ca: s1.ca, ALPNProtocols: ["h2", "http/1.1"] }, () => { resolve(c.alpnProtocol); c.destroy(); });
		c.on("error", reject);
	});
	assert.equal(alpn, "http/1.1");
	// A client offering only h2 gets no protocol (node 20 fails the
	// handshake with no_application_protocol, node 18 picks none).
	const h2only = await new Promise((resolve) => {
		const c = tls.connect({ host: "127.0.0.1", port: s1.info.port, ca: s1.ca, ALPNProtocols: ["h2"] }, () => { resolve(c.alpnProtocol); c.destroy(); });
		c.on("error", (e) => resolve(e.code ?? e.message));
	});
	assert.notEqual(h2only, "h2");
	const r = await h1(s1.info.base_url, "GET", "/manifest.json", { ca: s1.ca });
	assert.equal(r.status, 200);
	assert.equal(r.alpn, "http/1.1");
	const rec = (await s1.requests()).at(-1);
	assert.equal(rec.protocol, "http/1.1");
	assert.equal(rec.streamId, null);
	const sess = (await s1.sessions()).find((x) => x.id === rec.sessionId);
	assert.equal(sess.protocol, "http/1.1");
	assert.equal(sess.streams, 1);
	assert.equal(sess.settings, null);
	// HTTP/2-only switches neither fire nor wear out over HTTP/1.1.
	await s1.faults({ "rst-refused": { times: 1 }, "rst-stream": { times: 1 } });
	const ss = await attestAndExchange(s1);
	assert.equal((await encryptedJson(s1, ss, "/v1/chat/completions", CHAT, CHAT_REQ)).res.status, 200);
	assert.deepEqual(Object.keys(JSON.parse((await s1.req("GET", "/__sim/faults")).body).active).sort(), ["rst-refused", "rst-stream"]);
});

// --- existing transport faults over HTTP/2 ----------------------------------

test("h2 reset: the TCP connection under the session is reset before any answer", async () => {
	const t = over(sim, "h2");
	await t.h2.remoteSettings;
	await sim.faults({ reset: { times: 1 } });
	await assert.rejects(chatOver(t));
	await t.h2.closed;
	assert.match(String(t.h2.error?.code ?? t.h2.error), /ECONNRESET/);
	assert.equal((await records()).at(-1).outcome, "reset before response");
	const t2 = over(sim, "h2");
	try { assert.equal((await chatOver(t2)).res.status, 200); } finally { await t2.close(); }
});

test("h2 reset-mid-stream: events, then RST_STREAM INTERNAL_ERROR on that stream only; the session lives on", async () => {
	const t = over(sim, "h2");
	try {
		await sim.faults({ "reset-mid-stream": { after: 2, times: 1 } });
		const { res } = await chatOver(t, { stream: true }, { raw: true });
		const got = await res.result;
		assert.equal(events(got.text), 2);
		assert.equal(got.how, "reset");
		assert.equal(got.rstCode, K.NGHTTP2_INTERNAL_ERROR);
		const rec = await t.h2.record(sim, res.id);
		assert.equal(rec.outcome, "reset after 2 events");
		assert.deepEqual([rec.rstCode, rec.rstName, rec.rstBy], [2, "INTERNAL_ERROR", "server"]);
		assert.equal((await chatOver(t)).res.status, 200, "same session still serves");
		assert.equal(t.h2.session.closed, false);
	} finally { await t.close(); }
});

test("h2 stall-stream and truncate-sse; slow-first-byte; slow-read", async () => {
	const t = over(sim, "h2");
	try {
		await sim.faults({ "stall-stream": { after: 1, times: 1 } });
		const { res } = await chatOver(t, { stream: true }, { raw: true });
		const got = await res.result;
		assert.equal(got.how, "stalled");
		assert.equal(events(got.text), 1);
		assert.equal((await chatOver(t)).res.status, 200, "other streams flow meanwhile");
		res.stream.close(K.NGHTTP2_CANCEL);
		const rec = await recordWhen(t, res.id, (r) => r.rstCode !== null);
		assert.equal(rec.outcome, "stalled after 1 events");
		assert.deepEqual([rec.rstCode, rec.rstName, rec.rstBy], [8, "CANCEL", "client"]);

		await sim.faults({ "truncate-sse": { after: 2, times: 1 } });
		const tr = await chatOver(t, { stream: true }, { raw: true });
		const g2 = await tr.res.result;
		assert.equal(g2.how, "end", "clean END_STREAM");
		assert.ok(!g2.text.endsWith("\n\n"));
		assert.equal(events(g2.text), 3, "2 complete + half of the third");

		await sim.faults({ "slow-first-byte": { delayMs: 300, times: 1 }, "slow-read": { delayMs: 300, times: 1 } });
		const t0 = Date.now();
		assert.equal((await chatOver(t)).res.status, 200);
		assert.ok(Date.now() - t0 >= 580);
	} finally { await t.close(); }
});

test("huge-head over h2: X-Sim-Filler-0.. of 'X', 70000 bytes, a header block over 64 KiB on the wire; HTTP/1.1 keeps one 'f' header", async () => {
	const t = over(sim, "h2");
	try {
		await t.h2.remoteSettings;
		await chatOver(t); // settle the session first
		await sim.faults({ "huge-head": { times: 1 } });
		const before = t.h2.session.socket.bytesRead;
		const { res } = await chatOver(t);
		const got = t.h2.session.socket.bytesRead - before;
		assert.equal(res.status, 200);
		const fill = Object.entries(res.headers).filter(([k]) => k.startsWith("x-sim-filler-"));
		assert.equal(fill.length, 9);
		assert.ok(fill.every(([, v]) => /^X+$/.test(v) && v.length <= 8192));
		assert.equal(fill.reduce((a, [, v]) => a + v.length, 0), 70000);
		assert.ok(got - res.body.length > 65536, `${got} bytes on the wire`);
		// 120000 bytes in 3 fields: 8 frames of 16 KiB (nghttp2 >= 1.61 refuses
		// a block of more than 1 HEADERS + 8 CONTINUATION frames).
		await sim.faults({ "huge-head": { times: 1, bytes: 120000, fieldBytes: 40000 } });
		const big = await chatOver(t);
		assert.deepEqual(Object.entries(big.res.headers).filter(([k]) => k.startsWith("x-sim-filler-")).map(([, v]) => v.length), [40000, 40000, 40000]);
	} finally { await t.close(); }
	await sim.faults({ "huge-head": { times: 1 } });
	const r = await chatOver(over(sim, "http/1.1"));
	assert.equal(r.res.headers["x-sim-filler"], "f".repeat(70000));
});

test("on the wire (raw frames): the server's SETTINGS; huge-head is HEADERS + CONTINUATION frames, a block over 64 KiB", async () => {
	await sim.faults({ "huge-head": { times: 1 } });
	const c = await RawH2.connect(sim.info.port, { ca: sim.ca });
	try {
		const st = await c.waitFor((f) => f.type === T.SETTINGS && !(f.flags & 1));
		assert.deepEqual(settingsOf(st), { 3: 250 }, "only SETTINGS_MAX_CONCURRENT_STREAMS differs from the protocol defaults");
		// No credentials: a 401 answer, with the filler (huge-head acts before the route).
		c.request(1, [[":method", "POST"], [":scheme", "https"], [":path", "/v1/chat/completions"], [":authority", `127.0.0.1:${sim.info.port}`]]);
		await c.waitFor((f) => f.type === T.DATA && f.stream === 1 && (f.flags & 1));
		const head = c.frames.filter((f) => f.stream === 1 && (f.type === T.HEADERS || f.type === T.CONTINUATION));
		assert.deepEqual(head.map((f) => f.type), [T.HEADERS, T.CONTINUATION, T.CONTINUATION, T.CONTINUATION, T.CONTINUATION]);
		assert.ok(head.slice(0, -1).every((f) => f.length === 16384 && !(f.flags & 4)) && head.at(-1).flags & 4);
		const block = head.reduce((a, f) => a + f.length, 0);
		assert.ok(block > 70000 && block < 71000, `header block ${block} bytes`);
	} finally { c.close(); }
});

test("max-streams-1 against a client that ignores it: after its SETTINGS ACK a second stream costs the session (GOAWAY INTERNAL_ERROR); before it, RST_STREAM REFUSED_STREAM", async () => {
	const req = [[":method", "POST"], [":scheme", "https"], [":path", "/v1/chat/completions"], [":authority", `127.0.0.1:${sim.info.port}`]];
	for (const ack of [true, false]) {
		await sim.faults({ "max-streams-1": { times: 1 } });
		const c = await RawH2.connect(sim.info.port, { ca: sim.ca, ackSettings: ack });
		try {
			assert.deepEqual(settingsOf(await c.waitFor((f) => f.type === T.SETTINGS && !(f.flags & 1))), { 3: 1 });
			if (ack) await sleep(100); // our ACK has arrived
			c.request(1, req, { endStream: false }); // stays open
			c.request(3, req);
			const f = await c.waitFor((x) => (x.type === T.RST_STREAM && x.stream === 3) || x.type === T.GOAWAY);
			if (ack) assert.deepEqual([f.type, goawayOf(f)], [T.GOAWAY, { lastStreamId: 1, code: 2 }]);
			else assert.deepEqual([f.type, rstCodeOf(f)], [T.RST_STREAM, 7]);
		} finally { c.close(); }
	}
});

// --- the HTTP/2 switches --------------------------------------------------

test("control API: the HTTP/2 switches are listed under knownHttp2, not known; options are checked", async () => {
	const f = JSON.parse((await sim.req("GET", "/__sim/faults")).body);
	assert.deepEqual(f.knownHttp2, ["goaway", "rst-refused", "rst-stream", "max-streams-1", "window-stall"]);
	assert.ok(f.knownHttp2.every((n) => !f.known.includes(n)));
	for (const bad of [{ goaway: { after: -1 } }, { "window-stall": { bytes: "x" } }, { "huge-head": { fieldBytes: 0 } }, { "rst-stream": { code: 2 ** 33 } }])
		assert.equal((await sim.req("POST", "/__sim/faults", { body: JSON.stringify(bad) })).status, 400, JSON.stringify(bad));
	const ok = JSON.parse((await sim.req("POST", "/__sim/faults", { body: JSON.stringify({ "rst-stream": { code: "nghttp2_cancel", after: 1 }, goaway: { after: 0, code: 11 } }) })).body);
	assert.deepEqual(Object.keys(ok.active).sort(), ["goaway", "rst-stream"]);
	await sim.req("DELETE", "/__sim/faults");
});

test("rst-refused: RST_STREAM REFUSED_STREAM before the body is read; the retry on a new stream is served; paths and times honoured", async () => {
	const t = over(sim, "h2");
	try {
		await sim.faults({ "rst-refused": { times: 1, paths: ["/v1/embeddings"] } });
		assert.equal((await chatOver(t)).res.status, 200, "not on a path it does not apply to");
		const e = await encryptedJson(t, s, "/v1/embeddings", { model: "e", input: "x" }, new Set(["model"])).catch((x) => x);
		assert.equal(e.rstCode, K.NGHTTP2_REFUSED_STREAM);
		const rec = await t.h2.record(sim, e.id);
		assert.equal(rec.outcome, "refused (RST_STREAM REFUSED_STREAM)");
		assert.deepEqual(rec.faults, ["rst-refused"]);
		assert.deepEqual([rec.rstCode, rec.rstName, rec.rstBy, rec.bodyLength, rec.kind], [7, "REFUSED_STREAM", "server", null, "inference"]);
		const again = await encryptedJson(t, s, "/v1/embeddings", { model: "e", input: "x" }, new Set(["model"]));
		assert.equal(again.res.status, 200);
		assert.equal(again.res.id, e.id + 2, "next stream on the same session");
	} finally { await t.close(); }
});

test("rst-stream: before the head with INTERNAL_ERROR or a chosen code; after N SSE events; a bad code is refused", async () => {
	const t = over(sim, "h2");
	try {
		await sim.faults({ "rst-stream": { times: 1 } });
		let e = await chatOver(t).catch((x) => x);
		assert.equal(e.rstCode, K.NGHTTP2_INTERNAL_ERROR);
		let rec = await t.h2.record(sim, e.id);
		assert.equal(rec.outcome, "RST_STREAM INTERNAL_ERROR before response");
		assert.equal(rec.kind, "inference");
		assert.equal(rec.status, null);
		assert.equal(rec.rstBy, "server");

		await sim.faults({ "rst-stream": { times: 1, code: "ENHANCE_YOUR_CALM" } });
		e = await chatOver(t).catch((x) => x);
		assert.equal(e.rstCode, K.NGHTTP2_ENHANCE_YOUR_CALM);
		assert.equal((await t.h2.record(sim, e.id)).rstName, "ENHANCE_YOUR_CALM");

		await sim.faults({ "rst-stream": { times: 1, after: 3, code: 1 } });
		const { res } = await chatOver(t, { stream: true }, { raw: true });
		const got = await res.result;
		assert.equal(events(got.text), 3);
		assert.equal(got.rstCode, K.NGHTTP2_PROTOCOL_ERROR);
		rec = await t.h2.record(sim, res.id);
		assert.deepEqual([rec.outcome, rec.rstCode, rec.rstBy], ["reset after 3 events", 1, "server"]);

		const bad = await sim.req("POST", "/__sim/faults", { body: JSON.stringify({ "rst-stream": { code: "NOPE" } }) });
		assert.equal(bad.status, 400);
		assert.equal((await chatOver(t)).res.status, 200);
	} finally { await t.close(); }
});

test("goaway after=2 with 4 concurrent streams: GOAWAY last-stream-id 3, streams 1 and 3 served, 5 and 7 refused, the session closes", async () => {
	await sim.faults({ goaway: { after: 2, times: 1 } });
	const t = over(sim, "h2");
	await t.h2.remoteSettings;
	const outs = await Promise.allSettled([1, 2, 3, 4].map(() => chatOver(t, { stream: true }, { headers: { "X-Sim-Chunk-Interval-Ms": "50" } })));
	await t.h2.closed;
	assert.deepEqual(t.h2.goaways.map((g) => [g.code, g.last]).slice(0, 1), [[0, 3]]);
	assert.ok(t.h2.goaways.every((g) => g.last === 3), "a later GOAWAY never raises last-stream-id");
	assert.deepEqual(outs.map((o) => o.status), ["fulfilled", "fulfilled", "rejected", "rejected"]);
	assert.deepEqual(outs.slice(2).map((o) => [o.reason.id, o.reason.rstCode]), [[5, 7], [7, 7]]);
	for (const o of outs.slice(0, 2)) assert.ok(decryptSse(o.value.cipher, String(o.value.res.body), CHAT_RESP).at(-1).done);
	await sleep(100);
	const recs = await records();
	const sess = await t.h2.sessionInfo(sim);
	const sid = sess.id;
	assert.equal(sess.goaway.lastStreamId, 3);
	assert.equal(sess.goaway.name, "NO_ERROR");
	assert.equal(sess.goaway.triggerStreamId, 3);
	assert.ok(sess.goaway.refusedStreams.every((id) => id === 5 || id === 7), JSON.stringify(sess.goaway));
	assert.equal(sess.open, false, "closed once 1 and 3 were done");
	for (const id of sess.goaway.refusedStreams) {
		const r = recs.find((x) => x.sessionId === sid && x.streamId === id);
		assert.match(r.outcome, /^refused: stream \d+ is above GOAWAY last-stream-id 3$/);
		assert.equal(r.rstCode, 7);
	}
	assert.deepEqual(recs.filter((r) => r.sessionId === sid && r.status === 200).map((r) => r.streamId), [1, 3]);
});

test("goaway after=0 on a live session: the next request is refused, GOAWAY names the last stream served; a fresh session's first stream is refused too", async () => {
	const t = over(sim, "h2");
	assert.equal((await chatOver(t)).res.status, 200); // stream 1
	await sim.faults({ goaway: { after: 0, times: 1 } });
	const e = await chatOver(t).catch((x) => x);
	assert.equal(e.id, 3);
	assert.equal(e.rstCode, K.NGHTTP2_REFUSED_STREAM);
	await t.h2.closed;
	assert.deepEqual(t.h2.goaways[0], { code: 0, last: 1 });
	const rec = await t.h2.record(sim, 3);
	assert.equal(rec.outcome, "refused: GOAWAY last-stream-id 1 sent before this stream was accepted");
	assert.deepEqual((await t.h2.sessionInfo(sim)).goaway.refusedStreams, [3]);

	// A fresh session: node cannot send last-stream-id 0, so the GOAWAY names
	// the refused stream, which gets RST_STREAM REFUSED_STREAM.
	await sim.faults({ goaway: { after: 0, times: 1 } });
	const t2 = over(sim, "h2");
	const e2 = await chatOver(t2).catch((x) => x);
	assert.equal(e2.rstCode, K.NGHTTP2_REFUSED_STREAM);
	await t2.h2.closed;
	assert.deepEqual(t2.h2.goaways[0], { code: 0, last: 1 });
	assert.equal((await t2.h2.record(sim, 1)).outcome, "refused: GOAWAY last-stream-id 1 sent before this stream was accepted");
	const t3 = over(sim, "h2");
	try { assert.equal((await chatOver(t3)).res.status, 200, "times=1: the retry's session is left alone"); } finally { await t3.close(); }

	// code: the GOAWAY's error code (node's client then tears the session down).
	await sim.faults({ goaway: { times: 1, code: "ENHANCE_YOUR_CALM" } });
	const t4 = over(sim, "h2");
	await chatOver(t4).catch(() => null);
	await t4.h2.closed;
	assert.deepEqual(t4.h2.goaways[0], { code: K.NGHTTP2_ENHANCE_YOUR_CALM, last: 1 });
	const g = (await t4.h2.sessionInfo(sim)).goaway;
	assert.deepEqual([g.lastStreamId, g.code, g.name, g.triggerStreamId], [1, 11, "ENHANCE_YOUR_CALM", 1]);
});

test("max-streams-1: the next new session advertises SETTINGS_MAX_CONCURRENT_STREAMS 1; node's client queues; later sessions get 250", async () => {
	await sim.faults({ "max-streams-1": { times: 1 } });
	const h1c = await h1(sim.info.base_url, "GET", "/manifest.json", { ca: sim.ca });
	assert.equal(h1c.status, 200, "an HTTP/1.1 connection does not consume it");
	const t = over(sim, "h2");
	try {
		assert.equal((await t.h2.remoteSettings).maxConcurrentStreams, 1);
		const outs = await Promise.all([1, 2, 3].map(() => chatOver(t, { stream: true }, { headers: { "X-Sim-Chunk-Interval-Ms": "30" } })));
		assert.deepEqual(outs.map((o) => o.res.status), [200, 200, 200]);
		const sess = await t.h2.sessionInfo(sim);
		assert.deepEqual(sess.settings, { maxConcurrentStreams: 1 });
		assert.deepEqual(sess.faults, ["max-streams-1"]);
		assert.equal(sess.streams, 3);
		assert.equal(sess.peakConcurrentStreams, 1);
	} finally { await t.close(); }
	const t2 = over(sim, "h2");
	try { assert.equal((await t2.h2.remoteSettings).maxConcurrentStreams, 250); } finally { await t2.close(); }
	assert.deepEqual(JSON.parse((await sim.req("GET", "/__sim/faults")).body).active, {});
});

test("POST /__sim/sessions/close: live sessions get GOAWAY and close (streams in progress finish), so a client reconnects and meets max-streams-1", async () => {
	const t = over(sim, "h2");
	assert.equal((await t.h2.remoteSettings).maxConcurrentStreams, 250);
	const { res } = await chatOver(t, { stream: true }, { raw: true, headers: { "X-Sim-Chunk-Interval-Ms": "100" } });
	await sim.faults({ "max-streams-1": { times: 1 } });
	const r = JSON.parse((await sim.req("POST", "/__sim/sessions/close")).body);
	assert.ok(r.closing.includes((await t.h2.sessionInfo(sim)).id));
	const got = await res.result;
	assert.equal(got.how, "end", "the stream in progress finished");
	assert.ok(got.text.endsWith("data: [DONE]\n\n"));
	await t.h2.closed;
	assert.deepEqual(t.h2.goaways[0], { code: 0, last: res.id });
	const t2 = over(sim, "h2");
	try {
		assert.equal((await t2.h2.remoteSettings).maxConcurrentStreams, 1);
	} finally { await t2.close(); }
});

test("window-stall over h2: head and half the body, then no DATA; the session and its other streams go on; the client's CANCEL is recorded", async () => {
	const t = over(sim, "h2");
	try {
		await sim.faults({ "window-stall": { times: 1 } });
		const { res } = await chatOver(t, {}, { raw: true });
		assert.equal(res.status, 200);
		const got = await res.result;
		assert.equal(got.how, "stalled");
		assert.ok(got.text.length > 100 && got.text.startsWith('{"'), got.text.slice(0, 50));
		assert.equal((await chatOver(t)).res.status, 200, "the session is alive");
		let rec = await t.h2.record(sim, res.id);
		assert.equal(rec.outcome, `window stalled after ${got.text.length} body bytes`);
		res.stream.close(K.NGHTTP2_CANCEL);
		rec = await recordWhen(t, res.id, (r) => r.rstCode !== null);
		assert.deepEqual([rec.rstCode, rec.rstName, rec.rstBy], [8, "CANCEL", "client"]);

		// SSE: after=2 complete events, then half of the third
		await sim.faults({ "window-stall": { times: 1, after: 2 } });
		const sse = await chatOver(t, { stream: true }, { raw: true });
		const g2 = await sse.res.result;
		assert.equal(g2.how, "stalled");
		assert.equal(events(g2.text), 3);
		assert.ok(!g2.text.endsWith("\n\n"));
		sse.res.stream.close(K.NGHTTP2_CANCEL);

		// bytes: exactly that many body bytes
		await sim.faults({ "window-stall": { times: 1, bytes: 10 } });
		const b = await chatOver(t, {}, { raw: true });
		const g3 = await b.res.result;
		assert.equal(g3.text.length, 10);
		b.res.stream.close(K.NGHTTP2_CANCEL);
	} finally { await t.close(); }
});

test("window-stall over HTTP/1.1: head and part of the body, the connection stays open", async () => {
	await sim.faults({ "window-stall": { times: 1, bytes: 5 } });
	const res = await encryptedJson(over(sim, "http/1.1"), s, "/v1/chat/completions", CHAT, CHAT_REQ, { raw: true });
	const got = await new Promise((resolve) => {
		let text = "";
		const t = setTimeout(() => { resolve({ text, how: "stalled" }); res.res.destroy(); }, 700);
		res.res.on("data", (d) => { text += d; });
		res.res.on("end", () => { clearTimeout(t); resolve({ text, how: "end" }); });
	});
	assert.deepEqual(got, { text: '{"id"', how: "stalled" });
	assert.equal((await records()).at(-1).outcome, "window stalled after 5 body bytes");
});

test("a client's RST_STREAM CANCEL mid-answer is recorded (rstBy client, outcome)", async () => {
	const t = over(sim, "h2");
	try {
		const { res } = await chatOver(t, { stream: true }, { raw: true, headers: { "X-Sim-Chunk-Interval-Ms": "200", "X-Sim-Stream-Chunks": "20" } });
		await new Promise((r) => res.stream.once("data", r));
		res.stream.close(K.NGHTTP2_CANCEL);
		const rec = await recordWhen(t, res.id, (r) => r.outcome !== null);
		assert.equal(rec.outcome, "client cancelled (RST_STREAM CANCEL)");
		assert.deepEqual([rec.rstCode, rec.rstName, rec.rstBy], [8, "CANCEL", "client"]);
		assert.ok(rec.eventsWritten < 20);
		// A session torn down is no RST_STREAM: the record says connection closed.
		const r2 = await chatOver(t, { stream: true }, { raw: true, headers: { "X-Sim-Chunk-Interval-Ms": "200", "X-Sim-Stream-Chunks": "20" } });
		await new Promise((r) => r2.res.stream.once("data", r));
		t.h2.destroy();
		const rec2 = await recordWhen(t, r2.res.id, (r) => r.outcome !== null);
		assert.equal(rec2.rstCode, null);
		assert.equal(rec2.outcome, "connection closed before the response was complete");
	} finally { t.h2.destroy(); }
});

test("per-stream backpressure over h2: a stream whose client stops reading stalls alone (eventsWritten stops), the others flow; it resumes when read", async () => {
	const t = over(sim, "h2");
	try {
		await t.h2.remoteSettings;
		const cipher = new ClientCipher(s.secret, s.id);
		const body = cipher.encryptJson(JSON.stringify({ ...CHAT, stream: true }), CHAT_REQ);
		const st = t.h2.session.request({ ":method": "POST", ":path": "/v1/chat/completions", "content-type": "application/json", ...encryptedHeaders(s, { "X-Sim-Echo-Repeat": "20000", "X-Sim-Stream-Chunks": "600" }) });
		st.end(body);
		st.pause(); // no reads: node sends no WINDOW_UPDATE for this stream
		await new Promise((r) => st.once("response", r));
		await sleep(500);
		const stuck = (await t.h2.record(sim, st.id)).eventsWritten;
		assert.ok(stuck > 0 && stuck < 600, `${stuck} events written`);
		for (let i = 0; i < 3; i++) assert.equal((await chatOver(t, { stream: true })).res.status, 200, "other streams flow");
		await sleep(300);
		assert.equal((await t.h2.record(sim, st.id)).eventsWritten, stuck, "still stalled");
		let text = "";
		st.on("data", (d) => { text += d; });
		st.resume();
		await new Promise((r) => st.once("end", r));
		assert.ok(text.endsWith("data: [DONE]\n\n"));
		const rec = await t.h2.record(sim, st.id);
		assert.equal(rec.status, 200);
		assert.ok(rec.eventsWritten > 600);
	} finally { await t.close(); }
});

test("/__sim/sessions: 60 concurrent streams on one session (peak 60); control-only connections hidden; reset zeroes live sessions and forgets closed ones", async () => {
	await resetKeep();
	await sleep(50);
	const t = over(sim, "h2");
	await t.h2.remoteSettings;
	const N = 60;
	const outs = await Promise.all(Array.from({ length: N }, () => chatOver(t, { stream: true }, { headers: { "X-Sim-Chunk-Interval-Ms": "100" } })));
	assert.ok(outs.every((o) => o.res.status === 200));
	const list = await sim.sessions();
	const mine = list.filter((x) => x.remote === `127.0.0.1:${t.h2.localPort}`);
	assert.equal(mine.length, 1, JSON.stringify(list));
	assert.equal(mine[0].streams, N);
	assert.equal(mine[0].peakConcurrentStreams, N);
	assert.equal(mine[0].openStreams, 0);
	assert.equal(list.filter((x) => x.streams > 0 && x.protocol === "h2").length, 1, "all on one session");
	assert.ok(list.every((x) => x.streams > 0 || x.controlStreams === 0), "control-only connections are not listed");
	const all = await sim.sessions("?all=1");
	assert.ok(all.length > list.length);
	await t.close();
	await sleep(50);
	const t2 = over(sim, "h2");
	assert.equal((await chatOver(t2)).res.status, 200);
	await resetKeep();
	const after = await sim.sessions();
	assert.ok(after.every((x) => x.open), "closed ones forgotten");
	const live = after.find((x) => x.remote === `127.0.0.1:${t2.h2.localPort}`);
	assert.deepEqual([live.protocol, live.streams, live.peakConcurrentStreams], ["h2", 0, 0], "the live one zeroed");
	assert.equal((await chatOver(t2)).res.status, 200);
	assert.equal((await t2.h2.sessionInfo(sim)).streams, 1);
	await t2.close();
});
