// Prints "<block number> <epoch ms>" when the chain's head first changes, polling eth_blockNumber every 5 ms:
// the moment each block was mined, as an RPC client can first see it. Runs until killed.
//   node block-clock.mjs http://172.18.0.1:8545 > blocks.txt
const url = process.argv[2];
let last = -1;
for (;;) {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
    });
    const head = Number.parseInt((await res.json()).result, 16);
    if (head > last) {
      last = head;
      process.stdout.write(`${head} ${Date.now()}\n`);
    }
  } catch (e) {
    process.stderr.write(`block-clock: ${e.message}\n`);
  }
  await new Promise((r) => setTimeout(r, 5));
}
