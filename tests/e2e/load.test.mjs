// A short mixed load over every endpoint (a few hundred requests, ~10 at a
// time, secrets rotating every few seconds) while the memory of every
// non-keyd process is scanned, again and again, for the API key and every
// inference secret the deployment handed out: they are only ever in keyd.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { startSim, startDaemon, mkTemp, scanMemory, scanMemoryAsync, openStream, readAll, parseSse, sleep, waitFor } from "./lib/harness.mjs";

const KEY = `pmload-${randomBytes(12).toString("hex")}-key`;
let sim, d;
before(async () => {
	sim = await startSim(["--api-key", KEY, "--stream-chunks", "3", "--max-records", "5000"]);
	const dir = mkTemp("pm-e2e-");
	fs.writeFileSync(path.join(dir, "api-key"), KEY + "\n", { mode: 0o600 });
	d = await startDaemon(sim, { dir, workers: 2, over: { api_key: `@${path.join(dir, "api-key")}`, test_secret_lifetime: "2s" } });
});
after(async () => {
	await d?.stop();
	await sim?.stop();
	const san = d?.sanitizerReport();
	if (san) assert.fail(`sanitizer report:\n${san}`);
});

const J = { "Content-Type": "application/json", Authorization: "Bearer dummy_key" };
const B = "loadboundary7f3a";
const form = (text) => `--${B}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-large-v3\r\n--${B}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n${text}\r\n--${B}--\r\n`;

// One request of kind k (i = a unique number); resolves when checked.
async function one(k, i) {
	const msg = `load ${i}`;
	const post = (p, body, headers = J) => d.req("POST", p, { headers, body: typeof body === "string" ? body : JSON.stringify(body), timeoutMs: 20000 });
	switch (k) {
	case 0: {
		const r = await post("/v1/chat/completions", { model: "m", messages: [{ role: "user", content: msg }] });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json().choices[0].message.content, `Echo: ${msg}`);
		return;
	}
	case 1: {
		const s = await openStream(d.url("/v1/chat/completions"), { headers: J, body: JSON.stringify({ model: "m", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: msg }] }) });
		const a = await readAll(s.res);
		assert.equal(s.status, 200);
		assert.ok(a.ended, a.error?.message);
		const ev = parseSse(a.text).map((e) => e.data);
		assert.equal(ev.at(-1), "[DONE]");
		assert.equal(ev.slice(0, -1).map((x) => JSON.parse(x).choices[0]?.delta?.content ?? "").join(""), `Echo: ${msg}`);
		return;
	}
	case 2: {
		const r = await post("/v1/completions", { model: "m", prompt: msg, max_tokens: 4 });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json().choices[0].text, `Echo: ${msg}`);
		return;
	}
	case 3: {
		const r = await post("/v1/embeddings", { model: "e", input: [msg, "x"] });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json().data.length, 2);
		return;
	}
	case 4: {
		const r = await post("/v1/messages", { model: "c", max_tokens: 8, messages: [{ role: "user", content: msg }] }, { ...J, "anthropic-version": "2023-06-01" });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json().content[0].text, `Echo: ${msg}`);
		return;
	}
	case 5: {
		const s = await openStream(d.url("/v1/messages"), { headers: J, body: JSON.stringify({ model: "c", max_tokens: 8, stream: true, messages: [{ role: "user", content: msg }] }) });
		const a = await readAll(s.res);
		assert.equal(s.status, 200);
		const evs = parseSse(a.text);
		assert.equal(evs.at(-1).event, "message_stop", a.text.slice(-300));
		assert.equal(evs.filter((e) => e.event === "content_block_delta").map((e) => JSON.parse(e.data).delta.text).join(""), `Echo: ${msg}`);
		return;
	}
	case 6: {
		const r = await post("/v1/audio/transcriptions", form(msg), { "Content-Type": `multipart/form-data; boundary=${B}` });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json().text, `Echo: ${msg}`);
		return;
	}
	case 7: {
		const r = await post("/unstructured/general/v0/general", { text: msg });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json()[0].text, msg);
		return;
	}
	case 8: {
		const r = await d.get("/v1/models", { headers: { Authorization: "Bearer dummy_key" } });
		assert.equal(r.status, 200, r.text);
		return;
	}
	default: {
		const r = await d.get(i % 2 ? "/healthz" : "/readyz");
		assert.equal(r.status, 200, r.text);
	}
	}
}

test("mixed load over every endpoint (400 requests, 10 concurrent, secrets rotating) with repeated memory scans: key and secrets in keyd only", async () => {
	const workers = d.children("worker"), keyds = d.children("keyd");
	assert.equal(workers.length, 2);
	const N = 400, C = 10;
	let next = 0, done = 0, stop = false, scans = 0;
	const failures = [];
	const seen = new Map(); // secret hex -> id
	const scanLoop = (async () => {
		while (!stop) {
			for (const s of await sim.secrets()) seen.set(s.secret, s.id);
			const needles = [Buffer.from(KEY), ...[...seen.keys()].map((h) => Buffer.from(h, "hex"))];
			const names = ["the API key", ...[...seen.values()].map((id) => `inference secret ${id}`)];
			for (const pid of [d.pid, ...workers]) {
				const { counts } = await scanMemoryAsync(pid, needles);
				counts.forEach((c, i) => { if (c) failures.push(`${names[i]} found ${c}x in ${pid === d.pid ? "the parent" : "worker"} ${pid} (scan ${scans})`); });
			}
			scans++;
			await sleep(150);
		}
	})();
	const t0 = Date.now();
	const errors = [];
	await Promise.all(Array.from({ length: C }, async () => {
		while (next < N) {
			const i = next++;
			try { await one(i % 10, i); } catch (e) { errors.push(`request ${i} (kind ${i % 10}): ${e.message}`); }
			done++;
		}
	}));
	// The load can finish within one secret lifetime on a fast machine,
	// or before three scans of large (ASan) processes: keep it going
	// until the secrets have rotated and the scans have run while it
	// does (the clock bounds only a hang).
	let sent = N;
	for (let i = N; ; i++) {
		for (const s of await sim.secrets()) seen.set(s.secret, s.id);
		if ((seen.size > 2 && scans >= 3) || Date.now() - t0 > 600000)
			break;
		try { await one(i % 10, i); } catch (e) { errors.push(`request ${i} (kind ${i % 10}): ${e.message}`); }
		sent = i + 1;
	}
	stop = true;
	await scanLoop;
	const ms = Date.now() - t0;
	assert.deepEqual(errors, [], `${errors.length} of ${N} requests failed`);
	assert.deepEqual(failures, [], "secrets outside keyd");
	assert.ok(scans >= 3, `scanned ${scans} times during ${ms} ms`);
	assert.ok(done >= N);
	// Every keyd holds the key, and the newest secret a keyd installed is in
	// some keyd.  The simulator records an exchange when it arrives, before
	// keyd has the answer, so "newest" is the newest that keyd's log says
	// it installed ("inference secret <8 characters>... established"), not
	// the newest exchange.  With a 2 s lifetime one keyd may refresh twice in
	// a row and rightly wipe its previous secret between the log and the
	// scan: then the next newest is looked for (until a hang's bound).
	for (const pid of keyds)
		assert.ok(scanMemory(pid, [Buffer.from(KEY)]).counts[0] > 0, `API key in keyd ${pid}`);
	let newest;
	await waitFor("the newest installed secret in a keyd's memory", async () => {
		const ids = [...d.log().matchAll(/inference secret (\S{8})\.\.\. established/g)].map((m) => m[1]);
		newest = (await sim.secrets()).find((x) => x.id.startsWith(ids.at(-1)));
		return newest != null && keyds.some((pid) => scanMemory(pid, [Buffer.from(newest.secret, "hex")]).counts[0] > 0);
	}, { timeoutMs: 30000, intervalMs: 100 }).catch((e) => assert.fail(`newest secret ${newest?.id} in no keyd: ${e.message}`));
	assert.ok(seen.size > 2, `secrets rotated during the load (${seen.size} seen)`);
	// No process was lost and nothing was logged as an error.
	assert.deepEqual(d.children("worker").sort(), [...workers].sort(), "workers survived");
	assert.deepEqual(d.children("keyd").sort(), [...keyds].sort(), "keyds survived");
	assert.doesNotMatch(d.log(), /killed by signal|exited with status|seccomp violation/);
	const encrypted = (await sim.requests("inference")).filter((r) => r.path !== "/v1/models").length;
	// Kinds 0-7 are encrypted; 8 (/v1/models) and 9 (health) are not.
	const expected = Array.from({ length: sent }, (_, i) => i % 10 < 8).filter(Boolean).length;
	assert.equal(encrypted, expected, "every encrypted request reached the deployment exactly once");
});
