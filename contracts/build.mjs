#!/usr/bin/env node
// Compiles src/DstackAccessNFT.sol with solc-js (standard JSON) and writes build/DstackAccessNFT.json:
//   {"contractName", "solcVersion", "sourceSha256", "abi": [...], "bytecode": "0x..."}
// with a stable key order, 2-space indent and a final newline. The output is checked in: the Java side
// (web3j wrapper generation, test deployment) reads it and needs no compiler.
//
//   node build.mjs          compile and (re)write the artifact
//   node build.mjs --check  compile and exit 1 if the checked-in artifact differs (source changed, no rebuild)
//
// Settings: optimizer on, 200 runs, evmVersion cancun (runs on anvil 1.7.1 and on Base).
// Imports starting with "@openzeppelin/" resolve from node_modules (pinned in package-lock.json).
// Needs `npm ci` first (hack/install-chain-tools.sh does it).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const CONTRACT = "DstackAccessNFT";
const SOURCE = `src/${CONTRACT}.sol`;
const OUT = join(here, "build", `${CONTRACT}.json`);
const NODE_MODULES = join(here, "node_modules");

const args = process.argv.slice(2);
const check = args.includes("--check");
for (const a of args) {
  if (a !== "--check") {
    console.error(`usage: node build.mjs [--check]   (unknown argument: ${a})`);
    process.exit(2);
  }
}

let solc;
try {
  solc = createRequire(import.meta.url)("solc");
} catch (e) {
  console.error(`build.mjs: cannot load solc from ${NODE_MODULES} (${e.code ?? e.message}): run hack/install-chain-tools.sh (npm ci in contracts/)`);
  process.exit(2);
}

function findImports(path) {
  if (!path.startsWith("@openzeppelin/")) {
    return { error: `import not allowed: ${path} (only @openzeppelin/ from node_modules)` };
  }
  const file = normalize(join(NODE_MODULES, path));
  if (relative(NODE_MODULES, file).startsWith(".." + sep)) {
    return { error: `import escapes node_modules: ${path}` };
  }
  try {
    return { contents: readFileSync(file, "utf8") };
  } catch (e) {
    return { error: `cannot read ${path}: ${e.message}` };
  }
}

// Recursively sorts object keys, so the ABI's layout never depends on the compiler's emission order.
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  }
  return v;
}

const source = readFileSync(join(here, SOURCE), "utf8");
const input = {
  language: "Solidity",
  sources: { [SOURCE]: { content: source } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
    outputSelection: { [SOURCE]: { [CONTRACT]: ["abi", "evm.bytecode.object"] } },
  },
};

const t0 = process.hrtime.bigint();
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const millis = Number(process.hrtime.bigint() - t0) / 1e6;

// The parameter name `tokenURI` of mintNodeAccess is the deployed contract's (it is part of the ABI that the
// Java binding is generated from) and shadows the function tokenURI(): that one warning is expected.
const expected = (d) => d.severity === "warning" && d.errorCode === "2519" &&
  source.slice(d.sourceLocation?.start, d.sourceLocation?.end) === "string memory tokenURI";
const diagnostics = (output.errors ?? []).filter((d) => !expected(d));
const errors = diagnostics.filter((d) => d.severity === "error");
for (const d of diagnostics) {
  const text = (d.formattedMessage ?? d.message).trimEnd();
  // Errors in full; warnings as "Warning: message --> file:line:col" on one line.
  console.error(d.severity === "error" ? text : text.split("\n").slice(0, 2).map((l) => l.trim()).join(" "));
}
if (errors.length > 0) {
  console.error(`build.mjs: compilation failed with ${errors.length} error(s)`);
  process.exit(1);
}
const compiled = output.contracts?.[SOURCE]?.[CONTRACT];
if (!compiled?.evm?.bytecode?.object) {
  console.error(`build.mjs: solc produced no bytecode for ${CONTRACT}`);
  process.exit(1);
}

const artifact = {
  contractName: CONTRACT,
  solcVersion: solc.version(),
  sourceSha256: createHash("sha256").update(source).digest("hex"),
  abi: canonical(compiled.abi),
  bytecode: "0x" + compiled.evm.bytecode.object,
};
const text = JSON.stringify(artifact, null, 2) + "\n";
const rel = relative(process.cwd(), OUT) || OUT;
console.log(`compiled ${SOURCE} with solc ${artifact.solcVersion} in ${millis.toFixed(0)} ms ` +
  `(${(compiled.evm.bytecode.object.length / 2)} bytes of init code)`);

if (check) {
  const current = existsSync(OUT) ? readFileSync(OUT, "utf8") : null;
  if (current === text) {
    console.log(`${rel} is up to date`);
    process.exit(0);
  }
  let why = "it is missing";
  if (current !== null) {
    let old = {};
    try { old = JSON.parse(current); } catch { /* unreadable: every field differs */ }
    const fields = Object.keys(artifact).filter((k) => JSON.stringify(old[k]) !== JSON.stringify(artifact[k]));
    why = fields.length ? `these fields differ: ${fields.join(", ")}` : "its formatting differs";
  }
  console.error(`build.mjs --check: ${rel} is stale (${why}). ` +
    `The source or the pinned compiler changed without a rebuild: run \`node contracts/build.mjs\` and commit the result.`);
  process.exit(1);
}

mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, text);
console.log(`wrote ${rel}`);
