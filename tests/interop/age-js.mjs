// A small command-line driver for the npm `age-encryption` package (typage), so that the Python
// interoperability tests can run it as a separate implementation:
//   node age-js.mjs keygen pq|x25519            -> prints the identity, then its recipient
//   node age-js.mjs encrypt [--armor] (--recipient R | --passphrase P [--work-factor N])...
//   node age-js.mjs decrypt (--identity I | --passphrase P)... [--armor]
//   node age-js.mjs batch   (stdin: JSON list of {op: "encrypt"|"decrypt", args: [...], data:
//                            base64}; stdout: JSON list of base64 results; one node start-up
//                            for many files keeps the tests fast)
// Data goes stdin -> stdout. Any failure prints one line on stderr and exits 1.
import {
  Decrypter, Encrypter, armor, generateHybridIdentity, generateX25519Identity, identityToRecipient,
} from "age-encryption";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

function options(args) {
  const out = { recipient: [], identity: [], passphrase: [], armor: false, workFactor: null };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--armor") out.armor = true;
    else if (a === "--recipient") out.recipient.push(args[++i]);
    else if (a === "--identity") out.identity.push(args[++i]);
    else if (a === "--passphrase") out.passphrase.push(args[++i]);
    else if (a === "--work-factor") out.workFactor = Number(args[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  return out;
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  if (command === "keygen") {
    const identity = rest[0] === "x25519" ? await generateX25519Identity() : await generateHybridIdentity();
    process.stdout.write(`${identity}\n${await identityToRecipient(identity)}\n`);
    return;
  }
  const input = await readStdin();
  if (command === "batch") {
    const results = [];
    for (const job of JSON.parse(new TextDecoder().decode(input))) {
      const out = await run(job.op, options(job.args), new Uint8Array(Buffer.from(job.data, "base64")));
      results.push(Buffer.from(out).toString("base64"));
    }
    process.stdout.write(JSON.stringify(results));
    return;
  }
  process.stdout.write(await run(command, options(rest), input));
}

async function run(command, opts, input) {
  if (command === "encrypt") {
    const e = new Encrypter();
    for (const p of opts.passphrase) e.setPassphrase(p);
    if (opts.workFactor !== null) e.setScryptWorkFactor(opts.workFactor);
    for (const r of opts.recipient) e.addRecipient(r);
    const sealed = await e.encrypt(input);
    return opts.armor ? new TextEncoder().encode(armor.encode(sealed)) : sealed;
  }
  if (command === "decrypt") {
    const d = new Decrypter();
    for (const p of opts.passphrase) d.addPassphrase(p);
    for (const i of opts.identity) d.addIdentity(i);
    const data = opts.armor ? armor.decode(new TextDecoder().decode(input)) : input;
    return await d.decrypt(data);
  }
  throw new Error(`unknown command ${command}`);
}

main().catch((err) => {
  process.stderr.write(`age-js: ${err.message}\n`);
  process.exit(1);
});
