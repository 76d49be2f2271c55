// A matrix-js-sdk client (SlidingSync + its SlidingSyncSdk, the code Element Web runs with
// sliding sync on) through a session against a running Bastion, driven by a second js-sdk
// client that does what the first one must see. Prints what the client observed at each step
// (session_kit.mjs; tests/clients/test_sliding_sync_js_sdk.py asserts on it).
//
// Usage: node sliding_sync_session.mjs HOMESERVER_URL PASSWORD
// alice and bob must exist; alice is the sliding-sync client, bob the other party.

import { SlidingSync, logIn, observed, run, sdk, until } from "./session_kit.mjs";

const LONG_POLL_MS = 10000;

function timelineBodies(room) {
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.getType() === "m.room.message")
    .map((e) => (e.isRedacted() ? "<redacted>" : e.getContent().body));
}

await run(async () => {
  const alice = await logIn("alice");
  const bob = await logIn("bob");
  const aliceId = alice.getUserId();

  // Before alice's client starts: a named room with history, an unnamed two-person room (its
  // name comes from the heroes), and an invite she has not answered.
  const ward = (await bob.createRoom({ name: "Ward 7", preset: "private_chat", invite: [aliceId] }))
    .room_id;
  await alice.joinRoom(ward);
  for (const body of ["m1", "m2", "m3"]) {
    await bob.sendTextMessage(ward, body);
  }
  const direct = (await bob.createRoom({ preset: "trusted_private_chat", is_direct: true, invite: [aliceId] }))
    .room_id;
  await alice.joinRoom(direct);
  const pharmacy = (await bob.createRoom({ name: "Pharmacy", preset: "private_chat", invite: [aliceId] }))
    .room_id;
  observed.rooms = { ward, direct, pharmacy };

  const lists = new Map([
    [
      "room_list",
      {
        ranges: [[0, 19]],
        timeline_limit: 1,
        required_state: [
          ["m.room.name", ""],
          ["m.room.avatar", ""],
          ["m.room.create", ""],
          ["m.room.encryption", ""],
          ["m.room.topic", ""],
          ["m.room.join_rules", ""],
          ["m.room.tombstone", ""],
          ["m.room.member", "$LAZY"],
          ["m.room.member", "$ME"],
        ],
      },
    ],
  ]);
  const sliding = new SlidingSync(
    alice.baseUrl,
    lists,
    { timeline_limit: 20, required_state: [["*", "*"]] },
    alice,
    LONG_POLL_MS,
  );
  sliding.on("SlidingSync.Lifecycle", (state, response, err) => {
    if (err) observed.errors.push(`sliding sync: ${err}`);
  });
  const toDevice = [];
  const receipts = [];
  alice.on(sdk.RoomEvent.Receipt, (event, room) => {
    receipts.push({ room: room.roomId, content: event.getContent() });
  });
  alice.on(sdk.ClientEvent.ToDeviceEvent, (event) => {
    toDevice.push({ type: event.getType(), sender: event.getSender(), content: event.getContent() });
  });
  await alice.startClient({ slidingSync: sliding });

  // First screen: every room, named as a client shows it, newest message last in the timeline.
  await until("three rooms", () => (alice.getRooms().length >= 3 ? true : undefined));
  const byId = (roomId) => alice.getRoom(roomId);
  observed.first = {
    count: sliding.getListData("room_list")?.joinedCount ?? null,
    names: Object.fromEntries([ward, direct, pharmacy].map((r) => [r, byId(r)?.name ?? null])),
    memberships: Object.fromEntries(
      [ward, direct, pharmacy].map((r) => [r, byId(r)?.getMyMembership() ?? null]),
    ),
    ward_timeline: timelineBodies(byId(ward)),
  };

  // Scrolling back from the room's prev_batch (a /messages `from`): the earlier messages, once.
  await alice.paginateEventTimeline(byId(ward).getLiveTimeline(), { backwards: true, limit: 10 });
  observed.scrollback = timelineBodies(byId(ward));

  // Live: a new message arrives on the long-poll.
  await bob.sendTextMessage(ward, "m4");
  observed.live = await until("m4 arrives", () =>
    timelineBodies(byId(ward)).includes("m4") ? timelineBodies(byId(ward)) : undefined,
  );
  observed.unread_after_m4 = byId(ward).getUnreadNotificationCount("total");

  // A new name (required_state m.room.name) and a redaction.
  await bob.setRoomName(ward, "Ward 7B");
  observed.renamed = await until("the new name", () =>
    byId(ward).name === "Ward 7B" ? byId(ward).name : undefined,
  );
  const m4 = byId(ward)
    .getLiveTimeline()
    .getEvents()
    .find((e) => e.getType() === "m.room.message" && e.getContent().body === "m4");
  await bob.redactEvent(ward, m4.getId());
  observed.redacted = await until("m4 redacted", () =>
    byId(ward).findEventById(m4.getId())?.isRedacted() ? timelineBodies(byId(ward)) : undefined,
  );

  // Extensions: typing, receipts, to-device, account data (global and per room).
  await bob.sendTyping(ward, true, 20000);
  observed.typing = await until("bob typing", () =>
    byId(ward).getMember(bob.getUserId())?.typing ? true : undefined,
  );
  // alice writes (the SDK's local echo is matched with the event coming back on the
  // long-poll by its transaction ID: shown once), then bob reads it. A client synthesises a
  // receipt for each event's sender, so the receipt checked is bob's on alice's event.
  const a1 = (await alice.sendTextMessage(ward, "a1")).event_id;
  observed.own_echo = await until("a1 comes back", () => {
    const echo = byId(ward).findEventById(a1);
    return echo && echo.status === null ? timelineBodies(byId(ward)) : undefined;
  });
  await bob.sendReceipt(new sdk.MatrixEvent({ event_id: a1, room_id: ward, type: "m.room.message" }), "m.read");
  observed.receipt = await until("bob's receipt on a1", () => {
    const found = receipts.find((r) => r.room === ward && r.content[a1]?.["m.read"]?.[bob.getUserId()]);
    return found ? Object.keys(found.content[a1]["m.read"]) : undefined;
  });
  await bob.sendToDevice("org.example.ping", new Map([[aliceId, new Map([[alice.getDeviceId(), { n: 1 }]])]]));
  observed.to_device = await until("the to-device message", () =>
    toDevice.some((m) => m.type === "org.example.ping") ? toDevice : undefined,
  );
  await alice.setAccountData("org.example.prefs", { theme: "dark" });
  observed.account_data = await until("global account data", () =>
    alice.getAccountData("org.example.prefs")?.getContent()?.theme,
  );
  await alice.setRoomTag(ward, "m.favourite", { order: 0.5 });
  observed.tags = await until("the room tag", () =>
    byId(ward).tags["m.favourite"] ? Object.keys(byId(ward).tags) : undefined,
  );

  // Memberships: accept the invite, leave the two-person room.
  await alice.joinRoom(pharmacy);
  observed.joined = await until("pharmacy joined", () =>
    byId(pharmacy)?.getMyMembership() === "join" ? "join" : undefined,
  );
  await alice.leave(direct);
  observed.left = await until("direct left", () =>
    byId(direct)?.getMyMembership() === "leave" ? "leave" : undefined,
  );

  // Spaces: bob's space holds the ward. The hierarchy shows both, named; a list filtered to
  // the space's children counts the ward only.
  const space = (
    await bob.createRoom({ name: "Hospital", preset: "private_chat", invite: [aliceId], creation_content: { type: "m.space" } })
  ).room_id;
  await bob.sendStateEvent(space, "m.space.child", { via: ["localhost"] }, ward);
  await alice.joinRoom(space);
  const tree = await alice.getRoomHierarchy(space);
  observed.hierarchy = tree.rooms.map((r) => [r.room_type ?? null, r.name, r.children_state.length]);
  sliding.setList("in_space", { ranges: [[0, 9]], timeline_limit: 1, required_state: [], filters: { spaces: [space] } });
  // (the SDK reports 0 until the list's first answer)
  observed.in_space_count = await until("the space's list", () => sliding.getListData("in_space")?.joinedCount || undefined);

  // Rooms shared with bob (MSC2666, through the SDK's own call): the direct room is left.
  const shared = await alice._unstable_getSharedRooms(bob.getUserId());
  observed.shared = [ward, direct, pharmacy, space].map((r) => shared.includes(r));

  // An OpenID token from the SDK, checked as a widget's or the LiveKit token service's
  // backend checks it.
  const openid = await alice.getOpenIdToken();
  const userinfo = await fetch(
    `${alice.baseUrl}/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(openid.access_token)}`,
  );
  observed.openid = [openid.matrix_server_name, userinfo.status, (await userinfo.json()).sub];

  // bob upgrades the pharmacy room (the SDK's call, as Element's /upgraderoom): alice's
  // client sees the tombstone and the invite to its replacement, joins it, and the new room
  // names its predecessor.
  const upgraded = (await bob.upgradeRoom(pharmacy, "12")).replacement_room;
  observed.upgrade = await until("the upgrade reaches alice", () => {
    const tombstone = byId(pharmacy).currentState.getStateEvents("m.room.tombstone", "");
    const invited = byId(upgraded)?.getMyMembership() === "invite";
    return tombstone && invited ? tombstone.getContent().replacement_room === upgraded : undefined;
  });
  await alice.joinRoom(upgraded);
  observed.predecessor = await until("the new room's predecessor", () =>
    byId(upgraded)?.getMyMembership() === "join" ? (byId(upgraded).findPredecessor()?.roomId ?? null) === pharmacy : undefined,
  );

  // A room subscription (timeline 20, every state event): the room's power levels arrive.
  observed.levels_before = Boolean(byId(ward).currentState.getStateEvents("m.room.power_levels", ""));
  sliding.modifyRoomSubscriptions(new Set([ward]));
  observed.subscribed_state = await until("the ward's power levels", () => {
    const levels = byId(ward).currentState.getStateEvents("m.room.power_levels", "");
    return levels ? Object.keys(levels.getContent().events ?? {}).sort() : undefined;
  });

  // Nothing seen twice: the to-device message was acknowledged, each message is once.
  await bob.sendTextMessage(ward, "m5");
  await until("m5 arrives", () => (timelineBodies(byId(ward)).includes("m5") ? true : undefined));
  observed.final_timeline = timelineBodies(byId(ward));
  observed.to_device_count = toDevice.filter((m) => m.type === "org.example.ping").length;
  alice.stopClient();
  sliding.stop();
});
