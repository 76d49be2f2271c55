// An encrypted room between matrix-js-sdk clients with their Rust crypto (vodozemac, WASM):
// alice on sliding sync (her room keys come in the `to_device` extension, her peers' device
// changes in the `e2ee` extension, MSC3885/MSC3884), bob on /v3/sync. Each decrypts the other;
// then bob logs in a second device: alice must learn it from `device_lists.changed` over
// sliding sync, or her next message is not encrypted for it. Prints what each client could
// read (session_kit.mjs; tests/clients/test_sliding_sync_js_sdk.py asserts on it).
//
// Usage: node encrypted_session.mjs HOMESERVER_URL PASSWORD   (alice and bob must exist)

import { SlidingSync, knowsDevice, logIn, observed, readable, run, until } from "./session_kit.mjs";

const LONG_POLL_MS = 10000;

async function reads(what, client, roomId, body) {
  return until(what, async () => {
    const bodies = await readable(client, roomId);
    return bodies.includes(body) ? bodies : undefined;
  });
}

await run(async () => {
  const alice = await logIn("alice");
  const bob = await logIn("bob");
  await alice.initRustCrypto({ useIndexedDB: false });
  await bob.initRustCrypto({ useIndexedDB: false });
  const encryption = { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } };
  const roomId = (
    await bob.createRoom({ name: "Oncology", preset: "private_chat", invite: [alice.getUserId()], initial_state: [encryption] })
  ).room_id;
  await alice.joinRoom(roomId);

  const lists = new Map([["all", { ranges: [[0, 19]], timeline_limit: 5, required_state: [["*", "*"]] }]]);
  const sliding = new SlidingSync(alice.baseUrl, lists, { timeline_limit: 20, required_state: [["*", "*"]] }, alice, LONG_POLL_MS);
  sliding.on("SlidingSync.Lifecycle", (state, response, err) => {
    if (err) observed.errors.push(`sliding sync: ${err}`);
  });
  await alice.startClient({ slidingSync: sliding });
  await bob.startClient({ initialSyncLimit: 5 });
  await until("alice has the encrypted room", () => (alice.getRoom(roomId)?.hasEncryptionStateEvent() ? true : undefined));
  await until("bob sees alice joined", () =>
    bob.getRoom(roomId)?.getMember(alice.getUserId())?.membership === "join" ? true : undefined,
  );

  await knowsDevice("bob knows alice's device", bob, alice);
  await knowsDevice("alice knows bob's device", alice, bob);
  await bob.sendTextMessage(roomId, "from bob");
  observed.alice_reads = await reads("alice decrypts bob's message", alice, roomId, "from bob");
  await alice.sendTextMessage(roomId, "from alice");
  observed.bob_reads = await reads("bob decrypts alice's message", bob, roomId, "from alice");

  // bob's second device: alice hears of it in the e2ee extension and encrypts for it too.
  const bob2 = await logIn("bob");
  await bob2.initRustCrypto({ useIndexedDB: false });
  await bob2.startClient({ initialSyncLimit: 5 });
  observed.alice_knows_bob2 = await until("alice knows bob's second device", async () => {
    const devices = await alice.getCrypto().getUserDeviceInfo([bob.getUserId()]);
    const ids = [...(devices.get(bob.getUserId())?.keys() ?? [])];
    return ids.includes(bob2.getDeviceId()) ? true : undefined;
  });
  await alice.sendTextMessage(roomId, "after the new device");
  observed.bob2_reads = await reads("bob's second device decrypts", bob2, roomId, "after the new device");
  for (const client of [alice, bob, bob2]) client.stopClient();
  sliding.stop();
});
