// What the matrix-js-sdk scenarios share (sliding_sync_session.mjs, encrypted_session.mjs):
// the SDK loaded on Node 20, log-in, bounded waits, and the one JSON result the pytest side
// reads (tests/clients/test_sliding_sync_js_sdk.py). Nothing here asserts: a step whose
// condition does not come true in time records a timeout, so a failure names the step.

// matrix-js-sdk 43 uses Promise.withResolvers (Node 22); Node 20 lacks it.
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    return { promise, resolve, reject };
  };
}

export const sdk = await import("matrix-js-sdk");
export const { SlidingSync } = await import("matrix-js-sdk/lib/sliding-sync.js");

export const RESULT_MARKER = "==== js-sdk session result ====";
// Generous: the heaviest part of the full suite can slow a step (emoji verification) past 20 s.
const WAIT_MS = 45000;
const SESSION_BOUND_MS = 180000;

// argv: HOMESERVER_URL PASSWORD (every account of the scenario has that password)
export const [homeserver, password] = process.argv.slice(2);
export const observed = { steps: [], errors: [] };
const deadline = setTimeout(() => finish("the session ran over its bound"), SESSION_BOUND_MS);

export function finish(error) {
  if (error) observed.errors.push(error);
  clearTimeout(deadline);
  // The SDK logs to stdout too: the result is the line after the marker.
  process.stdout.write(`\n${RESULT_MARKER}\n${JSON.stringify(observed)}\n`);
  process.exit(0);
}

// Wait (bounded) until check() (sync or async) gives a value other than undefined; the step
// is recorded as reached, or as timed out (then undefined).
export async function until(what, check) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      observed.steps.push(what);
      return value;
    }
    if (Date.now() - started > WAIT_MS) {
      observed.errors.push(`timed out: ${what}`);
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

// A client logged in with a password (a new device each time), not started.
export async function logIn(user) {
  const bare = sdk.createClient({ baseUrl: homeserver });
  const login = await bare.loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user },
    password,
  });
  return sdk.createClient({
    baseUrl: homeserver,
    accessToken: login.access_token,
    userId: login.user_id,
    deviceId: login.device_id,
  });
}

// Runs the scenario; whatever it throws ends the session with the error recorded.
export async function run(scenario) {
  try {
    await scenario();
    finish();
  } catch (err) {
    finish(`${err && err.stack ? err.stack : err}`);
  }
}

// The bodies of a client's encrypted events in a room, as it can read them now.
export async function readable(client, roomId) {
  const room = client.getRoom(roomId);
  if (!room) return [];
  const encrypted = room
    .getLiveTimeline()
    .getEvents()
    .filter((e) => e.getWireType() === "m.room.encrypted");
  for (const event of encrypted) await client.decryptEventIfNeeded(event);
  return encrypted.map((e) => (e.isDecryptionFailure() ? "<unable to decrypt>" : e.getContent().body));
}

// Wait until `client`'s crypto knows `other`'s device. A room key is shared with the devices the
// sender knows when it encrypts; one that logged in a moment ago reaches it by a device-list
// change in the sender's next sync, so a message sent before that stays unreadable on that
// device (by design, in every client). A step that sends right after another client's first
// sync waits here first; a server that never reports the change times the step out.
export async function knowsDevice(what, client, other) {
  const userId = other.getUserId();
  return until(what, async () => {
    const devices = await client.getCrypto().getUserDeviceInfo([userId], true);
    return devices.get(userId)?.has(other.getDeviceId()) ? true : undefined;
  });
}
