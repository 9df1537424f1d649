// Cross-signing verification and key backup with matrix-js-sdk's Rust crypto,
// against a Tessera server. Input (argv[2], JSON): baseUrl, alice, bob, alice2
// (each {user_id, device_id, token, password}). Output (stdout, JSON): what each
// client saw; the pytest test asserts on it.
import * as sdk from "matrix-js-sdk";
import { CryptoEvent } from "matrix-js-sdk/lib/crypto-api/index.js";
import { VerificationPhase, VerifierEvent } from "matrix-js-sdk/lib/crypto-api/verification.js";

const input = JSON.parse(process.argv[2]);
const log = (...a) => process.stderr.write(a.join(" ") + "\n");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
import { logger } from "matrix-js-sdk/lib/logger.js";
logger.setLevel?.("warn");

async function until(what, check, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(100);
  }
}

async function start(who) {
  const client = sdk.createClient({
    baseUrl: input.baseUrl,
    userId: who.user_id,
    deviceId: who.device_id,
    accessToken: who.token,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  const ready = new Promise((resolve) =>
    client.on(sdk.ClientEvent.Sync, (state) => state === "PREPARED" && resolve()),
  );
  await client.startClient({ initialSyncLimit: 20 });
  await ready;
  return client;
}

function uia(who) {
  return async (makeRequest) => {
    await makeRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: who.user_id },
      password: who.password,
    });
  };
}

async function verify(bob, alice) {
  // bob asks to verify alice's device over to-device messages (SAS).
  const received = new Promise((resolve) =>
    alice.on(CryptoEvent.VerificationRequestReceived, resolve),
  );
  const request = await bob.getCrypto().requestDeviceVerification(input.alice.user_id, input.alice.device_id);
  const theirs = await received;
  await theirs.accept();
  await until("ready", () => request.phase === VerificationPhase.Ready);
  const verifier = await request.startVerification("m.sas.v1");
  await until("alice's verifier", () => theirs.verifier);
  const confirm = (v) => v.on(VerifierEvent.ShowSas, (sas) => sas.confirm());
  confirm(verifier);
  confirm(theirs.verifier);
  await Promise.all([verifier.verify(), theirs.verifier.verify()]);
}

const t0 = Date.now();
const mark = (out, name) => { (out.timings ??= {})[name] = Date.now() - t0; };

async function main() {
  const out = {};
  const alice = await start(input.alice);
  const bob = await start(input.bob);
  mark(out, "started");
  for (const [c, who] of [[alice, input.alice], [bob, input.bob]]) {
    await c.getCrypto().bootstrapCrossSigning({ authUploadDeviceSigningKeys: uia(who) });
    out[who.user_id === input.alice.user_id ? "aliceReady" : "bobReady"] = await c.getCrypto().isCrossSigningReady();
  }
  // Alice's room, encrypted, with bob; alice sends before backing up.
  const { room_id: roomId } = await alice.createRoom({
    invite: [input.bob.user_id],
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
  });
  await until("bob's invite", () => bob.getRoom(roomId));
  await bob.joinRoom(roomId);
  await until("alice sees bob joined", () => alice.getRoom(roomId)?.getMember(input.bob.user_id)?.membership === "join");
  await alice.getCrypto().resetKeyBackup();
  mark(out, "backupReset");
  await alice.sendTextMessage(roomId, "history from the old device");

  await bob.getCrypto().getUserDeviceInfo([input.alice.user_id], true);
  out.beforeVerification = (await bob.getCrypto().getDeviceVerificationStatus(input.alice.user_id, input.alice.device_id))?.crossSigningVerified ?? null;
  await verify(bob, alice);
  mark(out, "verified");
  const status = await until("cross-signing trust", async () => {
    const s = await bob.getCrypto().getDeviceVerificationStatus(input.alice.user_id, input.alice.device_id);
    return s?.crossSigningVerified ? s : null;
  });
  out.crossSigningVerified = status.crossSigningVerified;
  out.aliceIdentityVerified = (await bob.getCrypto().getUserVerificationStatus(input.alice.user_id)).isCrossSigningVerified();

  // Bob decrypts alice's message.
  const bobRoom = bob.getRoom(roomId);
  out.bobSaw = await until("bob decrypts", () => {
    const ev = bobRoom.getLiveTimeline().getEvents().find((e) => e.getType() === "m.room.message");
    return ev?.getContent()?.body;
  });

  // The backup holds alice's session; a new device of alice restores it.
  const version = await alice.getCrypto().getActiveSessionBackupVersion();
  out.backupVersion = version;
  mark(out, "decrypted");
  await until("keys backed up", async () => {
    const r = await fetch(`${input.baseUrl}/_matrix/client/v3/room_keys/version`, { headers: { Authorization: `Bearer ${input.alice.token}` } });
    const body = await r.json();
    return body.count > 0;
  });
  mark(out, "backedUp");
  const backupKey = await alice.getCrypto().getSessionBackupPrivateKey();
  const alice2 = await start(input.alice2);
  await alice2.getCrypto().storeSessionBackupPrivateKey(backupKey, version);
  const check = await alice2.getCrypto().checkKeyBackupAndEnable();
  out.backupTrusted = !!check?.trustInfo?.trusted;
  out.backupKeyMatches = !!check?.trustInfo?.matchesDecryptionKey;
  const restored = await alice2.getCrypto().restoreKeyBackup();
  out.restored = restored.imported;
  mark(out, "restored");
  const room2 = await until("alice2 has the room", () => alice2.getRoom(roomId));
  out.alice2Saw = await until("alice2 decrypts the old message", async () => {
    for (const ev of room2.getLiveTimeline().getEvents()) {
      if (ev.isEncrypted() && ev.isDecryptionFailure()) await ev.attemptDecryption(alice2.getCrypto(), { isRetry: true });
    }
    const ev = room2.getLiveTimeline().getEvents().find((e) => e.getType() === "m.room.message");
    return ev?.getContent()?.body;
  });
  mark(out, "end");
  for (const c of [alice, bob, alice2]) c.stopClient();
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().then(
  () => process.exit(0),
  (e) => {
    log("FAILED:", e?.stack || e);
    process.exit(1);
  },
);
