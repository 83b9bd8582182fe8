// Preloaded on Node 18 only (node --require, through NODE_OPTIONS; see
// tests/nodecompat.sh): two globals that Node 20 has and our test peers
// use, defined from what Node 18 already ships.
//  * globalThis.crypto (Web Crypto): @noble/post-quantum and its @noble
//    dependencies take their randomness from it; Node 18 defines it only
//    behind --experimental-global-webcrypto.
//  * globalThis.File: the openai SDK's file uploads (toFile) require it,
//    and its own error message says to set it to node:buffer's File on
//    Node 18, which has that class.
"use strict";
if (globalThis.crypto === undefined)
	globalThis.crypto = require("node:crypto").webcrypto;
if (globalThis.File === undefined)
	globalThis.File = require("node:buffer").File;
