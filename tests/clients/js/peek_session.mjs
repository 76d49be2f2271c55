// Room previews as matrix-js-sdk does them (`peekInRoom`: GET /rooms/{id}/initialSync, then a
// poll of GET /events?room_id=; what Element Web shows for a world-readable room opened from a
// link): alice has a world-readable room with three messages; bob, not in it, peeks with room
// for two, pages back for the first, and sees alice's next messages arrive live. A room whose
// history is not world-readable is refused. Prints what bob's client observed (session_kit.mjs;
// test_js_sdk_room_preview.py asserts).
//
// Usage: node peek_session.mjs HOMESERVER_URL PASSWORD   (alice and bob must exist)

import { logIn, observed, run, until } from "./session_kit.mjs";

function bodies(room) {
  return room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.getType() === "m.room.message")
    .map((e) => e.getContent().body);
}

await run(async () => {
  const alice = await logIn("alice");
  const bob = await logIn("bob");
  const { room_id: lobby } = await alice.createRoom({
    preset: "public_chat",
    name: "Lobby",
    initial_state: [
      { type: "m.room.history_visibility", state_key: "", content: { history_visibility: "world_readable" } },
    ],
  });
  for (const body of ["one", "two", "three"]) {
    await alice.sendEvent(lobby, "m.room.message", { msgtype: "m.text", body });
  }
  const room = await bob.peekInRoom(lobby, 2);
  observed.name = room.name;
  observed.creator_membership = room.getMember(alice.getUserId())?.membership ?? null;
  observed.first = bodies(room);
  await bob.scrollback(room, 10);
  observed.after_scrollback = bodies(room);
  // The poll starts "now" once its first request is in: send until one arrives (bounded).
  let sent = 0;
  observed.live = await until("a live message reaches the peek", async () => {
    const live = bodies(room).filter((b) => b.startsWith("live"));
    if (live.length > 0) return live[0];
    if (sent < 20) {
      sent += 1;
      await alice.sendEvent(lobby, "m.room.message", { msgtype: "m.text", body: `live ${sent}` });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    return undefined;
  });
  bob.stopPeeking();
  const { room_id: ward } = await alice.createRoom({ preset: "private_chat", name: "Ward" });
  try {
    await bob.peekInRoom(ward);
    observed.private = "previewed";
  } catch (err) {
    observed.private = `${err.httpStatus} ${err.errcode}`;
  }
  bob.stopPeeking();
});
