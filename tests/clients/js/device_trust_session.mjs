// A new device of alice's, with matrix-js-sdk's Rust crypto on /v3/sync: it reads an encrypted
// message sent before it existed by restoring the server-side key backup (`/room_keys`), and
// it becomes trusted by emoji verification (SAS over to-device messages) with her first device,
// which then signs it with her self-signing key (`/keys/signatures/upload`). Prints what each
// client observed (session_kit.mjs; tests/clients/test_js_sdk_e2ee.py asserts on it).
//
// Usage: node device_trust_session.mjs HOMESERVER_URL PASSWORD   (alice and bob must exist)

import { knowsDevice, logIn, observed, password, readable, run, until } from "./session_kit.mjs";

const { CryptoEvent } = await import("matrix-js-sdk/lib/crypto-api/index.js");
const { VerifierEvent, VerificationPhase } = await import("matrix-js-sdk/lib/crypto-api/verification.js");

const ENCRYPTION = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };

await run(async () => {
  const first = await logIn("alice");
  const bob = await logIn("bob");
  for (const client of [first, bob]) await client.initRustCrypto({ useIndexedDB: false });
  const aliceId = first.getUserId();
  // Cross-signing keys (uploaded through User-Interactive Auth with her password) and a backup.
  await first.getCrypto().bootstrapCrossSigning({
    setupNewCrossSigning: true,
    authUploadDeviceSigningKeys: async (makeRequest) => {
      await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: "alice" }, password });
    },
  });
  await first.getCrypto().resetKeyBackup();
  const roomId = (
    await bob.createRoom({ name: "Records", preset: "private_chat", invite: [aliceId], initial_state: [ENCRYPTION] })
  ).room_id;
  await first.joinRoom(roomId);
  await first.startClient({ initialSyncLimit: 10 });
  await bob.startClient({ initialSyncLimit: 10 });
  await until("alice has the room", () => (first.getRoom(roomId)?.hasEncryptionStateEvent() ? true : undefined));
  await until("bob sees alice", () =>
    bob.getRoom(roomId)?.getMember(aliceId)?.membership === "join" ? true : undefined,
  );
  await knowsDevice("bob knows alice's device", bob, first);
  await bob.sendTextMessage(roomId, "lab results");
  observed.first_reads = await until("the first device decrypts", async () => {
    const bodies = await readable(first, roomId);
    return bodies.includes("lab results") ? bodies : undefined;
  });
  const version = await first.getCrypto().getActiveSessionBackupVersion();
  observed.backed_up = await until("the room key is in the backup", async () => {
    const keys = await first.http.authedRequest("GET", "/room_keys/keys", { version });
    return Object.keys(keys.rooms ?? {}).includes(roomId) ? true : undefined;
  });

  // The second device: nothing to read the old message with, until it restores the backup.
  const second = await logIn("alice");
  await second.initRustCrypto({ useIndexedDB: false });
  await second.startClient({ initialSyncLimit: 10 });
  await until("the second device has the room", () => (second.getRoom(roomId) ? true : undefined));
  await until("the second device has the message", async () =>
    (await readable(second, roomId)).length ? true : undefined,
  );
  observed.second_before = await readable(second, roomId);
  const backupKey = await first.getCrypto().getSessionBackupPrivateKey();
  await second.getCrypto().storeSessionBackupPrivateKey(backupKey, version);
  observed.restored = (await second.getCrypto().restoreKeyBackup()).imported;
  observed.second_after = await until("the second device decrypts from the backup", async () => {
    const bodies = await readable(second, roomId);
    return bodies.includes("lab results") ? bodies : undefined;
  });

  // Emoji verification between the two devices; then the first trusts the second.
  let incoming;
  first.on(CryptoEvent.VerificationRequestReceived, (request) => {
    incoming = request;
  });
  await until("the first device knows the second", async () => {
    const devices = await first.getCrypto().getUserDeviceInfo([aliceId], true);
    return devices.get(aliceId)?.has(second.getDeviceId()) ? true : undefined;
  });
  observed.trusted_before = (await first.getCrypto().getDeviceVerificationStatus(aliceId, second.getDeviceId()))
    ?.crossSigningVerified ?? null;
  const outgoing = await second.getCrypto().requestOwnUserVerification();
  await until("the request arrives", () => (incoming ? true : undefined));
  await incoming.accept();
  await until("both are ready", () => (outgoing.phase === VerificationPhase.Ready ? true : undefined));
  const secondVerifier = await outgoing.startVerification("m.sas.v1");
  await until("the first device's verifier", () => (incoming.verifier ? true : undefined));
  const emojis = {};
  for (const [name, verifier] of [["first", incoming.verifier], ["second", secondVerifier]]) {
    verifier.on(VerifierEvent.ShowSas, (sas) => {
      emojis[name] = (sas.sas.emoji ?? []).map((e) => e[1]).join(" ");
      sas.confirm(); // the person compares the emoji on both screens
    });
  }
  await Promise.all([incoming.verifier.verify(), secondVerifier.verify()]);
  observed.same_emoji = Boolean(emojis.first) && emojis.first === emojis.second;
  observed.trusted_after = await until("the first device trusts the second", async () =>
    (await first.getCrypto().getDeviceVerificationStatus(aliceId, second.getDeviceId()))?.crossSigningVerified
      ? true
      : undefined,
  );
  // bob's client sees the signature too: alice's second device is cross-signed by her.
  observed.bob_sees_signed = await until("bob sees the second device signed", async () => {
    const status = await bob.getCrypto().getDeviceVerificationStatus(aliceId, second.getDeviceId());
    return status?.signedByOwner ? true : undefined;
  });
  for (const client of [first, second, bob]) client.stopClient();
});
