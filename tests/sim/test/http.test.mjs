// Plain-HTTP mode (--http) and the CLI's fault flags.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startSim, attestAndExchange, encryptedJson, SALT, STATE_DIR } from "./harness.mjs";

const CHAT_REQ = new Set(["model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"]);
const SIM = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "sim.mjs");
let sim;
after(async () => { await sim?.stop(); });

test("--http --any-key --report-version 5: plain HTTP, any bearer, reset is a TCP RST", async () => {
	sim = await startSim(["--http", "--any-key", "--report-version", "5", "--fault", "reset:times=1,paths=/v1/chat/"]);
	assert.match(sim.info.base_url, /^http:\/\/127\.0\.0\.1:\d+$/);
	assert.equal(sim.info.api_key, null);
	const s = await attestAndExchange(sim, { apiKey: "anything" });
	assert.equal(s.state.report.version, 5);
	const body = { model: "m", messages: [{ role: "user", content: "plain" }], cache_salt: SALT };
	await assert.rejects(encryptedJson(sim, s, "/v1/chat/completions", body, CHAT_REQ), (e) => e.code === "ECONNRESET");
	const { res, cipher } = await encryptedJson(sim, s, "/v1/chat/completions", body, CHAT_REQ);
	assert.equal(JSON.parse(cipher.decryptJson(String(res.body), new Set(["id", "usage"]))).choices[0].message.content, "Echo: plain");
});

test("CLI: bad flags and unknown faults exit 2; --setup-only prints the JSON line", () => {
	const run = (...a) => spawnSync(process.execPath, [SIM, "--state-dir", STATE_DIR, "--quiet", ...a], { encoding: "utf8" });
	assert.equal(run("--fault", "bogus").status, 2);
	assert.equal(run("--host", "0.0.0.0").status, 2);
	assert.equal(run("--port", "x").status, 2);
	assert.equal(run("--report-version", "6").status, 2);
	assert.equal(run("--h2-max-streams", "0").status, 2);
	assert.equal(run("--fault", "rst-stream:code=NOPE").status, 2);
	assert.equal(run("--fault", "goaway:after=-1").status, 2);
	const r = run("--setup-only");
	assert.equal(r.status, 0);
	const j = JSON.parse(r.stdout);
	assert.equal(j.ready, false);
	assert.ok(j.manifest_path.endsWith("manifest.json"));
});
